/* linear.h — fully connected layer, y = x Wᵀ + b, W stored [out, in] as in
 * Hugging Face's nn.Linear. Derivation: docs/linear.md. */
#ifndef BERT_LINEAR_H
#define BERT_LINEAR_H

#include "core/real.h"

/* out[N,OC] = inp[N,IC] · weight[OC,IC]ᵀ + bias[OC]     (bias may be NULL) */
void linear_forward(real *out, const real *inp, const real *weight, const real *bias,
                    int N, int IC, int OC);

/* Accumulates (+=) into each gradient that is not NULL:
 *   dinp[N,IC]     += dout[N,OC] · weight[OC,IC]
 *   dweight[OC,IC] += dout[N,OC]ᵀ · inp[N,IC]
 *   dbias[OC]      += Σ_n dout[n,:]   (summed in fixed blocks of rows, so
 *                                      the same for any thread count)
 * Not inside a parallel region. */
void linear_backward(real *dinp, real *dweight, real *dbias, const real *dout,
                     const real *inp, const real *weight, int N, int IC, int OC);

/* linear_backward, except that dinp is overwritten, dinp = dout · weight,
 * instead of added to: for a dinp that is scratch this saves clearing it
 * first and the product's reading it back. */
void linear_backward_overwrite(real *dinp, real *dweight, real *dbias, const real *dout,
                               const real *inp, const real *weight, int N, int IC, int OC);

/* The same for a dout that is not read again: with bf16 products it is
 * rounded once in its own storage (gemm.h gemm_consume_operand) after the
 * bias gradient has been summed from its f32 values, so afterwards dout is
 * garbage as reals. With f32 products it is linear_backward exactly. */
void linear_backward_consuming(real *dinp, real *dweight, real *dbias, real *dout,
                               const real *inp, const real *weight, int N, int IC, int OC);

#endif
