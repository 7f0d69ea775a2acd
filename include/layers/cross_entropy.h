/* cross_entropy.h — softmax cross-entropy with an ignore index, averaged over
 * the rows that count. Derivation: docs/cross_entropy.md. */
#ifndef BERT_CROSS_ENTROPY_H
#define BERT_CROSS_ENTROPY_H

#include "core/real.h"

/* Rows whose target is IGNORE_INDEX add nothing to the loss or the gradient
 * (PyTorch's ignore_index default). */
#define IGNORE_INDEX (-100)

/* probs[N,V] = softmax(logits[N,V] + bias[V]) (saved; may equal logits;
 * bias may be NULL for none: a linear layer's bias may be left to this pass,
 * which reads every logit anyway — the MLM decoder's is, see model.c). Returns
 *   loss = (1/count) Σ_{n : targets[n] != IGNORE_INDEX} −log probs[n, targets[n]]
 * and sets *count (may be NULL); loss = 0 when count = 0. A target outside
 * [0, V) other than IGNORE_INDEX makes the loss NaN (never an out-of-bounds read).
 * predicted[N] (may be NULL): the first index of each row's largest (biased) logit,
 * for every row, counted or not. It is found in the same pass as the row's
 * maximum, so accuracy costs no extra read of a large logits array. */
real cross_entropy_forward(real *probs, int *predicted, const real *logits, const real *bias,
                           const int *targets, int N, int V, int *count);

/* dlogits[n,:] += dloss / count · (probs[n,:] − onehot(targets[n])) for counted rows.
 * dlogits may equal probs (then it is overwritten in place, ignored rows zeroed). */
void cross_entropy_backward(real *dlogits, const real *probs, const int *targets,
                            real dloss, int N, int V);

#endif
