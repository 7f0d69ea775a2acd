/* linear.c — the fully connected layer; every product goes through gemm(). */
#include <omp.h>
#include "linear.h"
#include "parallel.h"
#include "gemm.h"

void linear_forward(real *out, const real *inp, const real *weight, const real *bias,
                    int N, int IC, int OC) {
    if (bias) {
        #pragma omp parallel for schedule(static) if ((long)N * OC >= PARALLEL_MIN_WORK)
        for (int n = 0; n < N; n++)
            for (int o = 0; o < OC; o++) out[(long)n * OC + o] = bias[o];
    }
    /* out = inp · weightᵀ (+ out, which holds the bias) */
    gemm(false, true, N, OC, IC, 1, inp, IC, weight, IC, bias ? 1 : 0, out, OC);
}

/* docs/linear.md, equations (L2)–(L4). */
void linear_backward(real *dinp, real *dweight, real *dbias, const real *dout,
                     const real *inp, const real *weight, int N, int IC, int OC) {
    if (dinp) gemm(false, false, N, IC, OC, 1, dout, OC, weight, IC, 1, dinp, IC);
    if (dweight) gemm(true, false, OC, IC, N, 1, dout, OC, inp, IC, 1, dweight, IC);
    /* Threads own blocks of columns and add the rows in order, so every
     * dbias[o] is the same sum in the same order for any thread count. */
    if (dbias) {
        #pragma omp parallel if ((long)N * OC >= PARALLEL_MIN_WORK)
        {
            int nthreads = omp_get_num_threads(), tid = omp_get_thread_num();
            int o0 = (int)((long)OC * tid / nthreads), o1 = (int)((long)OC * (tid + 1) / nthreads);
            for (int n = 0; n < N; n++) {
                const real *d = dout + (long)n * OC;
                #pragma omp simd
                for (int o = o0; o < o1; o++) dbias[o] += d[o];
            }
        }
    }
}
