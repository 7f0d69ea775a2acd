/* gelu.c — GELU activation in BERT's exact erf form (not the tanh approximation).
 *
 * The loops run over fixed blocks of SIMD_BLOCK elements (simd_math.h), each
 * vectorised with libmvec's erf/exp, so every element is computed the same
 * way whatever the thread count. */
#include "layers/gelu.h"
#include "core/parallel.h"
#include "core/simd_math.h"

/* docs/gelu.md, equation (GE1): gelu(x) = x·Φ(x), Φ(x) = ½(1 + erf(x/√2)). */
void gelu_forward(real *out, const real *inp, long N) {
    const real inv_sqrt2 = (real)0.70710678118654752440;
    long blocks = (N + SIMD_BLOCK - 1) / SIMD_BLOCK;
    #pragma omp parallel for schedule(static) if (N >= PARALLEL_MIN_WORK)
    for (long blk = 0; blk < blocks; blk++) {
        long i1 = (blk + 1) * SIMD_BLOCK < N ? (blk + 1) * SIMD_BLOCK : N;
        #pragma omp simd
        for (long i = blk * SIMD_BLOCK; i < i1; i++) {
            real x = inp[i];
            out[i] = (real)0.5 * x * (1 + erf(x * inv_sqrt2));
        }
    }
}

/* docs/gelu.md, equation (GE1) on pre + bias. Row by row, each row one
 * vector loop, so every element takes the same path whatever the thread
 * count. */
void gelu_forward_with_bias(real *out, real *pre, const real *bias, int N, int C) {
    const real inv_sqrt2 = (real)0.70710678118654752440;
    #pragma omp parallel for schedule(static) if ((long)N * C >= PARALLEL_MIN_WORK)
    for (int n = 0; n < N; n++) {
        real *x = pre + (long)n * C, *y = out + (long)n * C;
        #pragma omp simd
        for (int c = 0; c < C; c++) {
            real z = x[c] + bias[c];
            x[c] = z;
            y[c] = (real)0.5 * z * (1 + erf(z * inv_sqrt2));
        }
    }
}

/* docs/gelu.md, equations (GE3)–(GE4): gelu'(x) = Φ(x) + x·φ(x), φ(x) = exp(−x²/2)/√(2π). */
void gelu_backward(real *dinp, const real *dout, const real *inp, long N, bool accumulate) {
    const real inv_sqrt2 = (real)0.70710678118654752440;
    const real inv_sqrt_2pi = (real)0.39894228040143267794;
    long blocks = (N + SIMD_BLOCK - 1) / SIMD_BLOCK;
    #pragma omp parallel for schedule(static) if (N >= PARALLEL_MIN_WORK)
    for (long blk = 0; blk < blocks; blk++) {
        long i1 = (blk + 1) * SIMD_BLOCK < N ? (blk + 1) * SIMD_BLOCK : N;
        #pragma omp simd
        for (long i = blk * SIMD_BLOCK; i < i1; i++) {
            real x = inp[i];
            real cdf = (real)0.5 * (1 + erf(x * inv_sqrt2));
            real pdf = inv_sqrt_2pi * exp((real)-0.5 * x * x);
            real d = dout[i] * (cdf + x * pdf);
            dinp[i] = accumulate ? dinp[i] + d : d;
        }
    }
}
