/* test_pooler.c — pooler reads only the [CLS] row; tanh(W h + b) by hand. */
#include "test_util.h"
#include "layers/pooler.h"

START_TEST(pooler_forward_uses_first_token_only) {
    /* B = 2, T = 3, C = 2; W = [[1, 0], [1, 1]], b = [0, −1]. Rows t > 0 hold junk
     * that must not matter. Sequence 0: h = [0.5, −0.25] → tanh([0.5, −0.75]);
     * sequence 1: h = [−1, 2] → tanh([−1, 0]). */
    real hidden[12] = { 0.5, -0.25, 99, 99, -99, 7, -1, 2, 42, -42, 1e3, 1e3 };
    real w[4] = { 1, 0, 1, 1 }, b[2] = { 0, -1 }, pooled[4];
    pooler_forward(pooled, hidden, w, b, 2, 3, 2);
    ck_assert_near(pooled[0], tanh(0.5), REAL_TOL);
    ck_assert_near(pooled[1], tanh(-0.75), REAL_TOL);
    ck_assert_near(pooled[2], tanh(-1.0), REAL_TOL);
    ck_assert_near(pooled[3], 0, REAL_TOL);
}
END_TEST

START_TEST(pooler_backward_touches_only_first_token) {
    real hidden[12] = { 0.5, -0.25, 1, 2, 3, 4, -1, 2, 5, 6, 7, 8 };
    real w[4] = { 1, 0, 1, 1 }, b[2] = { 0, -1 }, pooled[4], dpooled[4] = { 1, 1, 1, 1 };
    real d_hidden[12] = { 0 }, dw[4] = { 0 }, db[2] = { 0 }, d_pre[4];
    pooler_forward(pooled, hidden, w, b, 2, 3, 2);
    pooler_backward(d_hidden, dw, db, d_pre, dpooled, pooled, hidden, w, 2, 3, 2);
    for (int t = 1; t < 3; t++)
        for (int c = 0; c < 2; c++) {
            ck_assert(d_hidden[t * 2 + c] == 0);
            ck_assert(d_hidden[6 + t * 2 + c] == 0);
        }
    ck_assert(d_hidden[0] != 0);
}
END_TEST

START_TEST(pooler_gradcheck) { assert_gradcheck_passes("pooler"); }
END_TEST

Suite *pooler_suite(void) {
    Suite *s = suite_create("pooler");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, pooler_forward_uses_first_token_only);
    tcase_add_test(tc, pooler_backward_touches_only_first_token);
    tcase_add_test(tc, pooler_gradcheck);
    suite_add_tcase(s, tc);
    return s;
}
