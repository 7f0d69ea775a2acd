/* pooler.h — BERT's pooler: the hidden state of the first token ([CLS])
 * through a dense layer and tanh. Derivation: docs/heads.md#pooler. */
#ifndef BERT_POOLER_H
#define BERT_POOLER_H

#include "core/real.h"

/* pooled[B,C] = tanh(hidden[b,0,:] · weight[C,C]ᵀ + bias[C]) for hidden[B,T,C].
 * The [CLS] rows are read in place (row stride T·C), not copied. */
void pooler_forward(real *pooled, const real *hidden, const real *weight, const real *bias,
                    int B, int T, int C);

/* Accumulates d_hidden[B,T,C] (only the t = 0 rows), dweight[C,C], dbias[C].
 * Scratch (overwritten): d_pre[B,C]. */
void pooler_backward(real *d_hidden, real *dweight, real *dbias, real *d_pre,
                     const real *d_pooled, const real *pooled, const real *hidden,
                     const real *weight, int B, int T, int C);

#endif
