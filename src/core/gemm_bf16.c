/* gemm_bf16.c — f32 → bf16 conversion and bf16 × bf16 → f32 matrix products
 * through oneDNN's matmul primitive (C API, oneDNN 2.6). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <immintrin.h>
#include <omp.h>
#include <oneapi/dnnl/dnnl.h>
#include "core/gemm_bf16.h"

bool bf16_cpu_supported(void) {
    /* BERT_NO_BF16 set: behave as on a CPU without it (how the refusal is tested). */
    if (getenv("BERT_NO_BF16")) return false;
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512bf16");
}

bf16 bf16_from_float(float x) {
    union { float f; uint32_t u; } v = { .f = x };
    uint32_t u = v.u;
    if ((u & 0x7fffffffu) > 0x7f800000u) return (bf16)((u >> 16) | 0x40);   /* NaN, quieted */
    if ((u & 0x7f800000u) == 0) return (bf16)((u >> 16) & 0x8000);          /* ±0, subnormal */
    /* round to nearest, ties to even: add 0x7fff plus the kept lowest bit */
    return (bf16)((u + 0x7fffu + ((u >> 16) & 1)) >> 16);
}

__attribute__((target("avx512f,avx512bf16")))
static void convert_avx512bf16(bf16 *dst, const float *src, size_t n) {
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        __m512 lo = _mm512_loadu_ps(src + i), hi = _mm512_loadu_ps(src + i + 16);
        /* the second operand fills the low half of the result */
        __m512bh packed = _mm512_cvtne2ps_pbh(hi, lo);
        _mm512_storeu_si512((void *)(dst + i), (__m512i)packed);
    }
    for (; i < n; i++) dst[i] = bf16_from_float(src[i]);
}

void bf16_convert(bf16 *dst, const float *src, size_t n) {
    static int have = -1;
    if (have < 0) have = bf16_cpu_supported();
    if (have) { convert_avx512bf16(dst, src, n); return; }
    for (size_t i = 0; i < n; i++) dst[i] = bf16_from_float(src[i]);
}

void bf16_convert_rows(bf16 *dst, int ld_dst, const float *src, int ld_src, int rows, int cols) {
    #pragma omp parallel for schedule(static) if ((long)rows * cols >= (1L << 16))
    for (int r = 0; r < rows; r++)
        bf16_convert(dst + (long)r * ld_dst, src + (long)r * ld_src, (size_t)cols);
}

#define CONVERT_BLOCK (1L << 16)
void bf16_convert_parallel(bf16 *dst, const float *src, size_t n) {
    long blocks = (long)((n + CONVERT_BLOCK - 1) / CONVERT_BLOCK);
    #pragma omp parallel for schedule(static) if (blocks > 1)
    for (long b = 0; b < blocks; b++) {
        size_t i0 = (size_t)b * CONVERT_BLOCK, len = n - i0 < (size_t)CONVERT_BLOCK ? n - i0 : (size_t)CONVERT_BLOCK;
        bf16_convert(dst + i0, src + i0, len);
    }
}

/* One engine for the process, made on first use. Each plan has its own
 * in-order stream and memory objects, so plans of different threads (the
 * attention heads' products run side by side) never share state. */
static dnnl_engine_t engine;

struct GemmBf16Plan {
    dnnl_primitive_t primitive;
    dnnl_memory_t a, b, c, bias;   /* bias: NULL unless made with one */
    dnnl_stream_t stream;
    char kernel[64];               /* oneDNN's name for the implementation */
};

static bool ensure_engine(char *err, size_t errlen) {
    bool ok = true;
    #pragma omp critical(bert_dnnl_engine)
    if (!engine && dnnl_engine_create(&engine, dnnl_cpu, 0) != dnnl_success) {
        engine = NULL;
        ok = false;
    }
    if (!ok) snprintf(err, errlen, "oneDNN: cannot create the CPU engine");
    return ok;
}

/* Whether oneDNN implements the fixed-shape matmul DESC with its AMX brgemm kernel. */
static bool fixed_shape_is_amx(const dnnl_matmul_desc_t *desc, const_dnnl_primitive_attr_t attr) {
    dnnl_primitive_desc_t pd = NULL;
    const char *impl = NULL;
    bool amx = dnnl_primitive_desc_create(&pd, desc, attr, engine, NULL) == dnnl_success &&
               dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl) == dnnl_success && impl &&
               strncmp(impl, "brg:avx512_core_amx", strlen("brg:avx512_core_amx")) == 0;
    if (pd) dnnl_primitive_desc_destroy(pd);
    return amx;
}

static GemmBf16Plan *plan_create(bool transpose_a, bool transpose_b, int M, int N, int K, float alpha, int lda,
                                 int ldb, float beta, int ldc, bool with_bias, char *err, size_t errlen) {
    if (!bf16_cpu_supported()) {
        snprintf(err, errlen, "this CPU lacks AVX512-BF16, which --precision bf16 needs");
        return NULL;
    }
    if (M < 1 || N < 1 || K < 1 || (beta != 0 && beta != 1)) {
        snprintf(err, errlen, "bf16 product %d×%d×%d with beta %g: sizes must be ≥ 1 and beta 0 or 1", M, N, K, beta);
        return NULL;
    }
    if (!ensure_engine(err, errlen)) return NULL;
    /* A row-major matrix stored with leading dimension ld has strides
     * (ld, 1); read transposed in place, the same storage has (1, ld). */
    dnnl_dims_t a_dims = { M, K }, b_dims = { K, N }, c_dims = { M, N };
    dnnl_dims_t a_strides = { transpose_a ? 1 : lda, transpose_a ? lda : 1 };
    dnnl_dims_t b_strides = { transpose_b ? 1 : ldb, transpose_b ? ldb : 1 };
    dnnl_dims_t c_strides = { ldc, 1 };
    /* a bias is one f32 row, added to every row of the product */
    dnnl_dims_t bias_dims = { 1, N }, bias_strides = { N, 1 };
    dnnl_memory_desc_t a_md, b_md, c_md, bias_md;
    dnnl_matmul_desc_t desc;
    dnnl_primitive_attr_t attr = NULL;
    dnnl_post_ops_t ops = NULL;
    dnnl_primitive_desc_t pd = NULL;
    GemmBf16Plan *plan = calloc(1, sizeof *plan);
    bool ok = plan &&
        dnnl_memory_desc_init_by_strides(&a_md, 2, a_dims, dnnl_bf16, a_strides) == dnnl_success &&
        dnnl_memory_desc_init_by_strides(&b_md, 2, b_dims, dnnl_bf16, b_strides) == dnnl_success &&
        dnnl_memory_desc_init_by_strides(&c_md, 2, c_dims, dnnl_f32, c_strides) == dnnl_success &&
        dnnl_memory_desc_init_by_strides(&bias_md, 2, bias_dims, dnnl_f32, bias_strides) == dnnl_success &&
        dnnl_matmul_desc_init(&desc, &a_md, &b_md, with_bias ? &bias_md : NULL, &c_md) == dnnl_success &&
        dnnl_primitive_attr_create(&attr) == dnnl_success;
    /* alpha scales the product; beta = 1 is a sum post-op (C read, then added) */
    if (ok && alpha != 1) ok = dnnl_primitive_attr_set_output_scales(attr, 1, 0, &alpha) == dnnl_success;
    if (ok && beta == 1)
        ok = dnnl_post_ops_create(&ops) == dnnl_success && dnnl_post_ops_append_sum(ops, 1.0f) == dnnl_success &&
             dnnl_primitive_attr_set_post_ops(attr, ops) == dnnl_success;
    /* Which kernel: on a CPU with AMX (Sapphire Rapids and later) the
     * primitive is made for the fixed shape, which gets oneDNN's AMX brgemm
     * kernel: 1.4–2.3× its jit gemm on the shapes of bert-mini and
     * bert-small, one or two threads (docs/bf16.md, "Which oneDNN kernel").
     * Elsewhere it is described with run-time dimensions (DNNL_RUNTIME_DIM_VAL)
     * and the real strides, the memory objects carrying the real
     * dimensions: oneDNN then takes its jit gemm driver instead of the
     * avx512_core_bf16 brgemm it picks for a fixed shape, as fast on one
     * thread and up to 2× faster on two (Zen 5, 2048³, 2 threads: 790
     * against 370 GFLOP/s; that brgemm did not use the second core).
     * Run-time strides too gave oneDNN's reference loops; a plan whose
     * run-time form is refused or gets only those is made for the fixed shape. */
    bool runtime = ok && !fixed_shape_is_amx(&desc, attr);
    dnnl_memory_desc_t ra_md, rb_md, rc_md, rbias_md;
    dnnl_matmul_desc_t rdesc;
    dnnl_dims_t any = { DNNL_RUNTIME_DIM_VAL, DNNL_RUNTIME_DIM_VAL }, any_row = { 1, DNNL_RUNTIME_DIM_VAL };
    runtime = runtime &&
        dnnl_memory_desc_init_by_strides(&ra_md, 2, any, dnnl_bf16, a_strides) == dnnl_success &&
        dnnl_memory_desc_init_by_strides(&rb_md, 2, any, dnnl_bf16, b_strides) == dnnl_success &&
        dnnl_memory_desc_init_by_strides(&rc_md, 2, any, dnnl_f32, c_strides) == dnnl_success &&
        dnnl_memory_desc_init_by_strides(&rbias_md, 2, any_row, dnnl_f32, bias_strides) == dnnl_success &&
        dnnl_matmul_desc_init(&rdesc, &ra_md, &rb_md, with_bias ? &rbias_md : NULL, &rc_md) == dnnl_success &&
        dnnl_primitive_desc_create(&pd, &rdesc, attr, engine, NULL) == dnnl_success;
    if (runtime) {   /* oneDNN's reference loops are no use: then fixed */
        const char *impl = NULL;
        if (dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl) != dnnl_success ||
            !impl || strncmp(impl, "ref", 3) == 0) {
            dnnl_primitive_desc_destroy(pd);
            pd = NULL;
            runtime = false;
        }
    }
    if (ok && !runtime) ok = dnnl_primitive_desc_create(&pd, &desc, attr, engine, NULL) == dnnl_success;
    const char *kernel = NULL;
    if (ok && dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &kernel) == dnnl_success && kernel)
        snprintf(plan->kernel, sizeof plan->kernel, "%s", kernel);
    if (ok) ok = dnnl_primitive_create(&plan->primitive, pd) == dnnl_success &&
                 dnnl_stream_create(&plan->stream, engine, dnnl_stream_default_flags) == dnnl_success;
    if (ok) ok = dnnl_memory_create(&plan->a, &a_md, engine, DNNL_MEMORY_NONE) == dnnl_success &&
                 dnnl_memory_create(&plan->b, &b_md, engine, DNNL_MEMORY_NONE) == dnnl_success &&
                 dnnl_memory_create(&plan->c, &c_md, engine, DNNL_MEMORY_NONE) == dnnl_success &&
                 (!with_bias || dnnl_memory_create(&plan->bias, &bias_md, engine, DNNL_MEMORY_NONE) == dnnl_success);
    if (pd) dnnl_primitive_desc_destroy(pd);
    if (ops) dnnl_post_ops_destroy(ops);
    if (attr) dnnl_primitive_attr_destroy(attr);
    if (!ok) {
        snprintf(err, errlen, "oneDNN has no bf16 matmul for %d×%d×%d (transposes %d%d, ld %d %d %d%s)",
                 M, N, K, transpose_a, transpose_b, lda, ldb, ldc, with_bias ? ", with a bias" : "");
        gemm_bf16_plan_free(plan);
        return NULL;
    }
    return plan;
}

GemmBf16Plan *gemm_bf16_plan_create(bool transpose_a, bool transpose_b, int M, int N, int K,
                                    float alpha, int lda, int ldb, float beta, int ldc,
                                    char *err, size_t errlen) {
    return plan_create(transpose_a, transpose_b, M, N, K, alpha, lda, ldb, beta, ldc, false, err, errlen);
}

/* bias (N floats, added to every row) when the plan was made with one, else NULL */
static void run_with_bias(const GemmBf16Plan *plan, const bf16 *A, const bf16 *B, const float *bias, float *C) {
    dnnl_memory_set_data_handle(plan->a, (void *)A);
    dnnl_memory_set_data_handle(plan->b, (void *)B);
    dnnl_memory_set_data_handle(plan->c, C);
    dnnl_exec_arg_t args[4] = { { DNNL_ARG_SRC, plan->a }, { DNNL_ARG_WEIGHTS, plan->b }, { DNNL_ARG_DST, plan->c } };
    int n_args = 3;
    if (plan->bias) {
        if (!bias) {
            fprintf(stderr, "bert: a bf16 product planned with a bias was run without one\n");
            abort();
        }
        dnnl_memory_set_data_handle(plan->bias, (void *)bias);
        args[n_args++] = (dnnl_exec_arg_t){ DNNL_ARG_BIAS, plan->bias };
    }
    if (dnnl_primitive_execute(plan->primitive, plan->stream, n_args, args) != dnnl_success) {
        fprintf(stderr, "bert: oneDNN bf16 matmul failed to execute\n");
        abort();
    }
    dnnl_stream_wait(plan->stream);
}

const char *gemm_bf16_plan_kernel(const GemmBf16Plan *plan) {
    return plan->kernel;
}

void gemm_bf16_run(const GemmBf16Plan *plan, const bf16 *A, const bf16 *B, float *C) {
    run_with_bias(plan, A, B, NULL, C);
}

void gemm_bf16_plan_free(GemmBf16Plan *plan) {
    if (!plan) return;
    if (plan->a) dnnl_memory_destroy(plan->a);
    if (plan->b) dnnl_memory_destroy(plan->b);
    if (plan->c) dnnl_memory_destroy(plan->c);
    if (plan->bias) dnnl_memory_destroy(plan->bias);
    if (plan->primitive) dnnl_primitive_destroy(plan->primitive);
    if (plan->stream) dnnl_stream_destroy(plan->stream);
    free(plan);
}

/* ---- products of f32 matrices in bf16 (gemm_bf16_auto) ------------------------- */

typedef struct {
    bool transpose_a, transpose_b, with_bias;
    int M, N, K, lda, ldb, ldc;
    float alpha, beta;
} ProductShape;

typedef struct {
    ProductShape shape;
    GemmBf16Plan *plan;
} CachedPlan;

/* An operand rounded once for several products (gemm_bf16_hold): the f32
 * matrix at f32 with row stride ld, its bf16 copy at copy with row stride
 * copy_ld. A held copy has its own buffer (kept for the next hold), or lies
 * in the f32 matrix's own storage (in place: the f32 values are gone). */
typedef struct {
    const float *f32;
    long rows, ld;
    const bf16 *copy;
    long copy_ld;
    int count;            /* nested holds of the same matrix */
    bf16 *buffer;         /* this slot's own storage, reused */
    size_t buffer_cap;
} HeldOperand;

/* A layer's backward holds its kept activations (four) and, inside them,
 * an incoming gradient or two (gemm.h). */
#define BF16_MAX_HELD 8

/* Holds made outside any parallel region (the master's, between parallel
 * regions) are seen by every thread; a hold made inside one belongs to the
 * thread that made it and is seen by that thread only. So every list is
 * written by one thread while no other can read it. */
static HeldOperand shared_held[BF16_MAX_HELD];

/* What one thread keeps: its plans, one per shape met, and two conversion
 * buffers that grow to the largest operand and then stay. A thread only
 * touches its own (omp_get_thread_num(); the master is thread 0 inside and
 * outside a parallel region), so nothing is locked. */
typedef struct {
    CachedPlan *plans;
    int n_plans, cap_plans;
    bf16 *operand[2];
    size_t operand_cap[2];
    HeldOperand held[BF16_MAX_HELD];   /* holds made inside a parallel region */
} ThreadCache;

#define BF16_MAX_THREADS 1024
static ThreadCache thread_caches[BF16_MAX_THREADS];

static bool same_shape(const ProductShape *a, const ProductShape *b) {
    return a->transpose_a == b->transpose_a && a->transpose_b == b->transpose_b && a->with_bias == b->with_bias &&
           a->M == b->M && a->N == b->N &&
           a->K == b->K && a->lda == b->lda && a->ldb == b->ldb && a->ldc == b->ldc && a->alpha == b->alpha &&
           a->beta == b->beta;
}

static void fail(const char *what) {
    fprintf(stderr, "bert: bf16 product: %s\n", what);
    abort();
}

static const GemmBf16Plan *plan_for(ThreadCache *tc, const ProductShape *shape) {
    /* The most recent first: a layer's products repeat in the same order. */
    for (int i = tc->n_plans - 1; i >= 0; i--)
        if (same_shape(&tc->plans[i].shape, shape)) return tc->plans[i].plan;
    char err[256];
    GemmBf16Plan *plan = plan_create(shape->transpose_a, shape->transpose_b, shape->M, shape->N, shape->K,
                                     shape->alpha, shape->lda, shape->ldb, shape->beta, shape->ldc, shape->with_bias,
                                     err, sizeof err);
    if (!plan) fail(err);
    if (tc->n_plans == tc->cap_plans) {
        int cap = tc->cap_plans ? 2 * tc->cap_plans : 64;
        CachedPlan *grown = realloc(tc->plans, sizeof *grown * (size_t)cap);
        if (!grown) fail("out of memory for the plan cache");
        tc->plans = grown;
        tc->cap_plans = cap;
    }
    tc->plans[tc->n_plans++] = (CachedPlan){ *shape, plan };
    return plan;
}

/* The copy in list[BF16_MAX_HELD] of a view at x with row stride ld, or NULL. */
static const bf16 *held_view(const HeldOperand *list, const float *x, int ld, int *ld_out) {
    for (int i = 0; i < BF16_MAX_HELD; i++) {
        const HeldOperand *h = &list[i];
        if (!h->count || x < h->f32 || x >= h->f32 + h->rows * h->ld) continue;
        if (ld != h->ld) {
            if (h->copy == (const bf16 *)h->f32) fail("a matrix rounded in place was read with another row stride");
            return NULL;
        }
        long offset = x - h->f32, row = offset / h->ld, col = offset % h->ld;
        *ld_out = (int)h->copy_ld;
        return h->copy + row * h->copy_ld + col;
    }
    return NULL;
}

/* op(X) stored as rows × cols with row stride ld, as bf16: the weights'
 * copy when X lies in them (same offsets, same stride), a held copy (this
 * thread's, or one made outside parallel regions), else converted into the
 * thread's buffer `which` (contiguous: *ld_out = cols). */
static const bf16 *as_bf16(ThreadCache *tc, int which, const Bf16Weights *w, const float *x, int ld, int rows,
                           int cols, int *ld_out) {
    if (w && x >= w->f32 && x < w->f32 + w->n) {
        *ld_out = ld;
        return w->bf16 + (x - w->f32);
    }
    const bf16 *held = held_view(tc->held, x, ld, ld_out);
    if (!held) held = held_view(shared_held, x, ld, ld_out);
    if (held) return held;
    size_t need = (size_t)rows * (size_t)cols;
    if (need > tc->operand_cap[which]) {
        free(tc->operand[which]);
        tc->operand[which] = malloc(sizeof(bf16) * need);
        if (!tc->operand[which]) fail("out of memory for an operand");
        tc->operand_cap[which] = need;
    }
    bf16_convert_rows(tc->operand[which], cols, x, ld, rows, cols);
    *ld_out = cols;
    return tc->operand[which];
}

static ThreadCache *this_thread_cache(void) {
    int t = omp_get_thread_num();
    if (t >= BF16_MAX_THREADS) fail("too many threads");
    return &thread_caches[t];
}

/* The bf16 bytes of a B operand rounded for one product at most: a larger
 * one (a forward-only model's MLM decoder reads the f32 word embeddings,
 * V × C, gemm.h) is rounded and multiplied a block of output columns at a
 * time, so no V × C copy is made. Each output element is the same sum. */
#define BF16_CONVERTED_B_MAX_BYTES (2L << 20)

static bool in_held(const HeldOperand *list, const float *x) {
    for (int i = 0; i < BF16_MAX_HELD; i++)
        if (list[i].count && x >= list[i].f32 && x < list[i].f32 + list[i].rows * list[i].ld) return true;
    return false;
}

/* Whether x is read from a bf16 copy (the weights' or a held one) rather than rounded now. */
static bool is_copied(const ThreadCache *tc, const Bf16Weights *w, const float *x) {
    return (w && x >= w->f32 && x < w->f32 + w->n) || in_held(tc->held, x) || in_held(shared_held, x);
}

static void product(const Bf16Weights *weights, bool transpose_a, bool transpose_b, int M, int N, int K,
                    float alpha, const float *A, int lda, const float *B, int ldb, float beta, const float *bias,
                    float *C, int ldc) {
    ThreadCache *tc = this_thread_cache();
    int a_ld, b_ld;
    const bf16 *a = as_bf16(tc, 0, weights, A, lda, transpose_a ? K : M, transpose_a ? M : K, &a_ld);
    int block = N;
    if ((long)K * N * (long)sizeof(bf16) > BF16_CONVERTED_B_MAX_BYTES && !is_copied(tc, weights, B))
        block = (int)(BF16_CONVERTED_B_MAX_BYTES / ((long)K * (long)sizeof(bf16)) / 64 * 64);
    if (block < 64) block = N;
    for (int j = 0; j < N; j += block) {
        int n = N - j < block ? N - j : block;
        /* columns j.. of op(B): rows j.. of a transposed B, else columns j.. */
        const float *b_block = transpose_b ? B + (long)j * ldb : B + j;
        const bf16 *b = as_bf16(tc, 1, weights, b_block, ldb, transpose_b ? n : K, transpose_b ? K : n, &b_ld);
        ProductShape shape = { transpose_a, transpose_b, bias != NULL, M, n, K, a_ld, b_ld, ldc, alpha, beta };
        run_with_bias(plan_for(tc, &shape), a, b, bias ? bias + j : NULL, C + j);
    }
}

void gemm_bf16_auto(const Bf16Weights *weights, bool transpose_a, bool transpose_b, int M, int N, int K,
                    float alpha, const float *A, int lda, const float *B, int ldb, float beta, float *C, int ldc) {
    product(weights, transpose_a, transpose_b, M, N, K, alpha, A, lda, B, ldb, beta, NULL, C, ldc);
}

void gemm_bf16_auto_with_bias(const Bf16Weights *weights, bool transpose_a, bool transpose_b, int M, int N, int K,
                              const float *A, int lda, const float *B, int ldb, const float *bias, float *C, int ldc) {
    product(weights, transpose_a, transpose_b, M, N, K, 1, A, lda, B, ldb, 0, bias, C, ldc);
}

/* The list a hold made here goes to. */
static HeldOperand *hold_list(void) {
    return omp_in_parallel() ? this_thread_cache()->held : shared_held;
}

/* A free slot, or the one already holding X (counted again). */
static HeldOperand *hold_slot(HeldOperand *list, const float *x, bool *already) {
    HeldOperand *free_slot = NULL;
    for (int i = 0; i < BF16_MAX_HELD; i++) {
        HeldOperand *h = &list[i];
        if (h->count && h->f32 == x) { *already = true; return h; }
        if (!h->count && !free_slot) free_slot = h;
    }
    if (!free_slot) fail("more operands held at once than BF16_MAX_HELD");
    *already = false;
    return free_slot;
}

void gemm_bf16_hold(const float *x, int rows, int cols, int ld) {
    bool already;
    HeldOperand *h = hold_slot(hold_list(), x, &already);
    if (already) { h->count++; return; }
    /* the copy keeps X's row stride, so a view's offset maps unchanged */
    size_t need = (size_t)rows * (size_t)ld;
    if (need > h->buffer_cap) {
        free(h->buffer);
        h->buffer = malloc(sizeof(bf16) * need);
        if (!h->buffer) fail("out of memory for a held operand");
        h->buffer_cap = need;
    }
    bf16_convert_rows(h->buffer, ld, x, ld, rows, cols);
    *h = (HeldOperand){ x, rows, ld, h->buffer, ld, 1, h->buffer, h->buffer_cap };
}

/* Row r's bf16 values go to the first half of row r's own bytes, so rows
 * convert independently (in parallel). Within a row, a chunk of elements
 * [s, s+n) is converted into a stack buffer and then copied to bytes
 * [2s, 2s+2n): those held f32 elements [s/2, s/2+n/2), all before s+n, so
 * all already read. */
#define IN_PLACE_CHUNK 1024
void gemm_bf16_round_rows_in_place(float *x, int rows, int cols) {
    for (int r = 0; r < rows; r++) {
        float *row = x + (long)r * cols;
        unsigned char *dst = (unsigned char *)row;
        bf16 chunk[IN_PLACE_CHUNK];
        for (int start = 0; start < cols; start += IN_PLACE_CHUNK) {
            int n = cols - start < IN_PLACE_CHUNK ? cols - start : IN_PLACE_CHUNK;
            bf16_convert(chunk, row + start, (size_t)n);
            memcpy(dst + sizeof(bf16) * (size_t)start, chunk, sizeof(bf16) * (size_t)n);
        }
    }
}

void gemm_bf16_hold_rounded_in_place(float *x, int rows, int cols) {
    bool already;
    HeldOperand *h = hold_slot(hold_list(), x, &already);
    if (already) fail("a held matrix was held again in place");
    *h = (HeldOperand){ x, rows, cols, (const bf16 *)x, 2L * cols, 1, h->buffer, h->buffer_cap };
}

void gemm_bf16_hold_in_place(float *x, int rows, int cols) {
    #pragma omp parallel for schedule(static) if ((long)rows * cols >= (1L << 16))
    for (int r = 0; r < rows; r++) gemm_bf16_round_rows_in_place(x + (long)r * cols, 1, cols);
    gemm_bf16_hold_rounded_in_place(x, rows, cols);
}

void gemm_bf16_hold_copy(const float *x, int rows, int ld, const bf16 *copy, int copy_ld) {
    bool already;
    HeldOperand *h = hold_slot(hold_list(), x, &already);
    if (already) { h->count++; return; }
    *h = (HeldOperand){ x, rows, ld, copy, copy_ld, 1, h->buffer, h->buffer_cap };
}

void gemm_bf16_unhold(const float *x) {
    HeldOperand *list = hold_list();
    for (int i = 0; i < BF16_MAX_HELD; i++) {
        HeldOperand *h = &list[i];
        if (h->count && h->f32 == x) { h->count--; return; }
    }
    fail("released an operand that was not held (or held in another parallel region)");
}

void gemm_bf16_release(void) {
    for (int t = 0; t < BF16_MAX_THREADS; t++) {
        ThreadCache *tc = &thread_caches[t];
        for (int i = 0; i < tc->n_plans; i++) gemm_bf16_plan_free(tc->plans[i].plan);
        free(tc->plans);
        free(tc->operand[0]);
        free(tc->operand[1]);
        for (int i = 0; i < BF16_MAX_HELD; i++) free(tc->held[i].buffer);
        memset(tc, 0, sizeof *tc);
    }
    for (int i = 0; i < BF16_MAX_HELD; i++) free(shared_held[i].buffer);
    memset(shared_held, 0, sizeof shared_held);
}
