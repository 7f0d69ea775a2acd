/* gemm.c — row-major matrix multiply through BLIS's typed API, and the
 * runtime set-up of BLIS and OpenMP threads. */
#include <stdlib.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <stdio.h>
#include <omp.h>
#include <blis.h>
#include "core/gemm.h"
#include "core/gemm_bf16.h"
#include "core/parallel.h"

/* Products smaller than this many multiply-adds run on one thread. Splitting
 * them gains nothing, and BLIS's threads meet at spinning barriers: when the
 * cores are shared with other work, one tiny product took ~70 ms with 2
 * threads against 5 µs with 1 (measured on the 2-core build machine), which
 * made the per-head attention products and gradient checks time out. */
#define GEMM_SERIAL_BELOW (64L * 64 * 64)

/* One product on the calling thread. */
static void gemm_one_thread(bool transpose_a, bool transpose_b, int M, int N, int K,
                            real alpha, const real *A, int lda, const real *B, int ldb,
                            real beta, real *C, int ldc) {
    rntm_t serial = BLIS_RNTM_INITIALIZER;
    bli_rntm_set_num_threads(1, &serial);
    /* BLIS takes general strides: a row-major matrix has row stride = leading
     * dimension and column stride = 1, whether or not it is transposed. */
    trans_t ta = transpose_a ? BLIS_TRANSPOSE : BLIS_NO_TRANSPOSE;
    trans_t tb = transpose_b ? BLIS_TRANSPOSE : BLIS_NO_TRANSPOSE;
#ifdef BERT_DOUBLE
    bli_dgemm_ex(ta, tb, M, N, K, &alpha, (double *)A, lda, 1, (double *)B, ldb, 1,
                 &beta, C, ldc, 1, NULL, &serial);
#else
    bli_sgemm_ex(ta, tb, M, N, K, &alpha, (float *)A, lda, 1, (float *)B, ldb, 1,
                 &beta, C, ldc, 1, NULL, &serial);
#endif
}

static int runtime_threads = 1;

/* --precision bf16: the weights' bf16 copy, or none (f32 through BLIS). */
#ifndef BERT_DOUBLE
static Bf16Weights bf16_weights;
static bool bf16_on;
#endif

int gemm_use_bf16(const real *weights, const uint16_t *weights_bf16, long n, char *err, size_t err_len) {
#ifdef BERT_DOUBLE
    (void)weights; (void)weights_bf16; (void)n;
    snprintf(err, err_len, "--precision bf16 runs in the float build (./bert), not the double one");
    return -1;
#else
    if (!weights) {
        bf16_on = false;
        bf16_weights = (Bf16Weights){ 0 };
        return 0;
    }
    if (!bf16_cpu_supported()) {
        snprintf(err, err_len, "--precision bf16 needs a CPU with AVX512-BF16, and this one has none "
                 "(use --precision fp32)");
        return -1;
    }
    bf16_weights = (Bf16Weights){ weights, weights_bf16, n };
    bf16_on = true;
    return 0;
#endif
}

bool gemm_bf16_active(void) {
#ifdef BERT_DOUBLE
    return false;
#else
    return bf16_on;
#endif
}

void gemm_hold_operand(const real *X, int rows, int cols, int ld) {
#ifndef BERT_DOUBLE
    if (bf16_on) gemm_bf16_hold(X, rows, cols, ld);
#else
    (void)X; (void)rows; (void)cols; (void)ld;
#endif
}

void gemm_consume_operand(real *X, int rows, int cols) {
#ifndef BERT_DOUBLE
    if (bf16_on) gemm_bf16_hold_in_place(X, rows, cols);
#else
    (void)X; (void)rows; (void)cols;
#endif
}

void gemm_round_rows_in_place(real *X, int rows, int cols) {
#ifndef BERT_DOUBLE
    if (bf16_on) gemm_bf16_round_rows_in_place(X, rows, cols);
#else
    (void)X; (void)rows; (void)cols;
#endif
}

void gemm_hold_rounded(real *X, int rows, int cols) {
#ifndef BERT_DOUBLE
    if (bf16_on) gemm_bf16_hold_rounded_in_place(X, rows, cols);
#else
    (void)X; (void)rows; (void)cols;
#endif
}

void gemm_keep_operand(real *kept, const real *X, int rows, int cols, int ld) {
#ifndef BERT_DOUBLE
    if (bf16_on) bf16_convert_rows((uint16_t *)kept, ld, X, ld, rows, cols);
#else
    (void)kept; (void)X; (void)rows; (void)cols; (void)ld;
#endif
}

void gemm_hold_kept(const real *kept, int rows, int ld) {
#ifndef BERT_DOUBLE
    if (bf16_on) gemm_bf16_hold_copy(kept, rows, ld, (const uint16_t *)kept, ld);
#else
    (void)kept; (void)rows; (void)ld;
#endif
}

void gemm_release_operand(const real *X) {
#ifndef BERT_DOUBLE
    if (bf16_on) gemm_bf16_unhold(X);
#else
    (void)X;
#endif
}

/* Large products are split into one block of output columns (or rows, when
 * there are more rows than columns) per thread, each a single-threaded BLIS
 * product. That is one OpenMP barrier per product instead of BLIS's several
 * spinning barriers inside it, which matters when the cores are shared: a
 * spinning thread burns the time slice its partner needs (measured on 2
 * threads of the loaded 2-core build machine: a 1024³ sgemm 14 → 85 GFLOP/s,
 * a bert-mini training step 198 → 1180 tokens/s). Splitting the output
 * never splits a dot product, so every element is the same sum in the same
 * order for any thread count. */
void gemm(bool transpose_a, bool transpose_b, int M, int N, int K,
          real alpha, const real *A, int lda, const real *B, int ldb,
          real beta, real *C, int ldc) {
    if (M == 0 || N == 0) return;
#ifndef BERT_DOUBLE
    /* Mixed precision: oneDNN, which threads itself (on omp_get_max_threads,
     * or on the calling thread inside a parallel region). K = 0 leaves the
     * product to BLIS's definition (C = beta·C). */
    if (bf16_on && K > 0 && (beta == 0 || beta == 1)) {
        gemm_bf16_auto(&bf16_weights, transpose_a, transpose_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
        return;
    }
#endif
    int threads = runtime_threads;
    if ((long)M * N * K < GEMM_SERIAL_BELOW || threads == 1 || omp_in_parallel()) {
        gemm_one_thread(transpose_a, transpose_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
        return;
    }
    bool split_columns = N >= M;
    int extent = split_columns ? N : M;
    #pragma omp parallel num_threads(threads)
    {
        int t = omp_get_thread_num(), nt = omp_get_num_threads();
        /* block boundaries on multiples of 64, a multiple of BLIS's register tiles */
        int begin = (int)((long)extent * t / nt) & ~63, end = t == nt - 1 ? extent : (int)((long)extent * (t + 1) / nt) & ~63;
        if (end > begin) {
            if (split_columns)   /* columns begin..end of op(B) and C */
                gemm_one_thread(transpose_a, transpose_b, M, end - begin, K, alpha, A, lda,
                                transpose_b ? B + (long)begin * ldb : B + begin, ldb, beta, C + begin, ldc);
            else                 /* rows begin..end of op(A) and C */
                gemm_one_thread(transpose_a, transpose_b, end - begin, N, K, alpha,
                                transpose_a ? A + begin : A + (long)begin * lda, lda, B, ldb,
                                beta, C + (long)begin * ldc, ldc);
        }
    }
}

/* The bias is added after the product, in a pass over C while much of it
 * is still in cache. Writing the bias into C first and letting BLIS
 * accumulate onto it (β = 1) was slower: the microkernel then stalls on
 * reading every C tile from memory (bert-small's QKV product,
 * 4096×1536×512: 24.2 ms that way, 22.0 ms this way, 21.7 ms with no bias
 * at all). */
void gemm_bias(bool transpose_a, bool transpose_b, int M, int N, int K, const real *A, int lda,
               const real *B, int ldb, const real *bias, real *C, int ldc) {
    if (M == 0 || N == 0) return;
#ifndef BERT_DOUBLE
    if (bf16_on && K > 0) {
        gemm_bf16_auto_with_bias(&bf16_weights, transpose_a, transpose_b, M, N, K, A, lda, B, ldb, bias, C, ldc);
        return;
    }
#endif
    gemm(transpose_a, transpose_b, M, N, K, 1, A, lda, B, ldb, 0, C, ldc);
    #pragma omp parallel for schedule(static) if ((long)M * N >= PARALLEL_MIN_WORK)
    for (int m = 0; m < M; m++) {
        real *row = C + (long)m * ldc;
        #pragma omp simd
        for (int n = 0; n < N; n++) row[n] += bias[n];
    }
}

void bert_runtime_init(int threads) {
    /* BLIS 0.9 chooses kernels from the CPU brand string; under a hypervisor it
     * falls back to haswell (AVX2). Kernel set 0 is skx (AVX-512), ~1.5× faster
     * here. Must be set before BLIS initialises; an explicit setting wins. */
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f")) setenv("BLIS_ARCH_TYPE", "0", 0);
    if (threads <= 0) {
        /* All cores, shared among the ranks mpirun started on this machine,
         * so ranks × threads does not oversubscribe them. */
        threads = omp_get_num_procs();
        const char *local_ranks = getenv("OMPI_COMM_WORLD_LOCAL_SIZE");
        long ranks = local_ranks ? strtol(local_ranks, NULL, 10) : 1;
        if (ranks > 1) threads = threads / (int)ranks > 0 ? threads / (int)ranks : 1;
    }
    runtime_threads = threads;
    omp_set_num_threads(threads);
    bli_thread_set_num_threads(1);   /* gemm() does the splitting itself */
#ifdef __GLIBC__
    /* One malloc arena. bert.c allocates its buffers up front on the main
     * thread, so the worker threads allocate little: oneDNN's per-thread
     * scratchpads, and bf16 plans made inside attention's parallel heads.
     * With an arena per thread these cost a bf16 bert-mini step on 2
     * threads 3–13 MB more peak RSS, varying from run to run. With one
     * arena they cost nothing extra (523 MB every time), and the speed did
     * not change measurably. An explicit MALLOC_ARENA_MAX wins. */
    if (!getenv("MALLOC_ARENA_MAX")) mallopt(M_ARENA_MAX, 1);
#endif
}

int bert_threads(void) { return runtime_threads; }
