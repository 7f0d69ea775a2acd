/* linear.c — the fully connected layer; every product goes through gemm(). */
#include "linear.h"
#include "gemm.h"

void linear_forward(real *out, const real *inp, const real *weight, const real *bias,
                    int N, int IC, int OC) {
    if (bias) {
        for (int n = 0; n < N; n++)
            for (int o = 0; o < OC; o++) out[(long)n * OC + o] = bias[o];
    }
    /* out = inp · weightᵀ (+ out, which holds the bias) */
    gemm(false, true, N, OC, IC, 1, inp, IC, weight, IC, bias ? 1 : 0, out, OC);
}

/* docs/linear.md, equations (L2)–(L4). */
void linear_backward(real *dinp, real *dweight, real *dbias, const real *dout,
                     const real *inp, const real *weight, int N, int IC, int OC) {
    if (dinp) gemm(false, false, N, IC, OC, 1, dout, OC, weight, IC, 1, dinp, IC);
    if (dweight) gemm(true, false, OC, IC, N, 1, dout, OC, inp, IC, 1, dweight, IC);
    if (dbias) {
        for (int n = 0; n < N; n++)
            for (int o = 0; o < OC; o++) dbias[o] += dout[(long)n * OC + o];
    }
}
