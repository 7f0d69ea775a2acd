/* test_residual_layernorm.c — LayerNorm(residual + inp): equals layernorm of
 * the sum, gradient reaches both branches, finite differences. */
#include <string.h>
#include "test_util.h"
#include "layers/residual_layernorm.h"
#include "layers/layernorm.h"

enum { N = 3, C = 5 };
static const real residual[N * C] = { 1, 2, 3, 4, 5, -1, 0, 1, 0, -1, 2, 2, 2, 2, 3 };
static const real inp[N * C] = { 0.5, -2, 1, 0, 4, 3, 1, -1, 2, 0, -1, 0, 1, 0, -1 };
static const real weight[C] = { 1, 2, 0.5, -1, 1 };
static const real bias[C] = { 0, 0.1, -0.2, 0.3, 0 };
static const real dout[N * C] = { 1, -1, 2, 0.5, 0, 0, 1, 1, -2, 3, 0.25, 0, -1, 1, 2 };

START_TEST(residual_layernorm_equals_layernorm_of_sum) {
    real sum[N * C], out[N * C], mean[N], rstd[N];
    real want_sum[N * C], want_out[N * C], want_mean[N], want_rstd[N];
    for (int i = 0; i < N * C; i++) want_sum[i] = residual[i] + inp[i];
    layernorm_forward(want_out, want_mean, want_rstd, want_sum, weight, bias, (real)1e-12, N, C);
    residual_layernorm_forward(out, sum, mean, rstd, residual, inp, weight, bias, (real)1e-12, N, C);
    ck_assert(memcmp(sum, want_sum, sizeof sum) == 0);
    ck_assert(memcmp(out, want_out, sizeof out) == 0);
    ck_assert(memcmp(mean, want_mean, sizeof mean) == 0);
    ck_assert(memcmp(rstd, want_rstd, sizeof rstd) == 0);
    /* row 0: sum = [1.5, 0, 4, 4, 9], mean 3.7 */
    ck_assert_near(mean[0], 3.7, REAL_TOL);
}
END_TEST

START_TEST(residual_layernorm_backward_feeds_both_branches_and_accumulates) {
    real sum[N * C], out[N * C], mean[N], rstd[N], d_sum[N * C];
    residual_layernorm_forward(out, sum, mean, rstd, residual, inp, weight, bias, (real)1e-12, N, C);
    /* reference: layernorm_backward on the sum, from zero */
    real g[N * C] = { 0 }, gw[C] = { 0 }, gb[C] = { 0 };
    layernorm_backward(g, gw, gb, dout, sum, weight, mean, rstd, N, C);
    /* separate buffers start at 1 and 2; weight/bias grads start at 3 */
    real dres[N * C], dinp[N * C], dw[C], db[C], both[N * C], dw2[C], db2[C];
    for (int i = 0; i < N * C; i++) { dres[i] = 1; dinp[i] = 2; both[i] = 0; }
    for (int i = 0; i < C; i++) { dw[i] = db[i] = 3; dw2[i] = db2[i] = 0; }
    residual_layernorm_backward(dres, dinp, dw, db, d_sum, dout, sum, weight, mean, rstd, N, C);
    for (int i = 0; i < N * C; i++) {
        ck_assert_near(d_sum[i], g[i], 0);
        ck_assert_near(dres[i], 1 + g[i], REAL_TOL);
        ck_assert_near(dinp[i], 2 + g[i], REAL_TOL);
    }
    for (int i = 0; i < C; i++) {
        ck_assert_near(dw[i], 3 + gw[i], REAL_TOL);
        ck_assert_near(db[i], 3 + gb[i], REAL_TOL);
    }
    /* one buffer for both branches receives 2 · d_sum */
    residual_layernorm_backward(both, both, dw2, db2, d_sum, dout, sum, weight, mean, rstd, N, C);
    for (int i = 0; i < N * C; i++) ck_assert_near(both[i], 2 * g[i], REAL_TOL);
    /* dbias = Σ_n dout, by hand for column 0: 1 + 0 + 0.25 */
    ck_assert_near(db2[0], 1.25, REAL_TOL);
}
END_TEST

START_TEST(residual_layernorm_gradcheck) { assert_gradcheck_passes("residual_layernorm"); }
END_TEST

Suite *residual_layernorm_suite(void) {
    Suite *s = suite_create("residual_layernorm");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, residual_layernorm_equals_layernorm_of_sum);
    tcase_add_test(tc, residual_layernorm_backward_feeds_both_branches_and_accumulates);
    tcase_add_test(tc, residual_layernorm_gradcheck);
    suite_add_tcase(s, tc);
    return s;
}
