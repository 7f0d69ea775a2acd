/* docs/labs/exercises/softmax.c — an exercise: src/layers/softmax.c with the body
 * of softmax_row_backward taken out. Fill it in, then check it with
 *     make lab LAB=softmax STUDENT=docs/labs/exercises/softmax.c
 * (better: copy this file somewhere of your own first). The answer is the
 * library's src/layers/softmax.c. Below: the library's file, unchanged except
 * for that body. */
/* softmax.c — row-wise softmax (numerically stable) and its vector-Jacobian
 * product. Derivation: docs/softmax.md. */
#include <math.h>
#include "layers/softmax.h"
#include "core/simd_math.h"

/* docs/softmax.md, equation (SM1), computed as exp(x_i − max_j x_j) / Σ_j exp(x_j − max):
 * subtracting the row maximum leaves the result unchanged (SM2) and keeps every
 * exponent ≤ 0, so nothing overflows. In-place (y == x) is allowed. Each loop
 * is a plain vector loop (exp from libmvec, see simd_math.h). */
void softmax_row_forward(real *y, const real *x, int n) {
    real max = -INFINITY;
    #pragma omp simd reduction(max:max)
    for (int j = 0; j < n; j++) max = x[j] > max ? x[j] : max;
    real sum = 0;
    #pragma omp simd reduction(+:sum)
    for (int j = 0; j < n; j++) {
        y[j] = exp(x[j] - max);
        sum += y[j];
    }
    real inv_sum = 1 / sum;
    #pragma omp simd
    for (int j = 0; j < n; j++) y[j] *= inv_sum;
}

/* docs/softmax.md, equation (SM5): dx_i = y_i (dy_i − Σ_j dy_j y_j), the product
 * of dy with the Jacobian diag(y) − y yᵀ (SM3)–(SM4) without forming the n×n matrix. */
void softmax_row_backward(real *dx, const real *dy, const real *y, int n, bool accumulate) {
    /* TODO (docs/labs/03_fill_in.md): write softmax_row_backward. The comment above names
     * the equations of docs/softmax.md it implements; the header
     * include/layers/softmax.h says which arguments are accumulated (+=),
     * which are scratch and which may be NULL. Until it is written every
     * gradient stays as it was, and the checks fail. */
}

void softmax_forward(real *out, const real *inp, int N, int C) {
    #pragma omp parallel for schedule(static) if ((long)N * C > 32768)
    for (int n = 0; n < N; n++) softmax_row_forward(out + (long)n * C, inp + (long)n * C, C);
}

void softmax_backward(real *dinp, const real *dout, const real *out, int N, int C) {
    #pragma omp parallel for schedule(static) if ((long)N * C > 32768)
    for (int n = 0; n < N; n++)
        softmax_row_backward(dinp + (long)n * C, dout + (long)n * C, out + (long)n * C, C, true);
}
