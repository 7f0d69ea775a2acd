/* pooler.c — tanh(W h_[CLS] + b), with the [CLS] rows read by stride. */
#include <string.h>
#include "layers/pooler.h"
#include "core/gemm.h"
#include "layers/tanh.h"

void pooler_forward(real *pooled, const real *hidden, const real *weight, const real *bias,
                    int B, int T, int C) {
    for (int b = 0; b < B; b++) memcpy(pooled + (long)b * C, bias, sizeof(real) * (size_t)C);
    /* pooled[B,C] += H0[B,C] · weightᵀ, where H0's rows are hidden[b,0,:] (ld = T·C) */
    gemm(false, true, B, C, C, 1, hidden, T * C, weight, C, 1, pooled, C);
    tanh_forward(pooled, pooled, (long)B * C);
}

/* docs/heads.md#pooler (HD2)–(HD4). */
void pooler_backward(real *d_hidden, real *dweight, real *dbias, real *d_pre,
                     const real *d_pooled, const real *pooled, const real *hidden,
                     const real *weight, int B, int T, int C) {
    memset(d_pre, 0, sizeof(real) * (size_t)B * C);
    tanh_backward(d_pre, d_pooled, pooled, (long)B * C);
    gemm(true, false, C, C, B, 1, d_pre, C, hidden, T * C, 1, dweight, C);
    for (int b = 0; b < B; b++)
        for (int c = 0; c < C; c++) dbias[c] += d_pre[(long)b * C + c];
    /* d_hidden[b,0,:] += d_pre[b,:] · weight  (written with row stride T·C) */
    gemm(false, false, B, C, C, 1, d_pre, C, weight, C, 1, d_hidden, T * C);
}
