/* gelu.h — GELU activation, the exact erf form BERT uses:
 *   gelu(x) = x · Φ(x) = 0.5 · x · (1 + erf(x / √2)).
 * Derivation: docs/gelu.md. */
#ifndef BERT_GELU_H
#define BERT_GELU_H

#include <stdbool.h>
#include "core/real.h"

/* out[N] = gelu(inp[N]); out may equal inp. */
void gelu_forward(real *out, const real *inp, long N);

/* A linear layer's bias and the GELU after it in one pass over [N,C]:
 *   pre[n,c] += bias[c]   (in place: the biased pre-activation, which the
 *                          backward pass reads),
 *   out[n,c]  = gelu(pre[n,c]).
 * The linear layer then runs without its bias (linear_forward with bias
 * NULL); this saves a separate pass over the output for the bias
 * (docs/gelu.md). */
void gelu_forward_with_bias(real *out, real *pre, const real *bias, int N, int C);

/* dinp[N] += dout[N] · gelu'(inp[N]),  gelu'(x) = Φ(x) + x · φ(x).
 * With accumulate false, dinp = … instead (no clearing, no read of dinp),
 * and dinp may be dout itself. */
void gelu_backward(real *dinp, const real *dout, const real *inp, long N, bool accumulate);

#endif
