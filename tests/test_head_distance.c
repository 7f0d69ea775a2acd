/* test_head_distance.c — the Jensen–Shannon distance between attention
 * heads against values worked by hand (include/model/head_distance.h). */
#include <math.h>
#include "test_util.h"
#include "model/head_distance.h"

START_TEST(js_distance_by_hand) {
    real same[3] = { 0.2, 0.3, 0.5 }, one_hot_a[2] = { 1, 0 }, one_hot_b[2] = { 0, 1 }, half[2] = { 0.5, 0.5 };
    ck_assert_double_eq_tol(js_distance(same, same, 3), 0, 1e-12);
    ck_assert_double_eq_tol(js_distance(one_hot_a, one_hot_b, 2), 1, 1e-12);   /* disjoint support */
    /* p = (1, 0), q = (½, ½): m = (¾, ¼); JSD = ½ log₂(4/3) + ½ (½ log₂(2/3) + ½ log₂ 2) = 0.311278 */
    double jsd = 0.5 * log2(4.0 / 3) + 0.5 * (0.5 * log2(2.0 / 3) + 0.5);
    ck_assert_double_eq_tol(jsd, 0.3112781, 1e-7);
    ck_assert_double_eq_tol(js_distance(one_hot_a, half, 2), sqrt(jsd), 1e-6);
    ck_assert_double_eq_tol(js_distance(half, one_hot_a, 2), sqrt(jsd), 1e-6);     /* symmetric */
}
END_TEST

START_TEST(head_distance_averages_pairs_and_real_queries) {
    /* 3 heads, T = 2, query 1 masked: only row 0 of each head counts.
     * Row 0: head 0 (1, 0), head 1 (0, 1), head 2 (½, ½); pairs (0,1) = 1,
     * (0,2) = (1,2) = √0.311278. Row 1 holds garbage that must not count. */
    real probs[3 * 2 * 2] = { 1, 0, 9, 9,   0, 1, 9, 9,   0.5, 0.5, 9, 9 };
    int mask[2] = { 1, 0 };
    long terms = 0;
    double d = attention_head_distance(probs, mask, 3, 2, &terms);
    double half_dist = sqrt(0.5 * log2(4.0 / 3) + 0.5 * (0.5 * log2(2.0 / 3) + 0.5));
    ck_assert_int_eq(terms, 3);
    ck_assert_double_eq_tol(d, (1 + 2 * half_dist) / 3, 1e-6);
    /* one head: no pair, NaN */
    ck_assert(isnan(attention_head_distance(probs, mask, 1, 2, &terms)));
    ck_assert_int_eq(terms, 0);
}
END_TEST

Suite *head_distance_suite(void) {
    Suite *s = suite_create("head_distance");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, js_distance_by_hand);
    tcase_add_test(tc, head_distance_averages_pairs_and_real_queries);
    suite_add_tcase(s, tc);
    return s;
}
