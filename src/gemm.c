/* gemm.c — row-major matrix multiply through BLIS's typed API, and the
 * runtime set-up of BLIS and OpenMP threads. */
#include <stdlib.h>
#include <stdio.h>
#include <omp.h>
#include <blis.h>
#include "gemm.h"

void gemm(bool transpose_a, bool transpose_b, int M, int N, int K,
          real alpha, const real *A, int lda, const real *B, int ldb,
          real beta, real *C, int ldc) {
    if (M == 0 || N == 0) return;
    /* BLIS takes general strides: a row-major matrix has row stride = leading
     * dimension and column stride = 1, whether or not it is transposed. */
    trans_t ta = transpose_a ? BLIS_TRANSPOSE : BLIS_NO_TRANSPOSE;
    trans_t tb = transpose_b ? BLIS_TRANSPOSE : BLIS_NO_TRANSPOSE;
#ifdef BERT_DOUBLE
    bli_dgemm(ta, tb, M, N, K, &alpha, (double *)A, lda, 1, (double *)B, ldb, 1,
              &beta, C, ldc, 1);
#else
    bli_sgemm(ta, tb, M, N, K, &alpha, (float *)A, lda, 1, (float *)B, ldb, 1,
              &beta, C, ldc, 1);
#endif
}

static int runtime_threads = 1;

void bert_runtime_init(int threads) {
    /* BLIS 0.9 chooses kernels from the CPU brand string; under a hypervisor it
     * falls back to haswell (AVX2). Kernel set 0 is skx (AVX-512), ~1.5× faster
     * here. Must be set before BLIS initialises; an explicit setting wins. */
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f")) setenv("BLIS_ARCH_TYPE", "0", 0);
    if (threads <= 0) threads = omp_get_num_procs();
    runtime_threads = threads;
    omp_set_num_threads(threads);
    bli_thread_set_num_threads(threads);
}

int bert_threads(void) { return runtime_threads; }
