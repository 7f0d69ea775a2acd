/* feedforward.c — Linear → activation (GELU, or ReLU) → Linear, composed from the layers. */
#include <string.h>
#include "layers/feedforward.h"
#include "layers/linear.h"
#include "layers/activation.h"
#include "core/gemm.h"

void feedforward_forward(real *out, real *pre, real *act, const real *inp,
                         const real *w1, const real *b1, const real *w2, const real *b2,
                         int N, int C, int I, HiddenAct activation) {
    linear_forward(pre, inp, w1, NULL, N, C, I);   /* b1 is added in the activation's pass */
    activation_forward_with_bias(activation, act, pre, b1, N, I);
    /* act is read by this product only (feedforward.h) */
    gemm_consume_operand(act, N, I);
    linear_forward(out, act, w2, b2, N, I, C);
    gemm_release_operand(act);
}

/* docs/feedforward.md (FF2)–(FF4): the chain rule through the three steps, each
 * step's backward being the layer's own. */
void feedforward_backward(real *dinp, real *dw1, real *db1, real *dw2, real *db2,
                          real *d_act, real *d_pre, const real *dout, const real *inp,
                          const real *pre, real *act, const real *w1, const real *w2,
                          int N, int C, int I, HiddenAct activation) {
    size_t bytes = sizeof(real) * (size_t)N * I;
    memset(d_act, 0, bytes);
    /* act is read by one product here and then never again: it may alias
     * d_pre (feedforward.h), and so may be rounded to bf16 in place */
    gemm_consume_operand(act, N, I);
    linear_backward(d_act, dw2, db2, dout, act, w2, N, I, C);
    gemm_release_operand(act);
    memset(d_pre, 0, bytes);
    activation_backward(activation, d_pre, d_act, pre, (long)N * I);
    linear_backward_consuming(dinp, dw1, db1, d_pre, inp, w1, N, C, I);
}
