/* gelu.h — GELU activation, the exact erf form BERT uses:
 *   gelu(x) = x · Φ(x) = 0.5 · x · (1 + erf(x / √2)).
 * Derivation: docs/gelu.md. */
#ifndef BERT_GELU_H
#define BERT_GELU_H

#include "real.h"

/* out[N] = gelu(inp[N]); out may equal inp. */
void gelu_forward(real *out, const real *inp, long N);

/* dinp[N] += dout[N] · gelu'(inp[N]),  gelu'(x) = Φ(x) + x · φ(x). */
void gelu_backward(real *dinp, const real *dout, const real *inp, long N);

#endif
