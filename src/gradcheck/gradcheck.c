/* gradcheck.c — the finite-difference harness behind `bert gradcheck` and the
 * gradient tests. */
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
double gradcheck_tolerance(void) { return 5e-2; }
double gradcheck_floor(void) { return 1e-2; }
#endif

void gradcheck_tensor(GradCheckReport *report, const char *layer, const char *tensor,
                      GradCheckLoss loss, void *ctx, real *x, const real *analytic, long n) {
    real h = gradcheck_step();
    double max_abs = 0, max_numeric = 0, max_analytic = 0;
    for (long i = 0; i < n; i++) {
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
    }
    loss(ctx); /* leave the case's activations as they were at x */
    if (report->n >= GRADCHECK_MAX_LINES) {
        fprintf(stderr, "gradcheck: more than %d tensors in one report\n", GRADCHECK_MAX_LINES);
        abort();
    }
    GradCheckLine *line = &report->lines[report->n++];
    snprintf(line->name, sizeof line->name, "%s: %s", layer, tensor);
    line->count = n;
    line->max_abs_err = max_abs;
    double scale = max_numeric > max_analytic ? max_numeric : max_analytic;
    line->rel_err = max_abs / (scale > gradcheck_floor() ? scale : gradcheck_floor());
    line->passed = line->rel_err < gradcheck_tolerance();
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
