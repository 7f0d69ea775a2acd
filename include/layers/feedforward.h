/* feedforward.h — BERT's position-wise feed-forward block (BertIntermediate +
 * BertOutput.dense): Linear(C→I) → GELU (or ReLU: hidden_act) → Linear(I→C). The dropout, residual
 * and LayerNorm after it are separate layers. Derivation: docs/feedforward.md. */
#ifndef BERT_FEEDFORWARD_H
#define BERT_FEEDFORWARD_H

#include "core/real.h"
#include "layers/activation.h"

/* pre[N,I] = inp[N,C] · w1[I,C]ᵀ + b1;  act[N,I] = gelu(pre) (relu(pre) with HIDDEN_ACT_RELU);
 * out[N,C] = act · w2[C,I]ᵀ + b2.  pre is saved for backward; act is
 * scratch (with bf16 products it is rounded to bf16 in its own storage for
 * the second product, gemm.h gemm_round_rows_in_place, and is garbage as
 * reals afterwards). */
void feedforward_forward(real *out, real *pre, real *act, const real *inp,
                         const real *w1, const real *b1, const real *w2, const real *b2,
                         int N, int C, int I, HiddenAct activation);

/* Accumulates dinp[N,C], dw1[I,C], db1[I], dw2[C,I], db2[C].
 * Scratch (overwritten): d_act[N,I] and act[N,I]: act = gelu(pre) is
 * recomputed into it rather than kept from the forward pass (it is cheap,
 * and N·I reals per layer). activation must be the forward call's. */
void feedforward_backward(real *dinp, real *dw1, real *db1, real *dw2, real *db2,
                          real *d_act, real *act, const real *dout, const real *inp,
                          const real *pre, const real *w1, const real *w2,
                          int N, int C, int I, HiddenAct activation);

#endif
