/* gradcheck.h — compares analytic gradients with central finite differences.
 * The method, the choice of h and the tolerances: docs/gradcheck.md.
 *
 * A check perturbs each element x_i of a tensor by ±h, re-evaluates a scalar
 * loss L, and compares the analytic ∂L/∂x_i with
 *     numeric_i = (L(x_i + h) − L(x_i − h)) / 2h.
 * For each tensor it reports
 *     max_abs_err = max_i |analytic_i − numeric_i|
 *     rel_err     = max_abs_err / max(max_i |numeric_i|, max_i |analytic_i|, floor)
 * (a norm-wise relative error: element-wise ratios blow up on gradients that
 * are zero up to round-off), and the elements with the largest
 * |analytic_i − numeric_i| (index, both values, their ratio). The floor
 * (gradcheck_floor()) keeps a gradient that is exactly zero in exact
 * arithmetic from failing on round-off: the attention key bias is one, since
 * adding the same vector to every key shifts a row of scores by a constant,
 * which softmax ignores (docs/attention.md). A tensor passes when rel_err is
 * below its layer's tolerance, gradcheck_layer_tolerance(layer).
 *
 * For a single layer the loss is L = Σ out ⊙ R with a fixed random R, so the
 * layer's upstream gradient dout is exactly R. The layer cases live in
 * gradcheck_cases.c and are what `bert gradcheck` and the tests run. */
#ifndef BERT_GRADCHECK_H
#define BERT_GRADCHECK_H

#include <stdbool.h>
#include <stdint.h>
#include "core/real.h"
#include "core/rng.h"

/* Finite-difference step and floor for this build's precision: double
 * h = 1e-5, floor 1e-3; float h = 1e-2, floor 1e-2. gradcheck_tolerance() is
 * the default pass threshold: 1e-6 in double, and in float the threshold of a
 * layer that has no measured one of its own (2e-2). */
real gradcheck_step(void);
double gradcheck_tolerance(void);
double gradcheck_floor(void);

/* The pass threshold of LAYER (the layer name a case gives gradcheck_tensor):
 * in double 1e-6 for every layer; in float a few times the largest rel_err
 * the correct code showed over 50 seeds, per layer (the table in gradcheck.c,
 * measured as docs/gradcheck.md says), or gradcheck_tolerance() for a layer
 * not in the table. */
double gradcheck_layer_tolerance(const char *layer);

/* One element of a tensor's check. */
typedef struct {
    long index;            /* flat index into the tensor */
    double analytic, numeric;
} GradCheckElement;

#define GRADCHECK_WORST 3
typedef struct {
    char name[96];        /* "layer: tensor" */
    long count;           /* elements checked */
    long total;           /* elements in the tensor (more than count when sampled) */
    double max_abs_err;
    double rel_err;
    double tolerance;     /* this line's threshold */
    bool passed;
    int n_worst;
    GradCheckElement worst[GRADCHECK_WORST];  /* largest |analytic − numeric| first */
} GradCheckLine;

#define GRADCHECK_MAX_LINES 160
typedef struct {
    GradCheckLine lines[GRADCHECK_MAX_LINES];
    int n;
} GradCheckReport;

typedef real (*GradCheckLoss)(void *ctx);

/* Checks every element of x[n] against analytic[n] and appends one line. */
void gradcheck_tensor(GradCheckReport *report, const char *layer, const char *tensor,
                      GradCheckLoss loss, void *ctx, real *x, const real *analytic, long n);

/* As gradcheck_tensor, but checks at most max_checked elements spread evenly
 * over x[n] (every ⌈n / max_checked⌉-th, from 0): for tensors too large to
 * perturb one by one, such as the cases above the thread thresholds. */
void gradcheck_tensor_sampled(GradCheckReport *report, const char *layer, const char *tensor,
                              GradCheckLoss loss, void *ctx, real *x, const real *analytic, long n,
                              long max_checked);

/* The stacked attention projection w_qkv[3C,C] (or b_qkv[3C]) checked as three
 * lines, one per block of n/3 elements: "W_q", "W_k", "W_v" (or "b_q", "b_k",
 * "b_v" when bias is true), so a wrong key gradient shows as the W_k row.
 * b_k's gradient is zero in exact arithmetic, so its rel_err divides by the
 * largest |analytic| of b_q and b_v (when above the floor), not its own.
 * max_checked per block as gradcheck_tensor_sampled (0: every element). */
void gradcheck_tensor_qkv(GradCheckReport *report, const char *layer, bool bias,
                          GradCheckLoss loss, void *ctx, real *x, const real *analytic, long n,
                          long max_checked);

/* Helpers for writing cases: tensors of N(0, scale²) draws (malloc'd), zeroed
 * tensors, and Σ a ⊙ b accumulated in double. */
real *gradcheck_random(long n, Rng *rng, real scale);
real *gradcheck_zeros(long n);
double gradcheck_dot(const real *a, const real *b, long n);

/* A registered case: builds a small instance of one layer, runs its forward
 * and backward, and checks the input and every parameter gradient. */
typedef struct {
    const char *name;
    const char *description;
    void (*run)(GradCheckReport *report, uint64_t seed);
} GradCheckCase;

extern const GradCheckCase gradcheck_cases[];
extern const int gradcheck_case_count;

/* Finds a case by name, or NULL. */
const GradCheckCase *gradcheck_find(const char *name);

/* True when every line in the report passed. */
bool gradcheck_all_passed(const GradCheckReport *report);

#endif
