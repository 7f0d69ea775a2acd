/* dropout.c — inverted dropout whose mask is a pure function of (key, index),
 * so it is the same for any number of threads and can be recomputed. */
#include <string.h>
#include "layers/dropout.h"
#include "core/parallel.h"
#include "core/rng.h"

/* 1/(1 − p), the factor that keeps E[out] = inp (docs/dropout.md, (DO2)).
 * p ≥ 1 drops everything; the factor is then irrelevant and set to 0 so no
 * 0·∞ = NaN appears. */
static real keep_scale(real p) { return p < 1 ? 1 / (1 - p) : 0; }

/* docs/dropout.md, equations (DO1)–(DO2). */
void dropout_forward(real *out, uint8_t *mask, const real *inp, real p, uint64_t key,
                     long N, bool training) {
    if (!training || p <= 0) {
        if (out != inp) memcpy(out, inp, sizeof(real) * (size_t)N);
        if (mask) memset(mask, 1, (size_t)N);
        return;
    }
    real scale = keep_scale(p);
    /* kept ⇔ rng_uniform_at(key, i) ≥ p, tested in integers so it vectorises */
    uint64_t threshold = rng_threshold(p);
    #pragma omp parallel for simd schedule(static) if (N >= PARALLEL_MIN_WORK)
    for (long i = 0; i < N; i++) {
        uint8_t keep = rng_bits_at(key, (uint64_t)i) >= threshold;
        mask[i] = keep;
        out[i] = keep ? inp[i] * scale : 0;
    }
}

/* docs/dropout.md, equation (DO3): dinp = dout ⊙ mask / (1 − p). */
void dropout_backward(real *dinp, const real *dout, const uint8_t *mask, real p, long N) {
    real scale = p > 0 ? keep_scale(p) : 1;
    #pragma omp parallel for simd schedule(static) if (N >= PARALLEL_MIN_WORK)
    for (long i = 0; i < N; i++)
        if (mask[i]) dinp[i] += dout[i] * scale;
}
