/* classifier_head.h — BertForSequenceClassification's head: the pooled output
 * through dropout and a Linear(C→K). Derivation: docs/heads.md#classification-head. */
#ifndef BERT_CLASSIFIER_HEAD_H
#define BERT_CLASSIFIER_HEAD_H

#include <stdbool.h>
#include <stdint.h>
#include "core/real.h"

/* dropped[B,C] = dropout(pooled; p, key) with mask[B,C] saved;
 * logits[B,K] = dropped · weight[K,C]ᵀ + bias[K]. */
void classifier_head_forward(real *logits, real *dropped, uint8_t *mask, const real *pooled,
                             const real *weight, const real *bias, real p, uint64_t key,
                             bool training, int B, int C, int K);

/* Accumulates d_pooled[B,C], dweight[K,C], dbias[K]; p as passed to forward
 * (0 when training was off). Scratch (overwritten): d_dropped[B,C]. */
void classifier_head_backward(real *d_pooled, real *dweight, real *dbias, real *d_dropped,
                              const real *dlogits, const real *dropped, const uint8_t *mask,
                              const real *weight, real p, int B, int C, int K);

#endif
