/* test_linear.c — linear layer: forward by hand, gradients by finite differences. */
#include "test_util.h"
#include "layers/linear.h"

START_TEST(linear_forward_by_hand) {
    /* x = [[1, 2, 3]], W = [[1, 0, -1], [2, 1, 0]] (out=2, in=3), b = [0.5, -1]
     * y = x Wᵀ + b = [1 - 3 + 0.5, 2 + 2 - 1] = [-1.5, 3] */
    real x[3] = { 1, 2, 3 };
    real w[6] = { 1, 0, -1, 2, 1, 0 };
    real b[2] = { 0.5, -1 };
    real y[2];
    linear_forward(y, x, w, b, 1, 3, 2);
    ck_assert_near(y[0], -1.5, REAL_TOL);
    ck_assert_near(y[1], 3.0, REAL_TOL);
    linear_forward(y, x, w, NULL, 1, 3, 2);
    ck_assert_near(y[0], -2.0, REAL_TOL);
    ck_assert_near(y[1], 4.0, REAL_TOL);
}
END_TEST

START_TEST(linear_backward_by_hand_accumulates) {
    /* dout = [[1, 2]]: dx = dout W = [5, 2, -1]; dW = doutᵀ x = [[1,2,3],[2,4,6]]; db = [1, 2].
     * Gradients accumulate: starting from 1 everywhere adds 1. */
    real x[3] = { 1, 2, 3 }, w[6] = { 1, 0, -1, 2, 1, 0 }, dout[2] = { 1, 2 };
    real dx[3] = { 1, 1, 1 }, dw[6] = { 1, 1, 1, 1, 1, 1 }, db[2] = { 1, 1 };
    linear_backward(dx, dw, db, dout, x, w, 1, 3, 2);
    real want_dx[3] = { 6, 3, 0 }, want_dw[6] = { 2, 3, 4, 3, 5, 7 }, want_db[2] = { 2, 3 };
    for (int i = 0; i < 3; i++) ck_assert_near(dx[i], want_dx[i], REAL_TOL);
    for (int i = 0; i < 6; i++) ck_assert_near(dw[i], want_dw[i], REAL_TOL);
    for (int i = 0; i < 2; i++) ck_assert_near(db[i], want_db[i], REAL_TOL);
}
END_TEST

START_TEST(linear_gradcheck) { assert_gradcheck_passes("linear"); }
END_TEST

Suite *linear_suite(void) {
    Suite *s = suite_create("linear");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, linear_forward_by_hand);
    tcase_add_test(tc, linear_backward_by_hand_accumulates);
    tcase_add_test(tc, linear_gradcheck);
    suite_add_tcase(s, tc);
    return s;
}
