/* linear.c — the fully connected layer; every product goes through gemm(). */
#include <omp.h>
#include "layers/linear.h"
#include "core/parallel.h"
#include "core/gemm.h"

/* docs/linear.md, equation (LI1). The bias is added after the product, in a
 * pass over the output while much of it is still in cache. Writing the bias
 * into out first and letting BLIS accumulate onto it (β = 1) was slower:
 * the microkernel then stalls on reading every C tile from memory
 * (bert-small's QKV product, 4096×1536×512: 24.2 ms that way, 22.0 ms this
 * way, 21.7 ms with no bias at all). */
void linear_forward(real *out, const real *inp, const real *weight, const real *bias,
                    int N, int IC, int OC) {
    gemm(false, true, N, OC, IC, 1, inp, IC, weight, IC, 0, out, OC);
    if (bias) {
        #pragma omp parallel for schedule(static) if ((long)N * OC >= PARALLEL_MIN_WORK)
        for (int n = 0; n < N; n++) {
            real *row = out + (long)n * OC;
            #pragma omp simd
            for (int o = 0; o < OC; o++) row[o] += bias[o];
        }
    }
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
