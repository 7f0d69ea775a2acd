/* attention.h — BERT's multi-head self-attention: Q, K, V projections, scaled
 * dot-product scores with an additive padding mask, softmax, attention
 * dropout, weighted sum of values, output projection (Hugging Face's
 * BertSelfAttention + BertSelfOutput.dense; the hidden dropout, residual and
 * LayerNorm after it are separate layers). Derivation: docs/attention.md.
 *
 * Shapes: B batch, T sequence length, C hidden size, NH heads, hd = C / NH.
 * The three projections are stored stacked: w_qkv[3C,C] holds W_q in rows
 * 0..C−1, W_k in C..2C−1, W_v in 2C..3C−1 (each [out, in], as nn.Linear), and
 * b_qkv[3C] likewise. In qkv[B,T,3C], head h's query is columns h·hd..h·hd+hd−1,
 * its key C + h·hd.., its value 2C + h·hd... */
#ifndef BERT_ATTENTION_H
#define BERT_ATTENTION_H

#include <stdbool.h>
#include <stdint.h>
#include "core/real.h"

/* BERT's additive mask value for padded keys (Google's modeling.py). */
#define ATTENTION_MASK_VALUE ((real)-10000.0)

/* mask_add[B,T]: added to every score whose key is at (b, t): 0 for real
 *   tokens, ATTENTION_MASK_VALUE for padding; NULL for no padding mask.
 * causal: also mask keys after the query (for teaching; BERT does not).
 * Caches written: qkv[B,T,3C], probs[B,NH,T,T] (softmax output),
 *   dropout_mask[B,NH,T,T], probs_dropped[B,NH,T,T] (after dropout; written
 *   only when dropout is on — training with dropout_p > 0 — and otherwise
 *   neither written nor read, so they may be NULL: probs is used in their place;
 *   backward rebuilds probs_dropped from probs and the mask, so it is a
 *   forward-only buffer that a model may share between layers),
 *   context[B,T,C] (heads concatenated, before the output projection).
 * out[B,T,C] = context · w_outᵀ + b_out. */
void attention_forward(real *out, real *qkv, real *probs, uint8_t *dropout_mask,
                       real *probs_dropped, real *context,
                       const real *inp, const real *mask_add,
                       const real *w_qkv, const real *b_qkv,
                       const real *w_out, const real *b_out,
                       real dropout_p, uint64_t dropout_key, bool training, bool causal,
                       int B, int T, int C, int NH);

/* Accumulates (+=) dinp[B,T,C], d_w_qkv[3C,C], d_b_qkv[3C], d_w_out[C,C], d_b_out[C].
 * Scratch (overwritten): d_qkv[B,T,3C], d_context[B,T,C], d_probs[B,NH,T,T].
 * dropout_p: the p of the forward call if it ran with training on, else 0 (as
 * dropout_backward): the saved dropout_mask says which probs were dropped and
 * p only sets the 1/(1 − p) scale of the kept ones, so a non-zero p after a
 * forward with training off would wrongly scale the gradient. With
 * dropout_p = 0 dropout_mask is not read (may be NULL). */
void attention_backward(real *dinp, real *d_w_qkv, real *d_b_qkv, real *d_w_out, real *d_b_out,
                        real *d_qkv, real *d_context, real *d_probs,
                        const real *dout, const real *inp, const real *qkv,
                        const real *probs, const uint8_t *dropout_mask, const real *context,
                        const real *w_qkv, const real *w_out,
                        real dropout_p, int B, int T, int C, int NH);

#endif
