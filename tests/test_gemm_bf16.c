/* test_gemm_bf16.c — f32 → bf16 conversion against a bit-level reference, and
 * oneDNN bf16 products against a double-precision sum of the same bf16
 * values, over every transpose, strided views and beta 0/1. Types are fixed
 * (bf16, float), so the f64 build runs the same checks. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "test_util.h"
#include "core/gemm_bf16.h"

static float f32_of(uint32_t u) { union { uint32_t u; float f; } v = { .u = u }; return v.f; }
static uint32_t bits_of(float f) { union { float f; uint32_t u; } v = { .f = f }; return v.u; }

#define SKIP_WITHOUT_BF16() \
    do { if (!bf16_cpu_supported()) { \
        fprintf(stderr, "gemm_bf16: skipped, this CPU lacks AVX512-BF16\n"); return; } } while (0)

START_TEST(bf16_rounds_to_nearest_even) {
    /* 1 + 2⁻⁸ is halfway between bf16 1 and 1 + 2⁻⁷: tie → even (1). */
    ck_assert_uint_eq(bf16_from_float(f32_of(0x3f808000u)), 0x3f80);
    /* 1 + 3·2⁻⁸ is halfway between 1 + 2⁻⁷ (odd) and 1 + 2⁻⁶: tie → 0x3f82. */
    ck_assert_uint_eq(bf16_from_float(f32_of(0x3f818000u)), 0x3f82);
    ck_assert_uint_eq(bf16_from_float(f32_of(0x3f808001u)), 0x3f81);   /* above the tie */
    ck_assert_uint_eq(bf16_from_float(f32_of(0x3f807fffu)), 0x3f80);   /* below the tie */
    ck_assert_uint_eq(bf16_from_float(-1.0f), 0xbf80);
    ck_assert_uint_eq(bf16_from_float(INFINITY), 0x7f80);
    ck_assert_uint_eq(bf16_from_float(-INFINITY), 0xff80);
    ck_assert_uint_eq(bf16_from_float(f32_of(0x7f7fffffu)), 0x7f80);   /* FLT_MAX rounds to inf */
    bf16 nan = bf16_from_float(f32_of(0x7f800001u));   /* a signalling NaN whose payload is all low bits */
    ck_assert(isnan(bf16_to_float(nan)));
    ck_assert_uint_eq(bf16_from_float(f32_of(0x00400000u)), 0);        /* subnormal → +0 */
    ck_assert_uint_eq(bf16_from_float(f32_of(0x80000001u)), 0x8000);   /* subnormal → −0 */
    ck_assert_float_eq(bf16_to_float(0x4049), 3.140625f);
}
END_TEST

START_TEST(bf16_vector_conversion_matches_scalar) {
    SKIP_WITHOUT_BF16();
    enum { n = 4096 + 7 };   /* a tail shorter than a vector too */
    static float src[n];
    static bf16 got[n];
    uint32_t u = 12345;
    for (int i = 0; i < n; i++) {
        u = u * 1664525u + 1013904223u;
        src[i] = f32_of(u);
        if (i % 97 == 0) src[i] = f32_of((u & 0xffff0000u) | 0x8000u);   /* exact ties */
        if (i % 101 == 0) src[i] = i % 2 ? INFINITY : -INFINITY;
    }
    bf16_convert(got, src, n);
    for (int i = 0; i < n; i++) {
        bf16 want = bf16_from_float(src[i]);
        if (isnan(src[i])) ck_assert_msg(isnan(bf16_to_float(got[i])), "element %d: NaN lost", i);
        else ck_assert_msg(got[i] == want, "element %d (0x%08x): 0x%04x, want 0x%04x", i,
                           bits_of(src[i]), got[i], want);
    }
}
END_TEST

/* C = alpha·op(A)·op(B) + beta·C on views with padding columns in every
 * operand, against a double sum of the same bf16 values. Accumulation is
 * f32, so the error bound is K·2⁻²⁴ relative to Σ|a·b| (plus rounding of C). */
static void check_product(bool ta, bool tb, int M, int N, int K, float alpha, float beta) {
    int ar = ta ? K : M, ac = ta ? M : K, br = tb ? N : K, bc = tb ? K : N;
    int lda = ac + 3, ldb = bc + 5, ldc = N + 2;
    bf16 *A = malloc(sizeof(bf16) * (size_t)ar * lda), *B = malloc(sizeof(bf16) * (size_t)br * ldb);
    float *C = malloc(sizeof(float) * (size_t)M * ldc), *C0 = malloc(sizeof(float) * (size_t)M * ldc);
    float *fa = malloc(sizeof(float) * (size_t)ar * lda), *fb = malloc(sizeof(float) * (size_t)br * ldb);
    uint32_t u = 777;
    for (int i = 0; i < ar * lda; i++) { u = u * 1664525u + 1013904223u; fa[i] = ((int)(u >> 8) % 2001 - 1000) / 250.0f; }
    for (int i = 0; i < br * ldb; i++) { u = u * 1664525u + 1013904223u; fb[i] = ((int)(u >> 8) % 2001 - 1000) / 333.0f; }
    bf16_convert_rows(A, lda, fa, lda, ar, lda);
    bf16_convert_rows(B, ldb, fb, ldb, br, ldb);
    for (int i = 0; i < M * ldc; i++) C[i] = C0[i] = (float)(i % 13) - 6;
    char err[256];
    GemmBf16Plan *p = gemm_bf16_plan_create(ta, tb, M, N, K, alpha, lda, ldb, beta, ldc, err, sizeof err);
    ck_assert_msg(p != NULL, "%s", err);
    gemm_bf16_run(p, A, B, C);
    for (int m = 0; m < M; m++) {
        for (int n = 0; n < ldc; n++) {
            if (n >= N) {   /* padding columns of C are never written */
                ck_assert_float_eq(C[m * ldc + n], C0[m * ldc + n]);
                continue;
            }
            double sum = 0, mag = 0;
            for (int k = 0; k < K; k++) {
                double a = bf16_to_float(ta ? A[k * lda + m] : A[m * lda + k]);
                double b = bf16_to_float(tb ? B[n * ldb + k] : B[k * ldb + n]);
                sum += a * b; mag += fabs(a * b);
            }
            double want = alpha * sum + beta * C0[m * ldc + n];
            double tol = (K + 2) * 6e-8 * (fabs(alpha) * mag + fabs(C0[m * ldc + n])) + 1e-30;
            ck_assert_msg(fabs(C[m * ldc + n] - want) <= tol,
                          "ta %d tb %d %dx%dx%d beta %g: C[%d,%d] = %.9g, want %.9g (tol %.3g)",
                          ta, tb, M, N, K, beta, m, n, C[m * ldc + n], want, tol);
        }
    }
    /* the plan runs again on the same buffers: beta 1 adds the product once more */
    gemm_bf16_run(p, A, B, C);
    gemm_bf16_plan_free(p);
    free(A); free(B); free(C); free(C0); free(fa); free(fb);
}

START_TEST(bf16_matmul_all_transposes_strided) {
    SKIP_WITHOUT_BF16();
    for (int ta = 0; ta < 2; ta++)
        for (int tb = 0; tb < 2; tb++)
            for (int beta = 0; beta < 2; beta++) {
                check_product(ta, tb, 37, 29, 53, 1, (float)beta);
                check_product(ta, tb, 64, 96, 128, 1, (float)beta);
            }
    check_product(false, true, 17, 23, 31, 0.125f, 0);   /* attention's 1/√d scale */
    check_product(true, false, 1, 1, 1, 1, 1);
}
END_TEST

/* The kernel each plan gets is the one measured fastest on this kind of
 * CPU (docs/bf16.md, "Which oneDNN kernel"): with AMX, oneDNN's AMX brgemm
 * (a fixed-shape primitive) for dense matrices; without AMX, and for
 * strided views on any CPU (oneDNN 2.6's brgemm matmul takes only dense
 * ones), its jit gemm (run-time dimensions). The shapes are bert-mini's at
 * batch 32 × 128: a linear layer's forward X[4096,256]·Wᵀ, dX = dY·W and
 * dW += dYᵀ·X (beta 1), and one head's attention scores Q·Kᵀ/√d read from
 * the [T, 3C] projections (row stride 768). */
START_TEST(bf16_plans_take_the_kernel_measured_fastest_on_this_cpu) {
    SKIP_WITHOUT_BF16();
    __builtin_cpu_init();
    const char *dense = __builtin_cpu_supports("amx-bf16") ? "brg:avx512_core_amx" : "gemm:jit";
    struct { bool ta, tb; int M, N, K; float alpha, beta; int lda, ldb, ldc; const char *want; } products[] = {
        { false, true, 4096, 1024, 256, 1, 0, 256, 256, 1024, dense },
        { false, false, 4096, 256, 1024, 1, 0, 1024, 256, 256, dense },
        { true, false, 1024, 256, 4096, 1, 1, 1024, 256, 256, dense },
        { false, true, 128, 128, 64, 0.125f, 0, 768, 768, 128, "gemm:jit" },
    };
    for (size_t i = 0; i < sizeof products / sizeof products[0]; i++) {
        char err[256];
        GemmBf16Plan *p = gemm_bf16_plan_create(products[i].ta, products[i].tb, products[i].M, products[i].N,
                                                products[i].K, products[i].alpha, products[i].lda, products[i].ldb,
                                                products[i].beta, products[i].ldc, err, sizeof err);
        ck_assert_msg(p != NULL, "%s", err);
        const char *kernel = gemm_bf16_plan_kernel(p);
        ck_assert_msg(strncmp(kernel, products[i].want, strlen(products[i].want)) == 0,
                      "product %zu: kernel %s, want %s…", i, kernel, products[i].want);
        gemm_bf16_plan_free(p);
    }
}
END_TEST

START_TEST(bf16_plan_rejects_bad_beta) {
    SKIP_WITHOUT_BF16();
    char err[256];
    ck_assert_ptr_null(gemm_bf16_plan_create(false, false, 4, 4, 4, 1, 4, 4, 0.5f, 4, err, sizeof err));
    ck_assert(strstr(err, "beta") != NULL);
}
END_TEST

/* gemm_bf16_hold / _hold_in_place change where an operand's bf16 copy
 * comes from, never its value: every product below must equal, bit for bit,
 * the same product with the operand rounded just before it. X is 70 × 1031
 * (a row longer than the in-place chunk of 1024, 70 rows so the in-place
 * conversion runs on the threads); the products read all of X, Xᵀ, and a
 * column block of X in place (row stride 1031), from the master and from
 * the threads of a parallel region (which see the master's holds). */
enum { HOLD_ROWS = 70, HOLD_COLS = 1031, HOLD_N = 24 };

static void held_products(const float *X, const float *W, const float *Wt, float *out) {
    /* out[0]: X·W[1031,24]; out[1]: Xᵀ·Wt[70,24]; out[2]: X[:, 100:164]·W[0:64, :] */
    float *o0 = out, *o1 = out + HOLD_ROWS * HOLD_N, *o2 = o1 + HOLD_COLS * HOLD_N;
    gemm_bf16_auto(NULL, false, false, HOLD_ROWS, HOLD_N, HOLD_COLS, 1, X, HOLD_COLS, W, HOLD_N, 0, o0, HOLD_N);
    gemm_bf16_auto(NULL, true, false, HOLD_COLS, HOLD_N, HOLD_ROWS, 1, X, HOLD_COLS, Wt, HOLD_N, 0, o1, HOLD_N);
    #pragma omp parallel for num_threads(2)
    for (int r = 0; r < 2; r++)   /* each thread its half of the rows */
        gemm_bf16_auto(NULL, false, false, HOLD_ROWS / 2, HOLD_N, 64, 1, X + (long)r * (HOLD_ROWS / 2) * HOLD_COLS + 100,
                       HOLD_COLS, W, HOLD_N, 0, o2 + r * (HOLD_ROWS / 2) * HOLD_N, HOLD_N);
}

START_TEST(bf16_held_operands_give_the_same_products) {
    SKIP_WITHOUT_BF16();
    const long nx = (long)HOLD_ROWS * HOLD_COLS, nout = (long)(HOLD_ROWS + HOLD_COLS + HOLD_ROWS) * HOLD_N;
    float *X = malloc(sizeof(float) * nx), *X_in_place = malloc(sizeof(float) * nx);
    float *W = malloc(sizeof(float) * HOLD_COLS * HOLD_N), *Wt = malloc(sizeof(float) * HOLD_ROWS * HOLD_N);
    float *want = malloc(sizeof(float) * nout), *got = malloc(sizeof(float) * nout);
    uint32_t u = 4242;
    for (long i = 0; i < nx; i++) { u = u * 1664525u + 1013904223u; X[i] = ((int)(u >> 8) % 20001 - 10000) / 3333.0f; }
    for (long i = 0; i < HOLD_COLS * HOLD_N; i++) { u = u * 1664525u + 1013904223u; W[i] = ((int)(u >> 8) % 2001 - 1000) / 777.0f; }
    for (long i = 0; i < HOLD_ROWS * HOLD_N; i++) { u = u * 1664525u + 1013904223u; Wt[i] = ((int)(u >> 8) % 2001 - 1000) / 555.0f; }
    memcpy(X_in_place, X, sizeof(float) * nx);
    held_products(X, W, Wt, want);

    /* a held copy, held twice (nested) and released twice */
    gemm_bf16_hold(X, HOLD_ROWS, HOLD_COLS, HOLD_COLS);
    gemm_bf16_hold(X, HOLD_ROWS, HOLD_COLS, HOLD_COLS);
    held_products(X, W, Wt, got);
    gemm_bf16_unhold(X);
    ck_assert_mem_eq(got, want, sizeof(float) * nout);
    /* still held once: poison X's f32 values, the products must not read them */
    for (long i = 0; i < nx; i++) X[i] = NAN;
    held_products(X, W, Wt, got);
    ck_assert_mem_eq(got, want, sizeof(float) * nout);
    gemm_bf16_unhold(X);

    /* rounded in place: the same products, and X's storage now holds each
     * row's bf16 values in its first half */
    gemm_bf16_hold_in_place(X_in_place, HOLD_ROWS, HOLD_COLS);
    held_products(X_in_place, W, Wt, got);
    ck_assert_mem_eq(got, want, sizeof(float) * nout);
    memcpy(X, X_in_place, sizeof(float) * nx);   /* X_in_place's bytes, for the check below */
    gemm_bf16_unhold(X_in_place);
    uint32_t v = 4242;
    for (int r = 0; r < HOLD_ROWS; r++) {
        const bf16 *row = (const bf16 *)(X + (long)r * HOLD_COLS);
        for (int c = 0; c < HOLD_COLS; c++) {
            v = v * 1664525u + 1013904223u;
            float x = ((int)(v >> 8) % 20001 - 10000) / 3333.0f;
            ck_assert_msg(row[c] == bf16_from_float(x), "row %d col %d: 0x%04x, want 0x%04x", r, c, row[c],
                          bf16_from_float(x));
        }
    }
    free(X); free(X_in_place); free(W); free(Wt); free(want); free(got);
}
END_TEST

/* A bias added inside the product (gemm_bf16_auto_with_bias, what a
 * linear layer's forward uses with bf16 products) gives the bits of the
 * product followed by a separate f32 "+ bias" pass: oneDNN adds it after the
 * sum over K. Shapes of a linear layer (Bᵀ, a weight [N,K]) and others, with
 * padding columns in C that must stay untouched. */
START_TEST(bf16_bias_in_the_product_is_the_product_plus_bias) {
    SKIP_WITHOUT_BF16();
    const int shapes[][4] = { { 96, 64, 32, 1 }, { 37, 29, 53, 1 }, { 4096 / 16, 768 / 4, 256, 1 }, { 50, 70, 90, 0 } };
    for (int s_i = 0; s_i < 4; s_i++) {
        int M = shapes[s_i][0], N = shapes[s_i][1], K = shapes[s_i][2];
        bool tb = shapes[s_i][3];
        int ldb = tb ? K : N, ldc = N + 3;
        float *A = malloc(sizeof(float) * (size_t)M * K), *B = malloc(sizeof(float) * (size_t)K * N);
        float *bias = malloc(sizeof(float) * (size_t)N);
        float *want = malloc(sizeof(float) * (size_t)M * ldc), *got = malloc(sizeof(float) * (size_t)M * ldc);
        uint32_t u = 99 + s_i;
        for (int i = 0; i < M * K; i++) { u = u * 1664525u + 1013904223u; A[i] = ((int)(u >> 8) % 2001 - 1000) / 250.0f; }
        for (int i = 0; i < K * N; i++) { u = u * 1664525u + 1013904223u; B[i] = ((int)(u >> 8) % 2001 - 1000) / 333.0f; }
        for (int i = 0; i < N; i++) { u = u * 1664525u + 1013904223u; bias[i] = ((int)(u >> 8) % 2001 - 1000) / 77.0f; }
        for (int i = 0; i < M * ldc; i++) want[i] = got[i] = -7.5f;
        gemm_bf16_auto(NULL, false, tb, M, N, K, 1, A, K, B, ldb, 0, want, ldc);
        for (int m = 0; m < M; m++)
            for (int n = 0; n < N; n++) want[m * ldc + n] += bias[n];
        gemm_bf16_auto_with_bias(NULL, false, tb, M, N, K, A, K, B, ldb, bias, got, ldc);
        ck_assert_msg(memcmp(got, want, sizeof(float) * (size_t)M * ldc) == 0, "%d×%d×%d (Bᵀ %d) differs", M, N, K, tb);
        free(A); free(B); free(bias); free(want); free(got);
    }
}
END_TEST

/* A B operand rounded for one product and larger than 2 MB as bf16 (a
 * forward-only model's MLM decoder reading the f32 word embeddings, V × C)
 * is rounded and multiplied a block of output columns at a time
 * (gemm_bf16.c BF16_CONVERTED_B_MAX_BYTES): the products, with and without
 * a bias, equal bit for bit those of the same operand held (one copy, one
 * product). B is read transposed, as the decoder does, [N = 40,000, K = 64]:
 * 5.1 MB as bf16, so three blocks, of 16,384, 16,384 and 7,232 columns. */
START_TEST(bf16_large_rounded_operand_is_multiplied_in_blocks_to_the_same_bits) {
    SKIP_WITHOUT_BF16();
    enum { M = 20, N = 40000, K = 64 };
    const int ldc = N + 5;
    float *A = malloc(sizeof(float) * M * K), *B = malloc(sizeof(float) * (size_t)N * K);
    float *bias = malloc(sizeof(float) * N);
    float *want = malloc(sizeof(float) * (size_t)M * ldc), *got = malloc(sizeof(float) * (size_t)M * ldc);
    uint32_t u = 777;
    for (int i = 0; i < M * K; i++) { u = u * 1664525u + 1013904223u; A[i] = ((int)(u >> 8) % 2001 - 1000) / 250.0f; }
    for (long i = 0; i < (long)N * K; i++) { u = u * 1664525u + 1013904223u; B[i] = ((int)(u >> 8) % 2001 - 1000) / 333.0f; }
    for (int i = 0; i < N; i++) { u = u * 1664525u + 1013904223u; bias[i] = ((int)(u >> 8) % 2001 - 1000) / 77.0f; }
    for (int with_bias = 0; with_bias <= 1; with_bias++) {
        for (long i = 0; i < (long)M * ldc; i++) want[i] = got[i] = -7.5f;
        gemm_bf16_hold(B, N, K, K);
        if (with_bias) gemm_bf16_auto_with_bias(NULL, false, true, M, N, K, A, K, B, K, bias, want, ldc);
        else gemm_bf16_auto(NULL, false, true, M, N, K, 1, A, K, B, K, 0, want, ldc);
        gemm_bf16_unhold(B);
        if (with_bias) gemm_bf16_auto_with_bias(NULL, false, true, M, N, K, A, K, B, K, bias, got, ldc);
        else gemm_bf16_auto(NULL, false, true, M, N, K, 1, A, K, B, K, 0, got, ldc);
        ck_assert_msg(memcmp(got, want, sizeof(float) * (size_t)M * ldc) == 0, "blocked product (bias %d) differs",
                      with_bias);
    }
    /* and not transposed, B [K, N] read a column block at a time */
    for (long i = 0; i < (long)M * ldc; i++) want[i] = got[i] = -7.5f;
    gemm_bf16_hold(B, K, N, N);
    gemm_bf16_auto(NULL, false, false, M, N, K, 1, A, K, B, N, 1, want, ldc);
    gemm_bf16_unhold(B);
    gemm_bf16_auto(NULL, false, false, M, N, K, 1, A, K, B, N, 1, got, ldc);
    ck_assert_msg(memcmp(got, want, sizeof(float) * (size_t)M * ldc) == 0, "blocked product of B [K, N] differs");
    free(A); free(B); free(bias); free(want); free(got);
}
END_TEST

Suite *gemm_bf16_suite(void) {
    Suite *s = suite_create("gemm_bf16");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, bf16_rounds_to_nearest_even);
    tcase_add_test(tc, bf16_vector_conversion_matches_scalar);
    tcase_add_test(tc, bf16_matmul_all_transposes_strided);
    tcase_add_test(tc, bf16_plans_take_the_kernel_measured_fastest_on_this_cpu);
    tcase_add_test(tc, bf16_plan_rejects_bad_beta);
    tcase_add_test(tc, bf16_held_operands_give_the_same_products);
    tcase_add_test(tc, bf16_bias_in_the_product_is_the_product_plus_bias);
    tcase_add_test(tc, bf16_large_rounded_operand_is_multiplied_in_blocks_to_the_same_bits);
    suite_add_tcase(s, tc);
    return s;
}
