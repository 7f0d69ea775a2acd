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
    /* Rows in parallel for dinp; the parameter gradients are summed over rows
     * below, column blocks per thread, so results do not depend on thread count. */
    #pragma omp parallel for schedule(static) if ((long)N * C >= PARALLEL_MIN_WORK)
    for (int n = 0; n < N; n++) {
        const real *x = inp + (long)n * C, *dy = dout + (long)n * C;
        real *dx = dinp + (long)n * C;
        real m = mean[n], s = rstd[n];
        real mean_g = 0, mean_g_xhat = 0;
        #pragma omp simd reduction(+:mean_g, mean_g_xhat)
        for (int i = 0; i < C; i++) {
            real g = dy[i] * weight[i];
            mean_g += g;
            mean_g_xhat += g * (x[i] - m) * s;
        }
        mean_g /= C;
        mean_g_xhat /= C;
        for (int i = 0; i < C; i++) {
            real xhat = (x[i] - m) * s;
            dx[i] += s * (dy[i] * weight[i] - mean_g - xhat * mean_g_xhat);
        }
    }
    /* Threads own blocks of columns and visit the rows in order: each
     * dweight[i], dbias[i] receives the same additions in the same order for
     * any thread count. */
    #pragma omp parallel if ((long)N * C >= PARALLEL_MIN_WORK)
    {
        int nthreads = omp_get_num_threads(), tid = omp_get_thread_num();
        int i0 = (int)((long)C * tid / nthreads), i1 = (int)((long)C * (tid + 1) / nthreads);
        for (int n = 0; n < N; n++) {
            const real *x = inp + (long)n * C, *dy = dout + (long)n * C;
            real m = mean[n], s = rstd[n];
            #pragma omp simd
            for (int i = i0; i < i1; i++) {
                dweight[i] += dy[i] * (x[i] - m) * s;
                dbias[i] += dy[i];
            }
        }
    }
}
