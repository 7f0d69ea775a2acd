/* test_layernorm.c — layernorm: closed-form forward, finite-difference gradients. */
#include "test_util.h"
#include "layers/layernorm.h"

START_TEST(layernorm_forward_closed_form) {
    /* x = [1, 2, 3, 4]: mean 2.5, variance 1.25, so x̂ = (x − 2.5)/√1.25.
     * With γ = [1, 2, 1, 1] and β = [0, 0, 1, 0]. */
    real x[4] = { 1, 2, 3, 4 }, g[4] = { 1, 2, 1, 1 }, b[4] = { 0, 0, 1, 0 };
    real y[4], mean, rstd;
    layernorm_forward(y, &mean, &rstd, x, g, b, (real)1e-12, 1, 4);
    double s = 1 / sqrt(1.25);
    ck_assert_near(mean, 2.5, REAL_TOL);
    ck_assert_near(rstd, s, REAL_TOL);
    ck_assert_near(y[0], -1.5 * s, REAL_TOL);
    ck_assert_near(y[1], 2 * -0.5 * s, REAL_TOL);
    ck_assert_near(y[2], 0.5 * s + 1, REAL_TOL);
    ck_assert_near(y[3], 1.5 * s, REAL_TOL);
}
END_TEST

START_TEST(layernorm_constant_row_uses_eps) {
    /* A constant row has zero variance: x̂ = 0 and rstd = 1/√eps, no NaN. */
    real x[3] = { 7, 7, 7 }, g[3] = { 1, 1, 1 }, b[3] = { 0.25, 0.5, 0.75 }, y[3], mean, rstd;
    layernorm_forward(y, &mean, &rstd, x, g, b, (real)1e-5, 1, 3);
    for (int i = 0; i < 3; i++) ck_assert_near(y[i], b[i], REAL_TOL);
    ck_assert_near(rstd, 1 / sqrt(1e-5), 1e-2);
}
END_TEST

START_TEST(layernorm_gradcheck) { assert_gradcheck_passes("layernorm"); }
END_TEST

Suite *layernorm_suite(void) {
    Suite *s = suite_create("layernorm");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, layernorm_forward_closed_form);
    tcase_add_test(tc, layernorm_constant_row_uses_eps);
    tcase_add_test(tc, layernorm_gradcheck);
    suite_add_tcase(s, tc);
    return s;
}
