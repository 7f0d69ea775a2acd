/* softmax.c — row-wise softmax (numerically stable) and its vector-Jacobian
 * product. Derivation: docs/softmax.md. */
#include "layers/softmax.h"

/* docs/softmax.md, equation (SM1), computed as exp(x_i − max_j x_j) / Σ_j exp(x_j − max):
 * subtracting the row maximum leaves the result unchanged (SM2) and keeps every
 * exponent ≤ 0, so nothing overflows. In-place (out == inp) is allowed. */
void softmax_forward(real *out, const real *inp, int N, int C) {
    #pragma omp parallel for schedule(static) if ((long)N * C > 32768)
    for (int n = 0; n < N; n++) {
        const real *x = inp + (long)n * C;
        real *y = out + (long)n * C;
        real max = x[0];
        for (int i = 1; i < C; i++) if (x[i] > max) max = x[i];
        real sum = 0;
        for (int i = 0; i < C; i++) {
            y[i] = exp(x[i] - max);
            sum += y[i];
        }
        real inv_sum = 1 / sum;
        for (int i = 0; i < C; i++) y[i] *= inv_sum;
    }
}

/* docs/softmax.md, equation (SM5): dx_i = y_i (dy_i − Σ_j dy_j y_j), the product
 * of dy with the Jacobian diag(y) − y yᵀ (SM3)–(SM4) without forming the C×C matrix. */
void softmax_backward(real *dinp, const real *dout, const real *out, int N, int C) {
    #pragma omp parallel for schedule(static) if ((long)N * C > 32768)
    for (int n = 0; n < N; n++) {
        const real *y = out + (long)n * C, *dy = dout + (long)n * C;
        real *dx = dinp + (long)n * C;
        real dot = 0;
        for (int j = 0; j < C; j++) dot += dy[j] * y[j];
        for (int i = 0; i < C; i++) dx[i] += y[i] * (dy[i] - dot);
    }
}
