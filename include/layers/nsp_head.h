/* nsp_head.h — BERT's next-sentence head (BertOnlyNSPHead.seq_relationship):
 * the pooled output through a Linear(C→2); logit 0 = "B follows A" (IsNext),
 * 1 = "B is random" (NotNext), as Hugging Face's next_sentence_label.
 * Derivation: docs/heads.md#next-sentence-head. */
#ifndef BERT_NSP_HEAD_H
#define BERT_NSP_HEAD_H

#include "core/real.h"

#define NSP_CLASSES 2

/* logits[B,2] = pooled[B,C] · weight[2,C]ᵀ + bias[2] */
void nsp_head_forward(real *logits, const real *pooled, const real *weight, const real *bias,
                      int B, int C);

/* Accumulates d_pooled[B,C], dweight[2,C], dbias[2]. */
void nsp_head_backward(real *d_pooled, real *dweight, real *dbias, const real *dlogits,
                       const real *pooled, const real *weight, int B, int C);

#endif
