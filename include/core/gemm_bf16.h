/* gemm_bf16.h — bf16 matrix products through oneDNN, for --precision bf16.
 *
 * Same row-major, strided, transposed-in-place semantics as gemm():
 *
 *   C[M,N] = alpha · op(A)[M,K] · op(B)[K,N] + beta · C[M,N],   beta 0 or 1
 *
 * but A and B are bf16 (the upper 16 bits of an IEEE f32) and the products
 * accumulate and are written in f32. The types are fixed (uint16_t, float)
 * whatever `real` is, so the f64 build compiles and tests this file too.
 *
 * A GemmBf16Plan holds one oneDNN matmul primitive for one (shape, strides,
 * transposes, alpha, beta): create it where buffers are reserved, run it
 * any number of times on any pointers of that layout; running creates
 * nothing. oneDNN here is built on OpenMP (libgomp, the runtime bert.c uses)
 * and takes omp_get_max_threads() threads, the count bert_runtime_init set;
 * inside an OpenMP parallel region it runs on the calling thread. */
#ifndef BERT_GEMM_BF16_H
#define BERT_GEMM_BF16_H

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>

typedef uint16_t bf16;

/* True when the CPU executes AVX512-BF16 (the only bf16 path offered). */
bool bf16_cpu_supported(void);

/* f32 → bf16, round to nearest even. NaN stays NaN (quiet); f32 subnormals
 * become signed zero, as the AVX512-BF16 conversion instruction does. */
bf16 bf16_from_float(float x);
static inline float bf16_to_float(bf16 h) {
    union { uint32_t u; float f; } v = { .u = (uint32_t)h << 16 };
    return v.f;
}
/* dst[n] = bf16_from_float(src[n]), vectorised with AVX512-BF16. */
void bf16_convert(bf16 *dst, const float *src, size_t n);
/* The same over a rows × cols view with row stride ld_src (dst contiguous
 * with row stride ld_dst), for converting a strided activation view. */
void bf16_convert_rows(bf16 *dst, int ld_dst, const float *src, int ld_src, int rows, int cols);
/* bf16_convert spread over the threads in fixed blocks (each element is
 * rounded alone, so the bits do not depend on the thread count). */
void bf16_convert_parallel(bf16 *dst, const float *src, size_t n);

typedef struct GemmBf16Plan GemmBf16Plan;

/* NULL with a message in err when oneDNN has no implementation or the CPU
 * lacks AVX512-BF16. */
GemmBf16Plan *gemm_bf16_plan_create(bool transpose_a, bool transpose_b, int M, int N, int K,
                                    float alpha, int lda, int ldb, float beta, int ldc,
                                    char *err, size_t errlen);
void gemm_bf16_run(const GemmBf16Plan *plan, const bf16 *A, const bf16 *B, float *C);
/* oneDNN's name for the kernel the plan runs: "brg:avx512_core_amx_bf16"
 * (AMX, for a fixed shape) on a CPU with AMX, "gemm:jit" (run-time
 * dimensions) elsewhere (docs/bf16.md, "Which oneDNN kernel"). */
const char *gemm_bf16_plan_kernel(const GemmBf16Plan *plan);
void gemm_bf16_plan_free(GemmBf16Plan *plan);

/* ---- f32 matrices multiplied in bf16 ---------------------------------------------
 *
 * What gemm() runs under --precision bf16 (gemm.h gemm_use_bf16): the f32
 * product C = alpha·op(A)·op(B) + beta·C (beta 0 or 1) with both operands
 * rounded to bf16 and f32 accumulation. An operand that lies inside
 * weights->f32[0..n) is read from weights->bf16 at the same offset (the
 * copy refreshed once per optimizer step); any other is converted just
 * before the product (a B larger than 2 MB as bf16, a block of output
 * columns at a time, so its copy stays small). Plans are made the first
 * time a shape is met, per thread, and kept: from the second step on,
 * bert.c creates and allocates nothing. (oneDNN's jit gemm, which the
 * run-time-dimension plans of a CPU without AMX get, still allocates and frees its packing
 * buffers inside each call, about 40 of 1–10 MB in a bert-small step;
 * its scratchpad query reports 0 bytes for them, so a user-managed
 * scratchpad cannot take them over.) Safe to call from the threads of an
 * OpenMP parallel region. */
typedef struct {
    const float *f32;
    const bf16 *bf16;
    long n;
} Bf16Weights;

void gemm_bf16_auto(const Bf16Weights *weights, bool transpose_a, bool transpose_b, int M, int N, int K,
                    float alpha, const float *A, int lda, const float *B, int ldb, float beta, float *C, int ldc);
/* The same with bias[N] added to every row inside the product, in f32
 * after the sum over K (the product's values, then + bias): alpha 1, beta 0. */
void gemm_bf16_auto_with_bias(const Bf16Weights *weights, bool transpose_a, bool transpose_b, int M, int N, int K,
                              const float *A, int lda, const float *B, int ldb, const float *bias, float *C, int ldc);

/* Operands rounded once for several products. gemm_bf16_hold rounds the
 * rows × cols matrix x (row stride ld) into a buffer of the calling
 * thread's; until gemm_bf16_unhold(x), every gemm_bf16_auto that reads a
 * view inside x with the same row stride uses that copy instead of rounding
 * again: on every thread for a hold made outside parallel regions, on the
 * holding thread only for one made inside a parallel region. The
 * caller must not change x meanwhile. gemm_bf16_hold_in_place does the same
 * for a dead contiguous matrix whose f32 values are not needed again: each
 * row's bf16 copy overwrites the first half of the row, so no buffer is
 * needed. Holds nest (the same x held twice is released twice); at most
 * BF16_MAX_HELD (8) matrices per thread. */
void gemm_bf16_hold(const float *x, int rows, int cols, int ld);
void gemm_bf16_hold_in_place(float *x, int rows, int cols);
void gemm_bf16_unhold(const float *x);
/* gemm_bf16_hold_in_place in two steps, so that a pass which writes x can
 * round each block of rows while it is still in cache:
 * gemm_bf16_round_rows_in_place rounds rows (any thread, any block, no
 * state), and once every row is rounded gemm_bf16_hold_rounded_in_place
 * holds x as gemm_bf16_hold_in_place would. */
void gemm_bf16_round_rows_in_place(float *x, int rows, int cols);
void gemm_bf16_hold_rounded_in_place(float *x, int rows, int cols);
/* Holds x (rows with row stride ld) as the bf16 copy the caller made and
 * keeps: copy, row stride copy_ld (gemm.h gemm_hold_kept). */
void gemm_bf16_hold_copy(const float *x, int rows, int ld, const bf16 *copy, int copy_ld);

/* Frees every thread's plans and buffers (at exit, or between tests). */
void gemm_bf16_release(void);

#endif
