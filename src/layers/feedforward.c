/* feedforward.c — Linear → activation (GELU, or ReLU) → Linear, composed from the layers. */
#include "layers/feedforward.h"
#include "layers/linear.h"
#include "layers/activation.h"
#include "core/parallel.h"
#include "core/gemm.h"

/* The activation a block of GEMM_ROUND_BLOCK_ROWS rows at a time, each block
 * rounded to bf16 in place right after it is written, while it is in cache
 * (gemm.h gemm_round_rows_in_place; nothing with f32 products), then held
 * for the product that reads it. The element functions are the layer's own
 * and every block starts at a multiple of 16 elements (16 rows), so each
 * element takes the vector path it takes in one call over the whole
 * tensor, and gets the same value. With bias, pre += bias first
 * (activation_forward_with_bias); without, act = act(pre). */
static void activation_rounded(real *act, real *pre, const real *bias, int N, int I, HiddenAct activation) {
    int blocks = (N + GEMM_ROUND_BLOCK_ROWS - 1) / GEMM_ROUND_BLOCK_ROWS;
    #pragma omp parallel for schedule(static) if ((long)N * I >= PARALLEL_MIN_WORK)
    for (int blk = 0; blk < blocks; blk++) {
        int n0 = blk * GEMM_ROUND_BLOCK_ROWS;
        int rows = N - n0 < GEMM_ROUND_BLOCK_ROWS ? N - n0 : GEMM_ROUND_BLOCK_ROWS;
        real *a = act + (long)n0 * I, *p = pre + (long)n0 * I;
        if (bias) activation_forward_with_bias(activation, a, p, bias, rows, I);
        else activation_forward(activation, a, p, (long)rows * I);
        gemm_round_rows_in_place(a, rows, I);
    }
    gemm_hold_rounded(act, N, I);
}

void feedforward_forward(real *out, real *pre, real *act, const real *inp,
                         const real *w1, const real *b1, const real *w2, const real *b2,
                         int N, int C, int I, HiddenAct activation) {
    linear_forward(pre, inp, w1, NULL, N, C, I);   /* b1 is added in the activation's pass */
    /* act is read by the next product only (feedforward.h) */
    activation_rounded(act, pre, b1, N, I, activation);
    linear_forward(out, act, w2, b2, N, I, C);
    gemm_release_operand(act);
}

/* docs/feedforward.md (FF2)–(FF4): the chain rule through the three steps,
 * each step's backward being the layer's own; act is recomputed from pre
 * first (feedforward.h). d_act is scratch, so (FF2) and (FF3) overwrite it
 * rather than add to a cleared buffer, and (FF3) runs in place. */
void feedforward_backward(real *dinp, real *dw1, real *db1, real *dw2, real *db2,
                          real *d_act, real *act, const real *dout, const real *inp,
                          const real *pre, const real *w1, const real *w2,
                          int N, int C, int I, HiddenAct activation) {
    activation_rounded(act, (real *)pre, NULL, N, I, activation);   /* no bias: pre is only read */
    linear_backward_overwrite(d_act, dw2, db2, dout, act, w2, N, I, C);
    gemm_release_operand(act);
    real *d_pre = d_act;
    activation_backward(activation, d_pre, d_act, pre, (long)N * I, false);
    linear_backward_consuming(dinp, dw1, db1, d_pre, inp, w1, N, C, I);
}
