/* gemm.c — row-major matrix multiply through BLIS's typed API, and the
 * runtime set-up of BLIS and OpenMP threads. */
#include <stdlib.h>
#include <stdio.h>
#include <omp.h>
#include <blis.h>
#include "gemm.h"

/* Products smaller than this many multiply-adds run on one thread. Splitting
 * them gains nothing, and BLIS's threads meet at spinning barriers: when the
 * cores are shared with other work, one tiny product took ~70 ms with 2
 * threads against 5 µs with 1 (measured on the 2-core build machine), which
 * made the per-head attention products and gradient checks time out. */
#define GEMM_SERIAL_BELOW (64L * 64 * 64)

void gemm(bool transpose_a, bool transpose_b, int M, int N, int K,
          real alpha, const real *A, int lda, const real *B, int ldb,
          real beta, real *C, int ldc) {
    if (M == 0 || N == 0) return;
    rntm_t serial = BLIS_RNTM_INITIALIZER, *rntm = NULL;   /* NULL: BLIS's global thread setting */
    /* Inside an OpenMP parallel region (attention's per-(batch, head) loop)
     * the cores are already busy: BLIS threads on top would oversubscribe them. */
    if ((long)M * N * K < GEMM_SERIAL_BELOW || omp_in_parallel()) {
        bli_rntm_set_num_threads(1, &serial);
        rntm = &serial;
    }
    /* BLIS takes general strides: a row-major matrix has row stride = leading
     * dimension and column stride = 1, whether or not it is transposed. */
    trans_t ta = transpose_a ? BLIS_TRANSPOSE : BLIS_NO_TRANSPOSE;
    trans_t tb = transpose_b ? BLIS_TRANSPOSE : BLIS_NO_TRANSPOSE;
#ifdef BERT_DOUBLE
    bli_dgemm_ex(ta, tb, M, N, K, &alpha, (double *)A, lda, 1, (double *)B, ldb, 1,
                 &beta, C, ldc, 1, NULL, rntm);
#else
    bli_sgemm_ex(ta, tb, M, N, K, &alpha, (float *)A, lda, 1, (float *)B, ldb, 1,
                 &beta, C, ldc, 1, NULL, rntm);
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
