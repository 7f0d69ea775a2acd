/* docs/labs/exercises/gelu.c — an exercise: src/layers/gelu.c with the body
 * of gelu_backward taken out. Fill it in, then check it with
 *     make lab LAB=gelu STUDENT=docs/labs/exercises/gelu.c
 * (better: copy this file somewhere of your own first). The answer is the
 * library's src/layers/gelu.c. Below: the library's file, unchanged except
 * for that body. */
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
    /* TODO (docs/labs/03_fill_in.md): write gelu_backward. The comment above names
     * the equations of docs/gelu.md it implements; the header
     * include/layers/gelu.h says which arguments are accumulated (+=),
     * which are scratch and which may be NULL. Until it is written every
     * gradient stays as it was, and the checks fail. */
}
