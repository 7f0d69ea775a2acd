/* gradcheck.h — compares analytic gradients with central finite differences.
 *
 * A check perturbs each element x_i of a tensor by ±h, re-evaluates a scalar
 * loss L, and compares the analytic ∂L/∂x_i with
 *     numeric_i = (L(x_i + h) − L(x_i − h)) / 2h.
 * For each tensor it reports
 *     max_abs_err = max_i |analytic_i − numeric_i|
 *     rel_err     = max_abs_err / max(max_i |numeric_i|, max_i |analytic_i|, floor)
 * (a norm-wise relative error: element-wise ratios blow up on gradients that
 * are zero up to round-off). The floor (gradcheck_floor()) keeps a gradient
 * that is exactly zero in exact arithmetic from failing on round-off: the
 * attention key bias is one, since adding the same vector to every key shifts
 * a row of scores by a constant, which softmax ignores (docs/attention.md).
 * A tensor passes when rel_err < gradcheck_tolerance().
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

/* Finite-difference step, pass threshold and floor for this build's precision:
 * double h = 1e-5, tolerance 1e-6, floor 1e-3;
 * float  h = 1e-2, tolerance 5e-2, floor 1e-2 (float's 24-bit mantissa and
 * the O(h²) truncation error of a 2-layer model allow no tighter bound). */
real gradcheck_step(void);
double gradcheck_tolerance(void);
double gradcheck_floor(void);

typedef struct {
    char name[96];        /* "layer: tensor" */
    long count;           /* elements checked */
    double max_abs_err;
    double rel_err;
    bool passed;
} GradCheckLine;

#define GRADCHECK_MAX_LINES 128
typedef struct {
    GradCheckLine lines[GRADCHECK_MAX_LINES];
    int n;
} GradCheckReport;

typedef real (*GradCheckLoss)(void *ctx);

/* Checks every element of x[n] against analytic[n] and appends one line. */
void gradcheck_tensor(GradCheckReport *report, const char *layer, const char *tensor,
                      GradCheckLoss loss, void *ctx, real *x, const real *analytic, long n);

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
