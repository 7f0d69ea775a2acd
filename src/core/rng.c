/* rng.c — normal and truncated-normal draws for weight initialisation. */
#include <math.h>
#include "core/rng.h"

double rng_normal(Rng *rng) {
    double u1 = rng_uniform(rng), u2 = rng_uniform(rng);
    if (u1 < 1e-300) u1 = 1e-300;
    return sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}

double rng_truncated_normal(Rng *rng, double stddev) {
    for (;;) {
        double z = rng_normal(rng);
        if (z >= -2.0 && z <= 2.0) return z * stddev;
    }
}
