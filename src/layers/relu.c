/* relu.c — ReLU activation, forward and backward. Element-wise, so every
 * element is computed the same way whatever the thread count. */
#include "layers/relu.h"
#include "core/parallel.h"

/* docs/relu.md, equation (RE1): relu(x) = max(0, x). */
void relu_forward(real *out, const real *inp, long N) {
    #pragma omp parallel for simd schedule(static) if (N >= PARALLEL_MIN_WORK)
    for (long i = 0; i < N; i++) out[i] = inp[i] > 0 ? inp[i] : 0;
}

/* docs/relu.md, equation (RE1) on pre + bias, row by row (as gelu.c). */
void relu_forward_with_bias(real *out, real *pre, const real *bias, int N, int C) {
    #pragma omp parallel for schedule(static) if ((long)N * C >= PARALLEL_MIN_WORK)
    for (int n = 0; n < N; n++) {
        real *x = pre + (long)n * C, *y = out + (long)n * C;
        #pragma omp simd
        for (int c = 0; c < C; c++) {
            real z = x[c] + bias[c];
            x[c] = z;
            y[c] = z > 0 ? z : 0;
        }
    }
}

/* docs/relu.md, equations (RE2)–(RE3): the derivative is the step [x > 0],
 * with the subgradient 0 chosen at x = 0 (as PyTorch's threshold_backward). */
void relu_backward(real *dinp, const real *dout, const real *inp, long N, bool accumulate) {
    #pragma omp parallel for simd schedule(static) if (N >= PARALLEL_MIN_WORK)
    for (long i = 0; i < N; i++) {
        real d = inp[i] > 0 ? dout[i] : 0;
        dinp[i] = accumulate ? dinp[i] + d : d;
    }
}
