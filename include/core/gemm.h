/* gemm.h — the one matrix multiply every layer uses, through BLIS.
 *
 * All matrices are row-major. op(X) is X or Xᵀ as the flag says; the stored
 * matrix is described by its pointer and leading dimension (row stride), so a
 * transposed operand is read in place, never copied.
 *
 *   C[M,N] = alpha · op(A)[M,K] · op(B)[K,N] + beta · C[M,N]
 *
 * Threads: a large product is split into bert_threads() blocks of output
 * columns (or rows), one single-threaded BLIS product per OpenMP thread; it
 * runs on one thread when it is small or when called inside an OpenMP
 * parallel region (then the caller's threads already occupy the cores; this
 * is how attention runs its per-(batch, head) products side by side). Each
 * output element is the same dot product for any thread count.
 */
#ifndef BERT_GEMM_H
#define BERT_GEMM_H

#include <stdbool.h>
#include "core/real.h"

void gemm(bool transpose_a, bool transpose_b, int M, int N, int K,
          real alpha, const real *A, int lda, const real *B, int ldb,
          real beta, real *C, int ldc);

/* Call once at program start, before any gemm: selects BLIS's AVX-512 kernels
 * when the CPU has them (BLIS reads the brand string, which virtual machines
 * hide) and sets the number of threads BLIS and OpenMP use (0 = all cores). */
void bert_runtime_init(int threads);

/* The thread count bert_runtime_init settled on. */
int bert_threads(void);

#endif
