/* test_softmax.c — softmax: closed-form values, shift invariance, no overflow,
 * a hand-computed backward, and finite differences. */
#include <math.h>
#include "test_util.h"
#include "layers/softmax.h"

START_TEST(softmax_of_logs_is_proportional) {
    /* softmax([0, ln 2, ln 3]) = [1, 2, 3] / 6 */
    real x[3] = { 0, log((real)2), log((real)3) }, y[3];
    softmax_forward(y, x, 1, 3);
    ck_assert_near(y[0], 1.0 / 6, REAL_TOL);
    ck_assert_near(y[1], 2.0 / 6, REAL_TOL);
    ck_assert_near(y[2], 3.0 / 6, REAL_TOL);
}
END_TEST

START_TEST(softmax_rows_are_independent_and_in_place) {
    /* two rows, computed in place: [0, 0] → [½, ½]; [ln 3, 0] → [¾, ¼] */
    real x[4] = { 0, 0, log((real)3), 0 };
    softmax_forward(x, x, 2, 2);
    ck_assert_near(x[0], 0.5, REAL_TOL);
    ck_assert_near(x[1], 0.5, REAL_TOL);
    ck_assert_near(x[2], 0.75, REAL_TOL);
    ck_assert_near(x[3], 0.25, REAL_TOL);
}
END_TEST

START_TEST(softmax_invariant_to_adding_a_constant) {
    real x[5] = { 0.3, -1.2, 2.5, 0, 1 }, xc[5], y[5], yc[5];
    for (int i = 0; i < 5; i++) xc[i] = x[i] + (real)37.5;
    softmax_forward(y, x, 1, 5);
    softmax_forward(yc, xc, 1, 5);
    double sum = 0;
    for (int i = 0; i < 5; i++) {
        ck_assert_near(yc[i], y[i], REAL_TOL);
        sum += y[i];
    }
    ck_assert_near(sum, 1.0, REAL_TOL);
}
END_TEST

START_TEST(softmax_large_inputs_do_not_overflow) {
    /* exp(1000) overflows both float and double; after subtracting the max
     * the row is [0, 0, −1]: y = [1, 1, e⁻¹] / (2 + e⁻¹). [1000, 0] gives [1, 0]. */
    real x[3] = { 1000, 1000, 999 }, y[3];
    softmax_forward(y, x, 1, 3);
    double z = 2 + exp(-1.0);
    ck_assert_near(y[0], 1 / z, REAL_TOL);
    ck_assert_near(y[1], 1 / z, REAL_TOL);
    ck_assert_near(y[2], exp(-1.0) / z, REAL_TOL);
    real x2[2] = { 1000, 0 }, y2[2];
    softmax_forward(y2, x2, 1, 2);
    ck_assert(y2[0] == 1 && y2[1] == 0);
}
END_TEST

START_TEST(softmax_backward_by_hand_accumulates) {
    /* y = [1, 2, 3]/6, dy = [1, 0, 0]: Σ dy·y = 1/6, so
     * dx = y ⊙ (dy − 1/6) = [5/36, −2/36, −3/36]; starting from 1 adds 1. */
    real y[3] = { (real)1 / 6, (real)2 / 6, (real)3 / 6 }, dy[3] = { 1, 0, 0 };
    real dx[3] = { 1, 1, 1 };
    softmax_backward(dx, dy, y, 1, 3);
    ck_assert_near(dx[0], 1 + 5.0 / 36, REAL_TOL);
    ck_assert_near(dx[1], 1 - 2.0 / 36, REAL_TOL);
    ck_assert_near(dx[2], 1 - 3.0 / 36, REAL_TOL);
    /* adding a constant to dy changes nothing: the Jacobian's rows sum to 0 */
    real dy_shift[3] = { 4, 3, 3 }, dx2[3] = { 0, 0, 0 };
    softmax_backward(dx2, dy_shift, y, 1, 3);
    for (int i = 0; i < 3; i++) ck_assert_near(dx2[i], dx[i] - 1, REAL_TOL);
}
END_TEST

START_TEST(softmax_gradcheck) { assert_gradcheck_passes("softmax"); }
END_TEST

/* The row helpers attention.c calls: softmax_row_forward on [1, 2, 3] by hand,
 * in place the same bits as out of place; softmax_row_backward assigning
 * equals accumulating onto zeros, accumulating adds to what is there, and in
 * place (dx == dy) is the same as into another buffer. */
START_TEST(softmax_row_helpers_by_hand) {
    real x[3] = {1, 2, 3}, y[3], in_place[3] = {1, 2, 3};
    softmax_row_forward(y, x, 3);
    double z = exp(1.0) + exp(2.0) + exp(3.0);
    for (int i = 0; i < 3; i++) ck_assert_near(y[i], exp(i + 1.0) / z, REAL_TOL);
    softmax_row_forward(in_place, in_place, 3);
    ck_assert_mem_eq(in_place, y, sizeof y);

    real dy[3] = {0.5, -1, 2}, assigned[3], accumulated[3] = {0, 0, 0}, onto[3] = {10, 20, 30};
    double dot = 0.5 * y[0] - y[1] + 2 * y[2];
    softmax_row_backward(assigned, dy, y, 3, false);
    for (int i = 0; i < 3; i++) ck_assert_near(assigned[i], y[i] * (dy[i] - dot), REAL_TOL);
    softmax_row_backward(accumulated, dy, y, 3, true);
    ck_assert_mem_eq(accumulated, assigned, sizeof assigned);
    softmax_row_backward(onto, dy, y, 3, true);
    for (int i = 0; i < 3; i++) ck_assert_near(onto[i], 10 * (i + 1) + assigned[i], REAL_TOL * 100);
    real same[3] = {0.5, -1, 2};
    softmax_row_backward(same, same, y, 3, false);
    ck_assert_mem_eq(same, assigned, sizeof assigned);
}
END_TEST

Suite *softmax_suite(void) {
    Suite *s = suite_create("softmax");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, softmax_of_logs_is_proportional);
    tcase_add_test(tc, softmax_rows_are_independent_and_in_place);
    tcase_add_test(tc, softmax_invariant_to_adding_a_constant);
    tcase_add_test(tc, softmax_large_inputs_do_not_overflow);
    tcase_add_test(tc, softmax_backward_by_hand_accumulates);
    tcase_add_test(tc, softmax_row_helpers_by_hand);
    tcase_add_test(tc, softmax_gradcheck);
    suite_add_tcase(s, tc);
    return s;
}
