/* docs/labs/exercises/linear.c — an exercise: src/layers/linear.c with the
 * sums of (LI4) in bias_gradient and the body of backward_products taken
 * out. Fill them in, then check them with
 *     make lab LAB=linear STUDENT=docs/labs/exercises/linear.c
 * (better: copy this file somewhere of your own first). The answer is the
 * library's src/layers/linear.c. Below: the library's file, unchanged except
 * for those two places. */
/* linear.c — the fully connected layer; every product goes through gemm(). */
#include <assert.h>
#include <stdlib.h>
#include <stdio.h>
#include <omp.h>
#include "layers/linear.h"
#include "core/parallel.h"
#include "core/gemm.h"

/* docs/linear.md, equation (LI1). gemm_bias adds the bias after the
 * product, or with bf16 products inside it (gemm.h). */
void linear_forward(real *out, const real *inp, const real *weight, const real *bias,
                    int N, int IC, int OC) {
    if (bias) gemm_bias(false, true, N, OC, IC, inp, IC, weight, IC, bias, out, OC);
    else gemm(false, true, N, OC, IC, 1, inp, IC, weight, IC, 0, out, OC);
}

/* (LI4) dbias[o] += Σ_n dout[n,o], summed over fixed blocks of
 * BIAS_SUM_ROWS rows: each block's rows in order into its own partial sum,
 * then the blocks' sums in order. The blocks do not depend on the thread
 * count, so neither does any dbias[o]. With round_after (dout itself,
 * when it is consumed; NULL otherwise), each block of dout is rounded to
 * bf16 in place right after it is summed, while it is still in cache
 * (gemm.h gemm_round_rows_in_place), instead of in a second pass over
 * dout. The partial sums live in one buffer that grows only when a call
 * needs more than any before (like the bf16 plans, once per new largest
 * shape) and is otherwise reused. */
#define BIAS_SUM_ROWS 64
static real *block_sums;
static size_t block_sums_cap;

static void bias_gradient(real *dbias, const real *dout, real *round_after, int N, int OC) {
    assert(!omp_in_parallel());
    int blocks = (N + BIAS_SUM_ROWS - 1) / BIAS_SUM_ROWS;
    size_t need = (size_t)blocks * (size_t)OC;
    if (need > block_sums_cap) {
        free(block_sums);
        block_sums = malloc(sizeof(real) * need);
        if (!block_sums) { fprintf(stderr, "bert: out of memory for the bias gradient's sums\n"); exit(1); }
        block_sums_cap = need;
    }
    /* TODO (docs/labs/03_fill_in.md): (LI4), dbias[o] += Σ_n dout[n,o]. The
     * library sums fixed blocks of BIAS_SUM_ROWS rows into block_sums and
     * then the blocks in order (docs/linear.md), and with round_after calls
     * gemm_round_rows_in_place on each block after summing it; a plain loop
     * over n and o is a right answer too (the lab runs in double, where
     * nothing is rounded). */
    (void)dbias; (void)dout; (void)round_after;
}

/* (LI2) and (LI3), with dinp scaled by dinp_beta (1: accumulate, 0: overwrite) first. */
static void backward_products(real *dinp, real dinp_beta, real *dweight, const real *dout,
                              const real *inp, const real *weight, int N, int IC, int OC) {
    /* TODO (docs/labs/03_fill_in.md): (LI2) dinp = dinp_beta·dinp + dout · weight
     * and (LI3) dweight += doutᵀ · inp, each only when its pointer is not
     * NULL, as gemm() calls (include/core/gemm.h: row-major, transposes in
     * place, beta 1 adds to C). Until they are written every gradient
     * stays as it was, and the checks fail. */
    (void)dinp; (void)dinp_beta; (void)dweight; (void)dout; (void)inp; (void)weight; (void)N; (void)IC; (void)OC;
}

/* docs/linear.md, equations (LI2)–(LI4). */
void linear_backward(real *dinp, real *dweight, real *dbias, const real *dout,
                     const real *inp, const real *weight, int N, int IC, int OC) {
    backward_products(dinp, 1, dweight, dout, inp, weight, N, IC, OC);
    if (dbias) bias_gradient(dbias, dout, NULL, N, OC);
}

void linear_backward_overwrite(real *dinp, real *dweight, real *dbias, const real *dout,
                               const real *inp, const real *weight, int N, int IC, int OC) {
    backward_products(dinp, 0, dweight, dout, inp, weight, N, IC, OC);
    if (dbias) bias_gradient(dbias, dout, NULL, N, OC);
}

/* (LI4) reads dout as reals, so it goes first, rounding dout block by
 * block as it goes; then one rounding serves both products (LI2), (LI3). */
void linear_backward_consuming(real *dinp, real *dweight, real *dbias, real *dout,
                               const real *inp, const real *weight, int N, int IC, int OC) {
    if (dbias) {
        bias_gradient(dbias, dout, dout, N, OC);
        gemm_hold_rounded(dout, N, OC);
    } else {
        gemm_consume_operand(dout, N, OC);
    }
    backward_products(dinp, 1, dweight, dout, inp, weight, N, IC, OC);
    gemm_release_operand(dout);
}
