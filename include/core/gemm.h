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

/* C[M,N] = op(A)[M,K] · op(B)[K,N] + bias[N], the bias added to every row
 * (a linear layer's forward). With f32 products the bias is added in a pass
 * over C after the product; with bf16 products inside the product (oneDNN's
 * bias argument), which saves that pass. The values are the same: the sum
 * over K first, then + bias, in f32. */
void gemm_bias(bool transpose_a, bool transpose_b, int M, int N, int K, const real *A, int lda,
               const real *B, int ldb, const real *bias, real *C, int ldc);

/* Mixed precision (--precision bf16, docs/bf16.md). From this call on,
 * every gemm() with beta 0 or 1 takes bf16 operands and accumulates in f32
 * (oneDNN, gemm_bf16.h): an operand inside weights[0..n) is read from
 * weights_bf16 at the same offset (the caller keeps that copy current), any
 * other is rounded to bf16 just before the product. weights NULL: back to
 * f32 products through BLIS. Returns −1 with a message in the double build
 * or on a CPU without AVX512-BF16. */
#include <stddef.h>
#include <stdint.h>
int gemm_use_bf16(const real *weights, const uint16_t *weights_bf16, long n, char *err, size_t err_len);
bool gemm_bf16_active(void);

/* For a matrix that several products read (a linear layer's incoming
 * gradient, read by both backward products): with bf16 products on, round
 * it to bf16 once for all of them, until gemm_release_operand(X); X must
 * not change meanwhile. gemm_consume_operand does it in X's own storage
 * when X's values are not needed again (X is then garbage as real numbers).
 * With f32 products both do nothing (gemm_bf16.h gemm_bf16_hold). */
void gemm_hold_operand(const real *X, int rows, int cols, int ld);
void gemm_consume_operand(real *X, int rows, int cols);
void gemm_release_operand(const real *X);

/* gemm_consume_operand split for a pass that writes X a block of rows at a
 * time: each block is rounded by gemm_round_rows_in_place right after it is
 * written, while it is in cache (safe inside a parallel loop), and
 * gemm_hold_rounded(X, …) then holds the whole of X, saving the separate
 * pass that would read X back from memory (docs/bf16.md, "Rounding in the
 * pass that writes"). With f32 products both do nothing. */
#define GEMM_ROUND_BLOCK_ROWS 16
void gemm_round_rows_in_place(real *X, int rows, int cols);
void gemm_hold_rounded(real *X, int rows, int cols);

/* A matrix a forward pass makes and its backward pass reads again, only
 * through products (docs/bf16.md, "Activations kept in bf16"). With bf16
 * products the model keeps it as bf16 alone: kept is an f32-sized buffer
 * (rows × ld reals) of which only the first half is ever written.
 * gemm_keep_operand rounds X (which may then be reused) into kept, row
 * stride ld; from gemm_hold_kept(kept, …) to gemm_release_operand(kept),
 * a product that reads a view inside kept reads that bf16 copy. kept's
 * values as reals are garbage, and nothing else may read them. Only for
 * bf16 products (gemm_bf16_active); with f32 products both do nothing. */
void gemm_keep_operand(real *kept, const real *X, int rows, int cols, int ld);
void gemm_hold_kept(const real *kept, int rows, int ld);

/* Call once at program start, before any gemm: selects BLIS's AVX-512 kernels
 * when the CPU has them (BLIS reads the brand string, which virtual machines
 * hide) and sets the number of threads BLIS and OpenMP use (0 = all cores). */
void bert_runtime_init(int threads);

/* The thread count bert_runtime_init settled on. */
int bert_threads(void);

#endif
