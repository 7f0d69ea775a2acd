/* test_gelu.c — GELU (erf form): known values, the derivative at 0, finite differences. */
#include "test_util.h"
#include "layers/gelu.h"

START_TEST(gelu_forward_known_values) {
    /* gelu(x) = x·Φ(x); Φ(0) = ½, Φ(1) = 0.8413447460685429 (standard normal
     * table), Φ(−1) = 1 − Φ(1). The tanh approximation gives 0.8411919906 at
     * x = 1, which this tolerance rejects in double. */
    real x[4] = { 0, 1, -1, 3 }, y[4];
    gelu_forward(y, x, 4);
    ck_assert_near(y[0], 0.0, REAL_TOL);
    ck_assert_near(y[1], 0.8413447460685429, REAL_TOL);
    ck_assert_near(y[2], -0.15865525393145707, REAL_TOL);
    ck_assert_near(y[3], 3 * 0.9986501019683699, REAL_TOL); /* Φ(3) */
    /* in place */
    gelu_forward(x, x, 4);
    for (int i = 0; i < 4; i++) ck_assert_near(x[i], y[i], 0);
}
END_TEST

START_TEST(gelu_backward_known_values_accumulates) {
    /* gelu'(0) = Φ(0) + 0 = ½;  gelu'(1) = Φ(1) + φ(1), φ(1) = e^{−½}/√(2π);
     * gelu'(−1) = Φ(−1) − φ(1). Gradients start at 1 and must be added to. */
    real x[3] = { 0, 1, -1 }, dout[3] = { 1, 2, 1 }, dx[3] = { 1, 1, 1 };
    gelu_backward(dx, dout, x, 3, true);
    double phi1 = exp(-0.5) / sqrt(2 * M_PI);
    ck_assert_near(dx[0], 1 + 0.5, REAL_TOL);
    ck_assert_near(dx[1], 1 + 2 * (0.8413447460685429 + phi1), REAL_TOL);
    ck_assert_near(dx[2], 1 + (0.15865525393145707 - phi1), REAL_TOL);
    /* accumulate false: overwritten, here in place over dout */
    gelu_backward(dout, dout, x, 3, false);
    ck_assert_near(dout[0], 0.5, REAL_TOL);
    ck_assert_near(dout[1], 2 * (0.8413447460685429 + phi1), REAL_TOL);
    ck_assert_near(dout[2], 0.15865525393145707 - phi1, REAL_TOL);
}
END_TEST

START_TEST(gelu_with_bias_adds_bias_in_place_then_gelu) {
    /* 3 rows × 37 columns (not a multiple of any vector width): pre ends as
     * pre + bias broadcast over rows, out as gelu of it; compared with
     * gelu_forward on a separately biased copy (a few ulp apart at most:
     * vector and scalar erf may round differently). */
    enum { N = 3, C = 37 };
    real pre[N * C], biased[N * C], bias[C], out[N * C], expected[N * C];
    for (int c = 0; c < C; c++) bias[c] = (real)(c % 7) / 4 - (real)0.75;
    for (int i = 0; i < N * C; i++) {
        pre[i] = (real)((i * 13) % 29) / 7 - 2;
        biased[i] = pre[i] + bias[i % C];
    }
    gelu_forward(expected, biased, N * C);
    gelu_forward_with_bias(out, pre, bias, N, C);
    for (int i = 0; i < N * C; i++) {
        ck_assert(pre[i] == biased[i]);
        ck_assert_near(out[i], expected[i], REAL_TOL);
    }
}
END_TEST

START_TEST(gelu_gradcheck) { assert_gradcheck_passes("gelu"); }
END_TEST

Suite *gelu_suite(void) {
    Suite *s = suite_create("gelu");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, gelu_forward_known_values);
    tcase_add_test(tc, gelu_backward_known_values_accumulates);
    tcase_add_test(tc, gelu_with_bias_adds_bias_in_place_then_gelu);
    tcase_add_test(tc, gelu_gradcheck);
    suite_add_tcase(s, tc);
    return s;
}
