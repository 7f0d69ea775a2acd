/* linear.c — the fully connected layer; every product goes through gemm(). */
#include <omp.h>
#include "layers/linear.h"
#include "core/parallel.h"
#include "core/gemm.h"

/* docs/linear.md, equation (LI1). gemm_bias adds the bias after the
 * product, or with bf16 products inside it (gemm.h). */
void linear_forward(real *out, const real *inp, const real *weight, const real *bias,
                    int N, int IC, int OC) {
    if (bias) gemm_bias(false, true, N, OC, IC, inp, IC, weight, IC, bias, out, OC);
    else gemm(false, true, N, OC, IC, 1, inp, IC, weight, IC, 0, out, OC);
}

/* docs/linear.md, equations (LI2)–(LI4). */
void linear_backward(real *dinp, real *dweight, real *dbias, const real *dout,
                     const real *inp, const real *weight, int N, int IC, int OC) {
    /* with bf16 products, dout is rounded once for both of them */
    bool both = dinp && dweight;
    if (both) gemm_hold_operand(dout, N, OC, OC);
    if (dinp) gemm(false, false, N, IC, OC, 1, dout, OC, weight, IC, 1, dinp, IC);
    if (dweight) gemm(true, false, OC, IC, N, 1, dout, OC, inp, IC, 1, dweight, IC);
    if (both) gemm_release_operand(dout);
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

/* (LI4) reads dout as reals, so it goes first; then one rounding serves
 * both products (LI2), (LI3). */
void linear_backward_consuming(real *dinp, real *dweight, real *dbias, real *dout,
                               const real *inp, const real *weight, int N, int IC, int OC) {
    linear_backward(NULL, NULL, dbias, dout, inp, weight, N, IC, OC);
    gemm_consume_operand(dout, N, OC);
    linear_backward(dinp, dweight, NULL, dout, inp, weight, N, IC, OC);
    gemm_release_operand(dout);
}
