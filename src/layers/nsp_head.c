/* nsp_head.c — next-sentence prediction: a two-way linear classifier on the
 * pooled [CLS] state. */
#include "layers/nsp_head.h"
#include "layers/linear.h"

void nsp_head_forward(real *logits, const real *pooled, const real *weight, const real *bias,
                      int B, int C) {
    linear_forward(logits, pooled, weight, bias, B, C, NSP_CLASSES);
}

/* docs/heads.md#next-sentence-head: the linear layer's (LI2)–(LI4). */
void nsp_head_backward(real *d_pooled, real *dweight, real *dbias, const real *dlogits,
                       const real *pooled, const real *weight, int B, int C) {
    linear_backward(d_pooled, dweight, dbias, dlogits, pooled, weight, B, C, NSP_CLASSES);
}
