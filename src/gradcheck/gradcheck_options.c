/* gradcheck_options.c — gradient-check cases for the options a teacher can
 * switch on (docs/README.md "Options"), registered in gradcheck_cases.c:
 * the ReLU layer and a ReLU feed-forward, mean and max pooling over a
 * sequence. The whole tiny BERT with each option on is in gradcheck_model.c.
 * As everywhere, a layer's loss is L = Σ out ⊙ R (dout = R). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "gradcheck/gradcheck_cases.h"
#include "layers/relu.h"
#include "layers/feedforward.h"
#include "layers/sequence_pooling.h"
#include "model/model.h"
#include "layers/cross_entropy.h"

/* ReLU has a kink at 0, where central differences straddling it measure the
 * average of the two one-sided slopes: inputs are moved at least 0.1 (ten
 * float steps, 10⁴ double steps) away from it. */
static void away_from_kink(real *x, long n) {
    for (long i = 0; i < n; i++)
        if (fabs((double)x[i]) < 0.1) x[i] += x[i] < 0 ? (real)-0.1 : (real)0.1;
}

/* ---- relu ------------------------------------------------------------------- */

typedef struct {
    long n;
    real *inp, *out, *dout;
} ReluCase;

static real relu_case_loss(void *p) {
    ReluCase *c = p;
    relu_forward(c->out, c->inp, c->n);
    return (real)gradcheck_dot(c->out, c->dout, c->n);
}

void gradcheck_relu(GradCheckReport *r, uint64_t seed) {
    Rng rng = rng_seeded(seed);
    ReluCase c = { .n = 40 };
    c.inp = gradcheck_random(c.n, &rng, 1);
    away_from_kink(c.inp, c.n);
    c.dout = gradcheck_random(c.n, &rng, 1);
    c.out = gradcheck_zeros(c.n);
    real *dinp = gradcheck_zeros(c.n);
    relu_case_loss(&c);
    relu_backward(dinp, c.dout, c.inp, c.n, true);
    gradcheck_tensor(r, "relu", "input", relu_case_loss, &c, c.inp, dinp, c.n);
    free(c.inp); free(c.dout); free(c.out); free(dinp);
}

/* ---- feed-forward with ReLU ---------------------------------------------------- */

typedef struct {
    int N, C, I;
    real *inp, *w1, *b1, *w2, *b2, *out, *pre, *act, *dout;
} FeedForwardReluCase;

static real feedforward_relu_loss(void *p) {
    FeedForwardReluCase *c = p;
    feedforward_forward(c->out, c->pre, c->act, c->inp, c->w1, c->b1, c->w2, c->b2, c->N, c->C, c->I,
                        HIDDEN_ACT_RELU);
    return (real)gradcheck_dot(c->out, c->dout, (long)c->N * c->C);
}

void gradcheck_feedforward_relu(GradCheckReport *r, uint64_t seed) {
    Rng rng = rng_seeded(seed);
    FeedForwardReluCase c = { .N = 4, .C = 6, .I = 10 };
    long NC = (long)c.N * c.C, NI = (long)c.N * c.I, IC = (long)c.I * c.C;
    c.inp = gradcheck_random(NC, &rng, 0.7);
    c.w1 = gradcheck_random(IC, &rng, 0.7);
    c.b1 = gradcheck_random(c.I, &rng, 0.7);
    c.w2 = gradcheck_random(IC, &rng, 0.7);
    c.b2 = gradcheck_random(c.C, &rng, 0.7);
    c.dout = gradcheck_random(NC, &rng, 1);
    c.out = gradcheck_zeros(NC); c.pre = gradcheck_zeros(NI); c.act = gradcheck_zeros(NI);
    /* keep every pre-activation away from the kink: shift b1 so that no
     * |pre| is below 0.3 (a step of h in any input moves pre by far less) */
    feedforward_relu_loss(&c);
    for (int i = 0; i < c.I; i++) {
        double closest = INFINITY;
        for (int n = 0; n < c.N; n++) {
            double v = c.pre[(long)n * c.I + i];
            if (fabs(v) < fabs(closest)) closest = v;
        }
        if (fabs(closest) < 0.3) c.b1[i] += (real)(closest < 0 ? -0.3 : 0.3);
    }
    real *dinp = gradcheck_zeros(NC), *dw1 = gradcheck_zeros(IC), *db1 = gradcheck_zeros(c.I);
    real *dw2 = gradcheck_zeros(IC), *db2 = gradcheck_zeros(c.C);
    real *d_act = gradcheck_zeros(NI), *act_scratch = gradcheck_zeros(NI);
    feedforward_relu_loss(&c);
    feedforward_backward(dinp, dw1, db1, dw2, db2, d_act, act_scratch, c.dout, c.inp, c.pre, c.w1, c.w2,
                         c.N, c.C, c.I, HIDDEN_ACT_RELU);
    const char *layer = "feedforward_relu";
    gradcheck_tensor(r, layer, "input", feedforward_relu_loss, &c, c.inp, dinp, NC);
    gradcheck_tensor(r, layer, "w1", feedforward_relu_loss, &c, c.w1, dw1, IC);
    gradcheck_tensor(r, layer, "b1", feedforward_relu_loss, &c, c.b1, db1, c.I);
    gradcheck_tensor(r, layer, "w2", feedforward_relu_loss, &c, c.w2, dw2, IC);
    gradcheck_tensor(r, layer, "b2", feedforward_relu_loss, &c, c.b2, db2, c.C);
    free(c.inp); free(c.w1); free(c.b1); free(c.w2); free(c.b2); free(c.dout); free(c.out); free(c.pre);
    free(c.act); free(dinp); free(dw1); free(db1); free(dw2); free(db2); free(d_act); free(act_scratch);
}

/* ---- sequence pooling ------------------------------------------------------------ */

enum { POOL_B = 3, POOL_T = 5, POOL_C = 4 };
/* the second sequence has two padding positions, the third one */
static const int pool_mask[POOL_B * POOL_T] = { 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 1, 1, 1, 1, 0 };

typedef struct {
    bool max;
    real *inp, *out, *dout;
    int *argmax;
} PoolCase;

static real pool_case_loss(void *p) {
    PoolCase *c = p;
    if (c->max) sequence_pooling_max_forward(c->out, c->argmax, c->inp, pool_mask, POOL_B, POOL_T, POOL_C);
    else sequence_pooling_mean_forward(c->out, c->inp, pool_mask, POOL_B, POOL_T, POOL_C);
    return (real)gradcheck_dot(c->out, c->dout, (long)POOL_B * POOL_C);
}

static void run_pool_case(GradCheckReport *r, uint64_t seed, bool max) {
    Rng rng = rng_seeded(seed);
    long n = (long)POOL_B * POOL_T * POOL_C;
    PoolCase c = { .max = max };
    /* Max: values on a grid 0.1 apart plus a small jitter, so no two
     * candidates are within 2h of each other (no tie, no swap of the argmax
     * under a step of ±h). */
    c.inp = gradcheck_random(n, &rng, 1);
    if (max)
        for (long i = 0; i < n; i++) c.inp[i] = (real)(0.1 * (double)((i * 7) % n) - 2 + 0.001 * (double)c.inp[i]);
    c.dout = gradcheck_random((long)POOL_B * POOL_C, &rng, 1);
    c.out = gradcheck_zeros((long)POOL_B * POOL_C);
    c.argmax = calloc((size_t)POOL_B * POOL_C, sizeof(int));
    real *dinp = gradcheck_zeros(n);
    pool_case_loss(&c);
    if (max) sequence_pooling_max_backward(dinp, c.dout, c.argmax, POOL_B, POOL_T, POOL_C);
    else sequence_pooling_mean_backward(dinp, c.dout, pool_mask, POOL_B, POOL_T, POOL_C);
    gradcheck_tensor(r, max ? "sequence_pooling_max" : "sequence_pooling_mean", "input", pool_case_loss, &c,
                     c.inp, dinp, n);
    free(c.inp); free(c.dout); free(c.out); free(c.argmax); free(dinp);
}

void gradcheck_sequence_pooling_mean(GradCheckReport *r, uint64_t seed) { run_pool_case(r, seed, false); }
void gradcheck_sequence_pooling_max(GradCheckReport *r, uint64_t seed) { run_pool_case(r, seed, true); }
