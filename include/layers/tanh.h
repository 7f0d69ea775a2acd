/* tanh.h — tanh activation (BERT's pooler). Derivation: docs/tanh.md. */
#ifndef BERT_TANH_H
#define BERT_TANH_H

#include "core/real.h"

/* out[N] = tanh(inp[N]); out may equal inp. */
void tanh_forward(real *out, const real *inp, long N);

/* dinp[N] += dout[N] · (1 − out[N]²), from the saved output. */
void tanh_backward(real *dinp, const real *dout, const real *out, long N);

#endif
