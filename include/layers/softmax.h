/* softmax.h — row-wise softmax and its Jacobian-vector product.
 * Derivation: docs/softmax.md. */
#ifndef BERT_SOFTMAX_H
#define BERT_SOFTMAX_H

#include <stdbool.h>
#include "core/real.h"

/* out[N,C]: out[n,i] = exp(inp[n,i] − max_j inp[n,j]) / Σ_j exp(inp[n,j] − max). out may equal inp. */
void softmax_forward(real *out, const real *inp, int N, int C);

/* dinp[n,i] += out[n,i] · (dout[n,i] − Σ_j dout[n,j] · out[n,j]),
 * the product of dout with the Jacobian diag(y) − y yᵀ. */
void softmax_backward(real *dinp, const real *dout, const real *out, int N, int C);

/* One row of each, shared with attention.c so its probabilities are the
 * same numbers as softmax_forward's. y[n] = softmax(x[n]); y may equal x. */
void softmax_row_forward(real *y, const real *x, int n);

/* dx[i] = y[i] · (dy[i] − Σ_j dy[j] · y[j]), or dx[i] += that when accumulate;
 * dx may equal dy when not accumulating. */
void softmax_row_backward(real *dx, const real *dy, const real *y, int n, bool accumulate);

#endif
