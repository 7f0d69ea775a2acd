/* relu.h — the rectified linear unit, the Transformer paper's feed-forward
 * activation (hidden_act "relu"; Hugging Face's nn.ReLU):
 *   relu(x) = max(0, x),   relu'(x) = 1 if x > 0, else 0 (0 at x = 0).
 * Derivation: docs/relu.md. */
#ifndef BERT_RELU_H
#define BERT_RELU_H

#include <stdbool.h>
#include "core/real.h"

/* out[N] = relu(inp[N]); out may equal inp. */
void relu_forward(real *out, const real *inp, long N);

/* A linear layer's bias and the ReLU after it in one pass over [N,C], as
 * gelu_forward_with_bias: pre[n,c] += bias[c] (in place), out = relu(pre). */
void relu_forward_with_bias(real *out, real *pre, const real *bias, int N, int C);

/* dinp[N] += dout[N] · [inp[N] > 0]  (docs/relu.md (RE2)–(RE3)); with
 * accumulate false, dinp = … (dinp may be dout), as gelu_backward. */
void relu_backward(real *dinp, const real *dout, const real *inp, long N, bool accumulate);

#endif
