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

#endif
