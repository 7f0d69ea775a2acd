/* test_dropout.c — dropout: identities, kept fraction, exact scaling, masks
 * that depend only on the key, finite differences. */
#include <omp.h>
#include <stdlib.h>
#include <string.h>
#include "test_util.h"
#include "layers/dropout.h"
#include "core/gemm.h"
#include "core/rng.h"

enum { BIG = 100000 };

static real *ramp(long n) {
    real *x = malloc(sizeof(real) * (size_t)n);
    for (long i = 0; i < n; i++) x[i] = (real)(i % 97) - 48;
    return x;
}

START_TEST(dropout_identity_when_p_zero_or_not_training) {
    real *x = ramp(1000), *y = malloc(sizeof(real) * 1000);
    uint8_t *mask = malloc(1000);
    int wrong = 0;
    dropout_forward(y, mask, x, 0, 42, 1000, true);
    for (int i = 0; i < 1000; i++) wrong += y[i] != x[i] || mask[i] != 1;
    ck_assert_int_eq(wrong, 0);
    dropout_forward(y, mask, x, (real)0.5, 42, 1000, false);
    for (int i = 0; i < 1000; i++) wrong += y[i] != x[i] || mask[i] != 1;
    ck_assert_int_eq(wrong, 0);
    free(x); free(y); free(mask);
}
END_TEST

START_TEST(dropout_kept_fraction_and_exact_scale) {
    /* Each element is kept with probability 1 − p; over 10^5 elements the
     * fraction's standard deviation is √(p(1−p)/10^5) ≈ 0.0014, so 1 % of
     * 1 − p is > 5 standard deviations. Kept values are inp · 1/(1 − p). */
    real ps[2] = { (real)0.25, (real)0.1 };
    real *x = malloc(sizeof(real) * BIG), *y = malloc(sizeof(real) * BIG);
    uint8_t *mask = malloc(BIG);
    for (long i = 0; i < BIG; i++) x[i] = 1;
    for (int k = 0; k < 2; k++) {
        real p = ps[k], scale = 1 / (1 - p);
        dropout_forward(y, mask, x, p, 2024 + k, BIG, true);
        long kept = 0, wrong = 0;
        for (long i = 0; i < BIG; i++) {
            kept += mask[i];
            wrong += y[i] != (mask[i] ? scale : 0);
        }
        ck_assert_msg(wrong == 0, "%ld outputs are neither 0 nor exactly 1/(1 - p)", wrong);
        double fraction = (double)kept / BIG;
        ck_assert_msg(fabs(fraction - (1 - p)) < 0.01 * (1 - p),
                      "kept fraction %.4f, expected %.4f", fraction, 1 - (double)p);
    }
    /* p = ½: the scale is exactly 2 */
    real *r = ramp(BIG);
    dropout_forward(y, mask, r, (real)0.5, 9, BIG, true);
    long wrong = 0;
    for (long i = 0; i < BIG; i++) wrong += y[i] != (mask[i] ? 2 * r[i] : 0);
    ck_assert_int_eq(wrong, 0);
    free(x); free(y); free(r); free(mask);
}
END_TEST

START_TEST(dropout_mask_depends_only_on_key) {
    uint8_t *m1 = malloc(BIG), *m2 = malloc(BIG), *m3 = malloc(BIG);
    real *x = ramp(BIG), *y = malloc(sizeof(real) * BIG);
    omp_set_num_threads(1);
    dropout_forward(y, m1, x, (real)0.25, 77, BIG, true);
    omp_set_num_threads(2);
    dropout_forward(y, m2, x, (real)0.25, 77, BIG, true);
    dropout_forward(y, m3, x, (real)0.25, 78, BIG, true);
    omp_set_num_threads(bert_threads());
    ck_assert(memcmp(m1, m2, BIG) == 0);      /* same key, 1 vs 2 threads */
    long differ = 0;
    for (long i = 0; i < BIG; i++) differ += m1[i] != m3[i];
    /* independent masks disagree with probability 2p(1−p) = 0.375 per element */
    ck_assert_msg(differ > BIG / 4, "keys 77 and 78 give masks differing in only %ld places", differ);
    /* and in place: out may equal inp */
    real *z = ramp(BIG);
    dropout_forward(z, m3, z, (real)0.25, 77, BIG, true);
    dropout_forward(y, m1, x, (real)0.25, 77, BIG, true);
    ck_assert(memcmp(z, y, sizeof(real) * BIG) == 0);
    free(m1); free(m2); free(m3); free(x); free(y); free(z);
}
END_TEST

START_TEST(dropout_backward_by_hand_accumulates) {
    /* p = ½: dinp = 1 + dout · mask · 2 */
    uint8_t mask[4] = { 1, 0, 1, 0 };
    real dout[4] = { 1, 2, 3, 4 }, dinp[4] = { 1, 1, 1, 1 };
    dropout_backward(dinp, dout, mask, (real)0.5, 4);
    real want[4] = { 3, 1, 7, 1 };
    for (int i = 0; i < 4; i++) ck_assert_near(dinp[i], want[i], 0);
    /* training off: p = 0, mask all ones, gradient passes unchanged */
    uint8_t ones[4] = { 1, 1, 1, 1 };
    dropout_backward(dinp, dout, ones, 0, 4);
    for (int i = 0; i < 4; i++) ck_assert_near(dinp[i], want[i] + dout[i], 0);
}
END_TEST

/* dropout.h's rule is rng_uniform_at(key, i) < p; the layers test it as
 * rng_bits_at(key, i) < rng_threshold(p). The two must agree for every k and
 * p: checked at the boundary k values around p·2⁵³, for p in float and
 * double, and on a million draws of the real stream. */
START_TEST(dropout_integer_threshold_equals_uniform_test) {
    const double ps[] = { 0, 1e-9, 0.1, (float)0.1, 0.25, 0.5, (float)(1.0 / 3), 0.9, 1 };
    for (size_t n = 0; n < sizeof ps / sizeof ps[0]; n++) {
        double p = ps[n];
        uint64_t t = rng_threshold(p);
        uint64_t k0 = (uint64_t)(p * 0x1.0p53);
        for (uint64_t k = k0 > 2 ? k0 - 2 : 0; k <= k0 + 2 && k < (1ULL << 53); k++)
            ck_assert_int_eq(k < t, (double)k * 0x1.0p-53 < p);
        long disagreements = 0;   /* counted, then asserted once: Check's asserts are slow */
        for (uint64_t i = 0; i < 1000000; i += n + 1)
            disagreements += (rng_bits_at(77, i) < t) != (rng_uniform_at(77, i) < p);
        ck_assert_int_eq(disagreements, 0);
    }
}
END_TEST

START_TEST(dropout_gradcheck) { assert_gradcheck_passes("dropout"); }
END_TEST

/* The row helpers attention.c calls: elements first .. first + n − 1 of a
 * dropout_forward call, computed alone, are the same bits (mask and output),
 * also in place; dropout_row_backward assigning is 0 where dropped and
 * dy · scale where kept, accumulating adds only where kept, and in place
 * (dx == dy) is the same as into another buffer. */
START_TEST(dropout_row_helpers_are_slices_of_the_layer) {
    enum { N = 1000, FIRST = 337, LEN = 101 };
    const real p = (real)0.3;
    const uint64_t key = 99;
    real inp[N], out[N], row[LEN], in_place[LEN];
    uint8_t mask[N], row_mask[LEN];
    for (int i = 0; i < N; i++) inp[i] = (real)(i % 17) - 8;
    dropout_forward(out, mask, inp, p, key, N, true);
    real scale = dropout_keep_scale(p);
    ck_assert_near(scale, 1 / (1 - 0.3), REAL_TOL);
    dropout_row_forward(row, row_mask, inp + FIRST, LEN, scale, rng_threshold(p), key, FIRST);
    ck_assert_mem_eq(row_mask, mask + FIRST, LEN);
    ck_assert_mem_eq(row, out + FIRST, sizeof row);
    memcpy(in_place, inp + FIRST, sizeof in_place);
    dropout_row_forward(in_place, row_mask, in_place, LEN, scale, rng_threshold(p), key, FIRST);
    ck_assert_mem_eq(in_place, row, sizeof row);
    ck_assert(dropout_keep_scale(1) == 0);

    real dy[LEN], assigned[LEN], onto[LEN], same[LEN];
    for (int i = 0; i < LEN; i++) { dy[i] = (real)i - 50; onto[i] = 7; }
    dropout_row_backward(assigned, dy, row_mask, scale, LEN, false);
    dropout_row_backward(onto, dy, row_mask, scale, LEN, true);
    int kept = 0;
    for (int i = 0; i < LEN; i++) {
        kept += row_mask[i];
        ck_assert(assigned[i] == (row_mask[i] ? dy[i] * scale : 0));
        ck_assert_near(onto[i], row_mask[i] ? 7 + (double)dy[i] * scale : 7, REAL_TOL * 100);   /* may be fused (FMA) */
    }
    ck_assert_msg(kept > 0 && kept < LEN, "%d of %d kept: the test needs both", kept, LEN);
    memcpy(same, dy, sizeof dy);
    dropout_row_backward(same, same, row_mask, scale, LEN, false);
    ck_assert_mem_eq(same, assigned, sizeof assigned);
}
END_TEST

Suite *dropout_suite(void) {
    Suite *s = suite_create("dropout");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, dropout_identity_when_p_zero_or_not_training);
    tcase_add_test(tc, dropout_kept_fraction_and_exact_scale);
    tcase_add_test(tc, dropout_mask_depends_only_on_key);
    tcase_add_test(tc, dropout_backward_by_hand_accumulates);
    tcase_add_test(tc, dropout_integer_threshold_equals_uniform_test);
    tcase_add_test(tc, dropout_row_helpers_are_slices_of_the_layer);
    tcase_add_test(tc, dropout_gradcheck);
    suite_add_tcase(s, tc);
    return s;
}
