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

START_TEST(bf16_plan_rejects_bad_beta) {
    SKIP_WITHOUT_BF16();
    char err[256];
    ck_assert_ptr_null(gemm_bf16_plan_create(false, false, 4, 4, 4, 1, 4, 4, 0.5f, 4, err, sizeof err));
    ck_assert(strstr(err, "beta") != NULL);
}
END_TEST

Suite *gemm_bf16_suite(void) {
    Suite *s = suite_create("gemm_bf16");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, bf16_rounds_to_nearest_even);
    tcase_add_test(tc, bf16_vector_conversion_matches_scalar);
    tcase_add_test(tc, bf16_matmul_all_transposes_strided);
    tcase_add_test(tc, bf16_plan_rejects_bad_beta);
    suite_add_tcase(s, tc);
    return s;
}
