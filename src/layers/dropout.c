/* dropout.c — inverted dropout whose mask is a pure function of (key, index),
 * so it is the same for any number of threads and can be recomputed. */
#include <string.h>
#include "layers/dropout.h"
#include "core/parallel.h"
#include "core/rng.h"

/* 1/(1 − p), the factor that keeps E[out] = inp (docs/dropout.md, (DO2)).
 * p ≥ 1 drops everything; the factor is then irrelevant and set to 0 so no
 * 0·∞ = NaN appears. */
real dropout_keep_scale(real p) { return p < 1 ? 1 / (1 - p) : 0; }

/* kept ⇔ rng_uniform_at(key, i) ≥ p, tested in integers so it vectorises */
void dropout_row_forward(real *out, uint8_t *mask, const real *inp, long n, real scale,
                         uint64_t threshold, uint64_t key, uint64_t first) {
    #pragma omp simd
    for (long i = 0; i < n; i++) {
        uint8_t keep = rng_bits_at(key, first + (uint64_t)i) >= threshold;
        mask[i] = keep;
        out[i] = keep ? inp[i] * scale : 0;
    }
}

void dropout_row_backward(real *dx, const real *dy, const uint8_t *mask, real scale, long n, bool accumulate) {
    if (accumulate) {
        #pragma omp simd
        for (long i = 0; i < n; i++)
            if (mask[i]) dx[i] += dy[i] * scale;
    } else {
        #pragma omp simd
        for (long i = 0; i < n; i++) dx[i] = mask[i] ? dy[i] * scale : 0;
    }
}

/* docs/dropout.md, equations (DO1)–(DO2). Blocks of PARALLEL_MIN_WORK
 * elements are spread over the threads. */
void dropout_forward(real *out, uint8_t *mask, const real *inp, real p, uint64_t key,
                     long N, bool training) {
    if (!training || p <= 0) {
        if (out != inp) memcpy(out, inp, sizeof(real) * (size_t)N);
        if (mask) memset(mask, 1, (size_t)N);
        return;
    }
    real scale = dropout_keep_scale(p);
    uint64_t threshold = rng_threshold(p);
    long blocks = (N + PARALLEL_MIN_WORK - 1) / PARALLEL_MIN_WORK;
    #pragma omp parallel for schedule(static) if (blocks > 1)
    for (long b = 0; b < blocks; b++) {
        long i0 = b * PARALLEL_MIN_WORK, n = N - i0 < PARALLEL_MIN_WORK ? N - i0 : PARALLEL_MIN_WORK;
        dropout_row_forward(out + i0, mask + i0, inp + i0, n, scale, threshold, key, (uint64_t)i0);
    }
}

/* docs/dropout.md, equation (DO3): dinp = dout ⊙ mask / (1 − p). */
void dropout_backward(real *dinp, const real *dout, const uint8_t *mask, real p, long N) {
    real scale = p > 0 ? dropout_keep_scale(p) : 1;
    long blocks = (N + PARALLEL_MIN_WORK - 1) / PARALLEL_MIN_WORK;
    #pragma omp parallel for schedule(static) if (blocks > 1)
    for (long b = 0; b < blocks; b++) {
        long i0 = b * PARALLEL_MIN_WORK, n = N - i0 < PARALLEL_MIN_WORK ? N - i0 : PARALLEL_MIN_WORK;
        dropout_row_backward(dinp + i0, dout + i0, mask + i0, scale, n, true);
    }
}
