/* test_cross_entropy.c — cross-entropy: uniform logits, a 2-class case by
 * hand, ignored rows, stability, in-place backward, finite differences. */
#include <omp.h>
#include <stdlib.h>
#include <string.h>
#include "core/gemm.h"
#include "core/rng.h"
#include "test_util.h"
#include "layers/cross_entropy.h"

START_TEST(cross_entropy_uniform_logits_is_log_v) {
    /* equal logits ⇒ p = 1/V everywhere ⇒ −log p = ln V for any target */
    enum { N = 3, V = 10 };
    real logits[N * V], probs[N * V];
    for (int i = 0; i < N * V; i++) logits[i] = 2.5;
    int targets[N] = { 0, 9, 4 }, count = -1;
    real loss = cross_entropy_forward(probs, NULL, logits, NULL, targets, N, V, &count);
    ck_assert_int_eq(count, 3);
    ck_assert_near(loss, log(10.0), REAL_TOL);
    for (int i = 0; i < N * V; i++) ck_assert_near(probs[i], 0.1, REAL_TOL);
}
END_TEST

START_TEST(cross_entropy_two_classes_by_hand) {
    /* Row 0: logits [0, ln 3] ⇒ p = [¼, ¾], target 1 ⇒ −ln ¾.
     * Row 1: ignored.  Row 2: logits [ln 3, 0], target 1 ⇒ p = [¾, ¼], −ln ¼.
     * loss = (ln 4/3 + ln 4)/2; with dloss = 2 the backward scale is 2/2 = 1:
     * dlogits row 0 = [¼, ¾ − 1], row 2 = [¾, ¼ − 1], row 1 untouched (stays 10). */
    real l3 = (real)log(3.0);
    real logits[6] = { 0, l3, 5, -5, l3, 0 }, probs[6], dlogits[6];
    int targets[3] = { 1, IGNORE_INDEX, 1 }, count;
    real loss = cross_entropy_forward(probs, NULL, logits, NULL, targets, 3, 2, &count);
    ck_assert_int_eq(count, 2);
    ck_assert_near(loss, (log(4.0 / 3.0) + log(4.0)) / 2, REAL_TOL);
    for (int i = 0; i < 6; i++) dlogits[i] = 10;
    cross_entropy_backward(dlogits, probs, targets, 2, 3, 2);
    real want[6] = { 10.25, 10 - 0.25, 10, 10, 10.75, 10 - 0.75 };
    for (int i = 0; i < 6; i++) ck_assert_near(dlogits[i], want[i], 10 * REAL_TOL);
}
END_TEST

START_TEST(cross_entropy_all_ignored_is_zero) {
    real logits[6] = { 1, 2, 3, 4, 5, 6 }, probs[6], dlogits[6] = { 0 };
    int targets[2] = { IGNORE_INDEX, IGNORE_INDEX }, count = -1;
    real loss = cross_entropy_forward(probs, NULL, logits, NULL, targets, 2, 3, &count);
    ck_assert_int_eq(count, 0);
    ck_assert(loss == 0);
    cross_entropy_backward(dlogits, probs, targets, 1, 2, 3);
    for (int i = 0; i < 6; i++) ck_assert(dlogits[i] == 0);
    /* in place: the probabilities are replaced by a zero gradient */
    cross_entropy_backward(probs, probs, targets, 1, 2, 3);
    for (int i = 0; i < 6; i++) ck_assert(probs[i] == 0);
}
END_TEST

START_TEST(cross_entropy_predicts_first_largest_logit) {
    /* rows: a clear maximum; a tie (the first index wins, as numpy.argmax);
     * an ignored row (still predicted); the maximum in the last column */
    enum { N = 4, V = 4 };
    real logits[N * V] = { 0, 3, 1, 2,
                           5, 1, 5, 0,
                           -1, -2, -0.5, -3,
                           0, 0, 0, 0.25 };
    int targets[N] = { 1, 0, IGNORE_INDEX, 2 }, predicted[N], predicted_in_place[N];
    const int expected[N] = { 1, 0, 2, 3 };
    real probs[N * V];
    real loss = cross_entropy_forward(probs, predicted, logits, NULL, targets, N, V, NULL);
    real loss_in_place = cross_entropy_forward(logits, predicted_in_place, logits, NULL, targets, N, V, NULL);
    ck_assert(loss == loss_in_place);
    for (int n = 0; n < N; n++) {
        ck_assert_int_eq(predicted[n], expected[n]);
        ck_assert_int_eq(predicted_in_place[n], expected[n]);
    }
}
END_TEST

START_TEST(cross_entropy_bias_equals_biased_logits) {
    /* softmax(logits + bias) and its loss and argmax, against the same call
     * on logits with the bias added beforehand; out of place and in place */
    enum { N = 3, V = 70 };   /* V past one 64-wide argmax block */
    real logits[N * V], biased[N * V], bias[V], probs[N * V], expected[N * V];
    for (int v = 0; v < V; v++) bias[v] = (real)((v * 5) % 9) / 3 - 1;
    for (int i = 0; i < N * V; i++) {
        logits[i] = (real)((i * 17) % 23) / 5 - 2;
        biased[i] = logits[i] + bias[i % V];
    }
    int targets[N] = { 3, IGNORE_INDEX, 69 }, predicted[N], expected_predicted[N];
    real want = cross_entropy_forward(expected, expected_predicted, biased, NULL, targets, N, V, NULL);
    real got = cross_entropy_forward(probs, predicted, logits, bias, targets, N, V, NULL);
    ck_assert_near(got, want, REAL_TOL);
    for (int i = 0; i < N * V; i++) ck_assert_near(probs[i], expected[i], REAL_TOL);
    for (int n = 0; n < N; n++) ck_assert_int_eq(predicted[n], expected_predicted[n]);
    real got_in_place = cross_entropy_forward(logits, predicted, logits, bias, targets, N, V, NULL);
    ck_assert(got_in_place == got);
    for (int i = 0; i < N * V; i++) ck_assert(logits[i] == probs[i]);
}
END_TEST

START_TEST(cross_entropy_stable_for_huge_logits) {
    /* naive exp(1000) overflows; the max-shifted form gives loss = ln(1 + e^{−1}) */
    real logits[2] = { 1000, 999 }, probs[2];
    int target = 0;
    real loss = cross_entropy_forward(probs, NULL, logits, NULL, &target, 1, 2, NULL);
    ck_assert_near(loss, log(1 + exp(-1.0)), REAL_TOL);
    /* a target probability that underflows still has a finite loss (~200) */
    real far[2] = { 0, 200 };
    loss = cross_entropy_forward(probs, NULL, far, NULL, &target, 1, 2, NULL);
    ck_assert_near(loss, 200, 1e-3);
}
END_TEST

START_TEST(cross_entropy_in_place_matches_separate) {
    enum { N = 4, V = 5 };
    real logits[N * V], probs[N * V], dlogits[N * V] = { 0 }, inplace[N * V];
    for (int i = 0; i < N * V; i++) logits[i] = (real)((i * 37) % 11) / 3 - 1;
    int targets[N] = { 4, IGNORE_INDEX, 0, 2 };
    real loss = cross_entropy_forward(probs, NULL, logits, NULL, targets, N, V, NULL);
    cross_entropy_backward(dlogits, probs, targets, (real)0.5, N, V);
    memcpy(inplace, logits, sizeof logits);
    real loss2 = cross_entropy_forward(inplace, NULL, inplace, NULL, targets, N, V, NULL);
    cross_entropy_backward(inplace, inplace, targets, (real)0.5, N, V);
    ck_assert(loss == loss2);
    for (int i = 0; i < N * V; i++) ck_assert_near(inplace[i], dlogits[i], REAL_TOL);
    /* each counted row of the gradient sums to 0 (Σ p = 1, one-hot sums to 1) */
    for (int n = 0; n < N; n++) {
        double s = 0;
        for (int v = 0; v < V; v++) s += dlogits[n * V + v];
        ck_assert_near(s, 0, REAL_TOL);
    }
}
END_TEST

START_TEST(cross_entropy_bad_target_gives_nan_not_a_crash) {
    real logits[4] = { 1, 2, 3, 4 }, probs[4];
    int targets[2] = { 1, 2 }; /* V = 2: target 2 is out of range */
    real loss = cross_entropy_forward(probs, NULL, logits, NULL, targets, 2, 2, NULL);
    ck_assert(isnan(loss));
}
END_TEST

START_TEST(cross_entropy_same_bits_for_any_thread_count) {
    /* N·V = 32000 ≥ PARALLEL_MIN_WORK, so two threads really split the rows;
     * the loss sum must still be added in the same order. */
    enum { N = 64, V = 500 };
    real *logits = malloc(sizeof(real) * N * V), *probs = malloc(sizeof(real) * N * V);
    int targets[N];
    Rng rng = rng_seeded(11);
    for (int i = 0; i < N * V; i++) logits[i] = (real)(3 * rng_normal(&rng));
    for (int n = 0; n < N; n++) targets[n] = n % 5 == 0 ? IGNORE_INDEX : (int)rng_below(&rng, V);
    omp_set_num_threads(1);
    real loss1 = cross_entropy_forward(probs, NULL, logits, NULL, targets, N, V, NULL);
    omp_set_num_threads(2);
    real loss2 = cross_entropy_forward(probs, NULL, logits, NULL, targets, N, V, NULL);
    omp_set_num_threads(bert_threads());
    ck_assert(memcmp(&loss1, &loss2, sizeof loss1) == 0);
    ck_assert(loss1 > 0 && isfinite(loss1));
    free(logits); free(probs);
}
END_TEST

START_TEST(cross_entropy_gradcheck) { assert_gradcheck_passes("cross_entropy"); }
END_TEST

Suite *cross_entropy_suite(void) {
    Suite *s = suite_create("cross_entropy");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, cross_entropy_uniform_logits_is_log_v);
    tcase_add_test(tc, cross_entropy_two_classes_by_hand);
    tcase_add_test(tc, cross_entropy_all_ignored_is_zero);
    tcase_add_test(tc, cross_entropy_predicts_first_largest_logit);
    tcase_add_test(tc, cross_entropy_bias_equals_biased_logits);
    tcase_add_test(tc, cross_entropy_stable_for_huge_logits);
    tcase_add_test(tc, cross_entropy_in_place_matches_separate);
    tcase_add_test(tc, cross_entropy_bad_target_gives_nan_not_a_crash);
    tcase_add_test(tc, cross_entropy_same_bits_for_any_thread_count);
    tcase_add_test(tc, cross_entropy_gradcheck);
    suite_add_tcase(s, tc);
    return s;
}
