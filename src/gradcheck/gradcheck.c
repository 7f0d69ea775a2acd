/* gradcheck.c — the finite-difference harness behind `bert gradcheck` and the
 * gradient tests. docs/gradcheck.md explains the step, the error measure and
 * the tolerances. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "gradcheck/gradcheck.h"

#ifdef BERT_DOUBLE
real gradcheck_step(void) { return 1e-5; }
double gradcheck_tolerance(void) { return 1e-6; }
double gradcheck_floor(void) { return 1e-3; }
#else
real gradcheck_step(void) { return 1e-2f; }
double gradcheck_tolerance(void) { return 2e-2; }
double gradcheck_floor(void) { return 1e-2; }
#endif

/* Float tolerances, per layer: four times the largest rel_err the correct
 * code gave in float over seeds 1..50 (`bert gradcheck --layer NAME --seed N`),
 * rounded up to one significant digit (docs/gradcheck.md, "The tolerances").
 * The double build needs no table: every correct layer stays far below 1e-6
 * there. A layer not listed gets gradcheck_tolerance(). */
static const struct { const char *layer; double tolerance; } float_tolerances[] = {
    /* layer                  tolerance     largest rel err measured, seeds 1..50 */
    { "embeddings",             2e-4 },  /* 3.3e-5 */
    { "linear",                 2e-4 },  /* 3.9e-5 */
    { "layernorm",              8e-4 },  /* 1.9e-4 */
    { "gelu",                   2e-4 },  /* 4.2e-5; the tanh-GELU derivative gives 7.3e-4 */
    { "tanh",                   2e-4 },  /* 4.9e-5 */
    { "softmax",                3e-4 },  /* 6.4e-5 */
    { "dropout",                9e-5 },  /* 2.0e-5 */
    { "attention",              2e-3 },  /* 4.0e-4 */
    { "attention_causal",       2e-3 },  /* 4.4e-4 */
    { "residual_layernorm",     3e-4 },  /* 7.2e-5 */
    { "feedforward",            6e-4 },  /* 1.3e-4 */
    { "encoder_layer",          7e-3 },  /* 1.5e-3 */
    { "encoder_layer_parallel", 2e-2 },  /* 4.6e-3 (seeds 1..20) */
    { "pooler",                 1e-3 },  /* 2.3e-4 */
    { "mlm_head",               7e-3 },  /* 1.7e-3 */
    { "nsp_head",               1e-4 },  /* 2.4e-5 */
    { "classifier_head",        2e-4 },  /* 3.9e-5 */
    { "cross_entropy",          4e-4 },  /* 9.0e-5 */
    { "model (MLM+NSP)",        2e-2 },  /* 4.8e-3, a key bias (zero gradient, against the floor) */
    { "model (classifier)",     2e-2 },  /* 3.6e-3, likewise */
    { NULL, 0 },
};

double gradcheck_layer_tolerance(const char *layer) {
#ifndef BERT_DOUBLE
    for (size_t i = 0; float_tolerances[i].layer; i++)
        if (strcmp(float_tolerances[i].layer, layer) == 0) return float_tolerances[i].tolerance;
#else
    (void)layer;
    (void)float_tolerances;
#endif
    return gradcheck_tolerance();
}

/* Keeps the GRADCHECK_WORST elements with the largest |analytic − numeric|. */
static void note_worst(GradCheckLine *line, long index, double analytic, double numeric) {
    double err = fabs(analytic - numeric);
    int k = line->n_worst;
    if (k == GRADCHECK_WORST) {
        if (err <= fabs(line->worst[k - 1].analytic - line->worst[k - 1].numeric)) return;
        k--;
    } else {
        line->n_worst++;
    }
    while (k > 0 && err > fabs(line->worst[k - 1].analytic - line->worst[k - 1].numeric)) {
        line->worst[k] = line->worst[k - 1];
        k--;
    }
    line->worst[k] = (GradCheckElement){ index, analytic, numeric };
}

static void check_elements(GradCheckReport *report, const char *layer, const char *tensor,
                           GradCheckLoss loss, void *ctx, real *x, const real *analytic, long n,
                           long stride, double floor) {
    if (report->n >= GRADCHECK_MAX_LINES) {
        fprintf(stderr, "gradcheck: more than %d tensors in one report\n", GRADCHECK_MAX_LINES);
        abort();
    }
    GradCheckLine *line = &report->lines[report->n++];
    memset(line, 0, sizeof *line);
    snprintf(line->name, sizeof line->name, "%s: %s", layer, tensor);
    real h = gradcheck_step();
    double max_abs = 0, max_numeric = 0, max_analytic = 0;
    long checked = 0;
    for (long i = 0; i < n; i += stride) {
        real saved = x[i];
        x[i] = saved + h;
        double plus = loss(ctx);
        x[i] = saved - h;
        double minus = loss(ctx);
        x[i] = saved;
        /* divide by the step actually taken, which rounding may have changed */
        double numeric = (plus - minus) / ((double)(real)(saved + h) - (double)(real)(saved - h));
        double err = fabs((double)analytic[i] - numeric);
        if (err > max_abs) max_abs = err;
        if (fabs(numeric) > max_numeric) max_numeric = fabs(numeric);
        if (fabs((double)analytic[i]) > max_analytic) max_analytic = fabs((double)analytic[i]);
        note_worst(line, i, (double)analytic[i], numeric);
        checked++;
    }
    loss(ctx); /* leave the case's activations as they were at x */
    line->count = checked;
    line->total = n;
    line->max_abs_err = max_abs;
    double scale = max_numeric > max_analytic ? max_numeric : max_analytic;
    line->rel_err = max_abs / (scale > floor ? scale : floor);
    line->tolerance = gradcheck_layer_tolerance(layer);
    line->passed = line->rel_err < line->tolerance;
}

void gradcheck_tensor(GradCheckReport *report, const char *layer, const char *tensor,
                      GradCheckLoss loss, void *ctx, real *x, const real *analytic, long n) {
    check_elements(report, layer, tensor, loss, ctx, x, analytic, n, 1, gradcheck_floor());
}

void gradcheck_tensor_sampled(GradCheckReport *report, const char *layer, const char *tensor,
                              GradCheckLoss loss, void *ctx, real *x, const real *analytic, long n,
                              long max_checked) {
    long stride = max_checked > 0 && n > max_checked ? (n + max_checked - 1) / max_checked : 1;
    check_elements(report, layer, tensor, loss, ctx, x, analytic, n, stride, gradcheck_floor());
}

static double max_abs_of(const real *x, long n) {
    double m = 0;
    for (long i = 0; i < n; i++) m = fabs((double)x[i]) > m ? fabs((double)x[i]) : m;
    return m;
}

void gradcheck_tensor_qkv(GradCheckReport *report, const char *layer, bool bias,
                          GradCheckLoss loss, void *ctx, real *x, const real *analytic, long n,
                          long max_checked) {
    static const char *weights[3] = { "W_q", "W_k", "W_v" }, *biases[3] = { "b_q", "b_k", "b_v" };
    long block = n / 3;
    long stride = max_checked > 0 && block > max_checked ? (block + max_checked - 1) / max_checked : 1;
    /* b_k's gradient is zero in exact arithmetic (docs/attention.md), so its
     * error is measured against the size of b_q's and b_v's gradients: the
     * round-off of the loss, which grows with the case, is then no failure. */
    double key_floor = gradcheck_floor();
    if (bias) {
        double m = fmax(max_abs_of(analytic, block), max_abs_of(analytic + 2 * block, block));
        key_floor = fmax(key_floor, m);
    }
    for (int k = 0; k < 3; k++)
        check_elements(report, layer, bias ? biases[k] : weights[k], loss, ctx, x + k * block,
                       analytic + k * block, block, stride, k == 1 ? key_floor : gradcheck_floor());
}

real *gradcheck_random(long n, Rng *rng, real scale) {
    real *t = malloc(sizeof(real) * (size_t)(n > 0 ? n : 1));
    if (!t) { perror("gradcheck"); exit(1); }
    for (long i = 0; i < n; i++) t[i] = (real)(rng_normal(rng) * scale);
    return t;
}

real *gradcheck_zeros(long n) {
    real *t = calloc((size_t)(n > 0 ? n : 1), sizeof(real));
    if (!t) { perror("gradcheck"); exit(1); }
    return t;
}

double gradcheck_dot(const real *a, const real *b, long n) {
    double s = 0;
    for (long i = 0; i < n; i++) s += (double)a[i] * (double)b[i];
    return s;
}

const GradCheckCase *gradcheck_find(const char *name) {
    for (int i = 0; i < gradcheck_case_count; i++)
        if (strcmp(gradcheck_cases[i].name, name) == 0) return &gradcheck_cases[i];
    return NULL;
}

bool gradcheck_all_passed(const GradCheckReport *report) {
    for (int i = 0; i < report->n; i++)
        if (!report->lines[i].passed) return false;
    return report->n > 0;
}
