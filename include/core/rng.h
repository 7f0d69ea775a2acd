/* rng.h — seeded random numbers, reproducible across runs and thread counts.
 *
 * Two kinds:
 *  - Rng: a sequential generator (SplitMix64) for data order, masking choices
 *    and initialisation. Its whole state is one uint64, saved in checkpoints
 *    so a resumed run draws the same numbers as an uninterrupted one.
 *  - rng_uniform_at(key, i): a counter-based draw, a pure function of (key, i).
 *    Dropout uses it so element i's mask does not depend on which thread
 *    computes it or in what order. */
#ifndef BERT_RNG_H
#define BERT_RNG_H

#include <stdint.h>

typedef struct { uint64_t state; } Rng;

static inline uint64_t splitmix64_mix(uint64_t z) {
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static inline uint64_t rng_next(Rng *rng) {
    rng->state += 0x9e3779b97f4a7c15ULL;
    return splitmix64_mix(rng->state);
}

static inline Rng rng_seeded(uint64_t seed) { Rng r = { splitmix64_mix(seed ^ 0x5851f42d4c957f2dULL) }; return r; }

/* Uniform in [0, 1) with 53 random bits. */
static inline double rng_uniform(Rng *rng) { return (double)(rng_next(rng) >> 11) * 0x1.0p-53; }

/* Uniform integer in [0, n), n > 0 (Lemire's multiply-shift; the bias is
 * below 2^-32 for any n used here). */
static inline uint64_t rng_below(Rng *rng, uint64_t n) {
    return (uint64_t)(((unsigned __int128)rng_next(rng) * n) >> 64);
}

/* Element `index` of the counter-based stream named `key`: 53 random bits. */
static inline uint64_t rng_bits_at(uint64_t key, uint64_t index) {
    return splitmix64_mix(key + 0x9e3779b97f4a7c15ULL * (index + 1)) >> 11;
}

/* The stream `key` entered n elements in: rng_bits_at(rng_key_skip(key, n), i)
 * == rng_bits_at(key, n + i) for every i, because the index enters only as
 * key + G·(index + 1) (mod 2⁶⁴). A slice of a batch that starts at element n
 * of the whole batch so draws exactly the whole batch's masks. */
static inline uint64_t rng_key_skip(uint64_t key, uint64_t n) { return key + 0x9e3779b97f4a7c15ULL * n; }

/* Counter-based uniform in [0, 1): element `index` of the stream named `key`. */
static inline double rng_uniform_at(uint64_t key, uint64_t index) {
    return (double)rng_bits_at(key, index) * 0x1.0p-53;
}

/* The integer form of the test rng_uniform_at(key, i) < p, for loops that
 * should vectorise (a 64-bit integer compare, no conversion to double):
 * rng_uniform_at is k·2⁻⁵³ with k = rng_bits_at an integer, and both k·2⁻⁵³
 * and p·2⁵³ are exact in double, so k·2⁻⁵³ < p ⇔ k < ⌈p·2⁵³⌉ exactly.
 * p in [0, 1]. */
static inline uint64_t rng_threshold(double p) {
    double t = p * 0x1.0p53;
    uint64_t k = (uint64_t)t;
    return (double)k < t ? k + 1 : k;
}

/* Standard normal (Box–Muller, one draw per call). */
double rng_normal(Rng *rng);

/* Normal(0, stddev) truncated to ±2·stddev by redrawing, as TensorFlow's
 * truncated_normal_initializer used by BERT's reference code. */
double rng_truncated_normal(Rng *rng, double stddev);

#endif
