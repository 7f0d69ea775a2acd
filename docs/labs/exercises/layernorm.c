/* docs/labs/exercises/layernorm.c — an exercise: src/layers/layernorm.c with the body
 * of layernorm_backward taken out. Fill it in, then check it with
 *     make lab LAB=layernorm STUDENT=docs/labs/exercises/layernorm.c
 * (better: copy this file somewhere of your own first). The answer is the
 * library's src/layers/layernorm.c. Below: the library's file, unchanged except
 * for that body. */
/* layernorm.c — layer normalisation, forward and backward. */
#include <omp.h>
#include "layers/layernorm.h"
#include "core/parallel.h"

void layernorm_forward(real *out, real *mean, real *rstd, const real *inp,
                       const real *weight, const real *bias, real eps, int N, int C) {
    #pragma omp parallel for schedule(static) if ((long)N * C >= PARALLEL_MIN_WORK)
    for (int n = 0; n < N; n++) {
        const real *x = inp + (long)n * C;
        real *y = out + (long)n * C;
        real m = 0;
        #pragma omp simd reduction(+:m)
        for (int i = 0; i < C; i++) m += x[i];
        m /= C;
        real v = 0;
        #pragma omp simd reduction(+:v)
        for (int i = 0; i < C; i++) v += (x[i] - m) * (x[i] - m);
        v /= C;
        real s = 1 / sqrt(v + eps);
        for (int i = 0; i < C; i++) y[i] = (x[i] - m) * s * weight[i] + bias[i];
        mean[n] = m;
        rstd[n] = s;
    }
}

/* docs/layernorm.md, equation (LN4): with x̂ = (x − mean)·rstd and
 * g = dout ⊙ weight,  dx = rstd · (g − mean(g) − x̂ · mean(g ⊙ x̂)). */
void layernorm_backward(real *dinp, real *dweight, real *dbias, const real *dout,
                        const real *inp, const real *weight, const real *mean,
                        const real *rstd, int N, int C) {
    /* TODO (docs/labs/03_fill_in.md): write layernorm_backward. The comment above names
     * the equations of docs/layernorm.md it implements; the header
     * include/layers/layernorm.h says which arguments are accumulated (+=),
     * which are scratch and which may be NULL. Until it is written every
     * gradient stays as it was, and the checks fail. */
}
