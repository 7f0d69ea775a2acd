/* residual_layernorm.h — BERT's post-LN sublayer output: out = LayerNorm(residual + inp).
 * Derivation: docs/residual_layernorm.md. */
#ifndef BERT_RESIDUAL_LAYERNORM_H
#define BERT_RESIDUAL_LAYERNORM_H

#include "core/real.h"

/* sum[N,C] = residual[N,C] + inp[N,C] (saved); out[N,C] = layernorm(sum) with mean[N], rstd[N] saved. */
void residual_layernorm_forward(real *out, real *sum, real *mean, real *rstd,
                                const real *residual, const real *inp,
                                const real *weight, const real *bias, real eps, int N, int C);

/* d_sum = LayerNorm backward of dout (into the caller's scratch d_sum[N,C], overwritten);
 * then d_residual += d_sum and d_inp += d_sum; dweight[C], dbias[C] accumulate.
 * d_residual and d_inp may be the same buffer (it then receives 2·d_sum);
 * either may be NULL (not needed). */
void residual_layernorm_backward(real *d_residual, real *d_inp, real *dweight, real *dbias,
                                 real *d_sum, const real *dout, const real *sum,
                                 const real *weight, const real *mean, const real *rstd,
                                 int N, int C);

#endif
