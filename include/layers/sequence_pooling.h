/* sequence_pooling.h — one vector per sequence from the final hidden states,
 * for the classifier (`bert finetune --pooling mean|max`; BERT's own pooling
 * is the pooler on [CLS], pooler.h). Only real tokens count: mask[b,t] = 1
 * (the attention mask; NULL = every position is a token).
 *   mean: out[b,:] = (1/n_b) Σ_{t real} inp[b,t,:]
 *   max:  out[b,c] = max_{t real} inp[b,t,c], argmax[b,c] = the first t that reaches it
 * A sequence with no real token gets out = 0 (and argmax −1: no gradient).
 * Derivation, and the gradient of a tie: docs/sequence_pooling.md. */
#ifndef BERT_SEQUENCE_POOLING_H
#define BERT_SEQUENCE_POOLING_H

#include "core/real.h"

/* inp[B,T,C], mask[B,T] → out[B,C] */
void sequence_pooling_mean_forward(real *out, const real *inp, const int *mask, int B, int T, int C);

/* Accumulates dinp[B,T,C] from dout[B,C]. */
void sequence_pooling_mean_backward(real *dinp, const real *dout, const int *mask, int B, int T, int C);

/* inp[B,T,C], mask[B,T] → out[B,C], argmax[B,C] (saved for backward) */
void sequence_pooling_max_forward(real *out, int *argmax, const real *inp, const int *mask, int B, int T, int C);

/* Accumulates dinp[B,T,C] from dout[B,C]: each dout[b,c] goes to row argmax[b,c] only. */
void sequence_pooling_max_backward(real *dinp, const real *dout, const int *argmax, int B, int T, int C);

#endif
