/* test_tanh.c — tanh: closed-form values, derivative from the output, finite differences. */
#include "test_util.h"
#include "layers/tanh.h"

START_TEST(tanh_forward_closed_form) {
    /* tanh(ln 2) = (2 − ½)/(2 + ½) = 0.6; tanh is odd; tanh(0) = 0. */
    real x[3] = { (real)log(2.0), (real)-log(2.0), 0 }, y[3];
    tanh_forward(y, x, 3);
    ck_assert_near(y[0], 0.6, REAL_TOL);
    ck_assert_near(y[1], -0.6, REAL_TOL);
    ck_assert_near(y[2], 0.0, REAL_TOL);
}
END_TEST

START_TEST(tanh_backward_from_output_accumulates) {
    /* out = 0.6 ⇒ 1 − out² = 0.64; out = 0 ⇒ 1. Starting from dx = 0.5. */
    real out[2] = { 0.6, 0 }, dout[2] = { 2, -3 }, dx[2] = { 0.5, 0.5 };
    tanh_backward(dx, dout, out, 2);
    ck_assert_near(dx[0], 0.5 + 2 * 0.64, REAL_TOL);
    ck_assert_near(dx[1], 0.5 - 3, REAL_TOL);
}
END_TEST

START_TEST(tanh_gradcheck) { assert_gradcheck_passes("tanh"); }
END_TEST

Suite *tanh_suite(void) {
    Suite *s = suite_create("tanh");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, tanh_forward_closed_form);
    tcase_add_test(tc, tanh_backward_from_output_accumulates);
    tcase_add_test(tc, tanh_gradcheck);
    suite_add_tcase(s, tc);
    return s;
}
