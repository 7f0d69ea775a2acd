/* dropout.h — inverted dropout with a saved mask. Element i of a call with key
 * K is dropped when rng_uniform_at(K, i) < p, so the mask depends only on
 * (K, i), not on threads. Derivation: docs/dropout.md. */
#ifndef BERT_DROPOUT_H
#define BERT_DROPOUT_H

#include <stdbool.h>
#include <stdint.h>
#include "core/real.h"

/* Training (and p > 0): mask[i] = 1 if kept else 0; out[i] = inp[i] · mask[i] / (1 − p).
 * Otherwise: out = inp and mask[i] = 1; mask may then be NULL when no
 * backward pass will read it (a forward-only model). out may equal inp. */
void dropout_forward(real *out, uint8_t *mask, const real *inp, real p, uint64_t key,
                     long N, bool training);

/* dinp[i] += dout[i] · mask[i] / (1 − p)   (p as in the forward call; training off ⇒ p = 0). */
void dropout_backward(real *dinp, const real *dout, const uint8_t *mask, real p, long N);

/* The pieces of both, shared with attention.c so its dropout is the same
 * numbers as dropout_forward's. */

/* 1/(1 − p), the scale of the kept elements (0 for p ≥ 1). */
real dropout_keep_scale(real p);

/* Elements first .. first + n − 1 of a dropout_forward call with key and
 * p = the p of threshold = rng_threshold(p), scale = dropout_keep_scale(p):
 * mask[i] = kept, out[i] = kept ? inp[i] · scale : 0. out may equal inp. */
void dropout_row_forward(real *out, uint8_t *mask, const real *inp, long n, real scale,
                         uint64_t threshold, uint64_t key, uint64_t first);

/* dx[i] = mask[i] ? dy[i] · scale : 0, or dx[i] += dy[i] · scale where mask[i]
 * when accumulate; dx may equal dy when not accumulating. */
void dropout_row_backward(real *dx, const real *dy, const uint8_t *mask, real scale, long n, bool accumulate);

#endif
