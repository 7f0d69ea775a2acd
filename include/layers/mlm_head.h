/* mlm_head.h — BERT's masked-LM head (BertLMPredictionHead), evaluated only at
 * the M masked positions: Linear(C→C) → GELU → LayerNorm → decoder whose
 * weight is the word-embedding table (tied), plus its own output bias.
 * Derivation: docs/heads.md#masked-lm-head. */
#ifndef BERT_MLM_HEAD_H
#define BERT_MLM_HEAD_H

#include "core/real.h"
#include "layers/activation.h"

/* inp[M,C]: hidden states gathered at the masked positions.
 * pre[M,C] = inp · dense_wᵀ + dense_b;  act = gelu(pre) (Hugging Face's transform uses
 * hidden_act, so relu(pre) with HIDDEN_ACT_RELU);
 * ln_out[M,C] = layernorm(act; ln_w, ln_b, eps), ln_mean[M], ln_rstd[M];
 * logits[M,V] = ln_out · word_emb[V,C]ᵀ + out_bias[V].  pre, act, ln_out, ln_mean, ln_rstd are saved.
 * out_bias may be NULL: the caller then adds it itself (the model adds it in
 * the cross-entropy pass, which reads every logit anyway). */
void mlm_head_forward(real *logits, real *pre, real *act, real *ln_out, real *ln_mean, real *ln_rstd,
                      const real *inp, const real *dense_w, const real *dense_b,
                      const real *ln_w, const real *ln_b, const real *word_emb,
                      const real *out_bias, real eps, int M, int C, int V, HiddenAct activation);

/* Accumulates dinp[M,C], d_dense_w[C,C], d_dense_b[C], d_ln_w[C], d_ln_b[C],
 * d_word_emb[V,C] (the tied decoder's share), d_out_bias[V].
 * Scratch (overwritten): d_ln_out[M,C], d_act[M,C], d_pre[M,C]. */
void mlm_head_backward(real *dinp, real *d_dense_w, real *d_dense_b, real *d_ln_w, real *d_ln_b,
                       real *d_word_emb, real *d_out_bias,
                       real *d_ln_out, real *d_act, real *d_pre,
                       real *dlogits, const real *inp, const real *pre, const real *act,
                       const real *ln_out, const real *ln_mean, const real *ln_rstd,
                       const real *dense_w, const real *ln_w, const real *word_emb,
                       int M, int C, int V, HiddenAct activation);

#endif
