/* layernorm.h — layer normalisation over the last axis (C), with learned
 * scale γ (weight) and shift β (bias). BERT uses eps = 1e-12.
 * Derivation: docs/layernorm.md. */
#ifndef BERT_LAYERNORM_H
#define BERT_LAYERNORM_H

#include "core/real.h"

/* For each of the N rows x[C]:
 *   mean = Σ x / C,  rstd = 1 / sqrt(Σ (x − mean)² / C + eps)
 *   out  = (x − mean) · rstd · weight + bias
 * mean[N] and rstd[N] are saved for the backward pass. */
void layernorm_forward(real *out, real *mean, real *rstd, const real *inp,
                       const real *weight, const real *bias, real eps, int N, int C);

/* Accumulates (+=) dinp[N,C], dweight[C], dbias[C] from dout[N,C]. */
void layernorm_backward(real *dinp, real *dweight, real *dbias, const real *dout,
                        const real *inp, const real *weight, const real *mean,
                        const real *rstd, int N, int C);

#endif
