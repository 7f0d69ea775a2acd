/* test_feedforward.c — Linear → GELU → Linear: a value by hand, gradients by finite differences. */
#include "test_util.h"
#include "layers/feedforward.h"

START_TEST(feedforward_forward_by_hand) {
    /* C = 1, I = 2: pre = [x, −x], act = [gelu(x), gelu(−x)], out = 2·act0 + 3·act1 + 1.
     * For x = 1: gelu(1) = 0.8413447460685429, gelu(−1) = −0.15865525393145707. */
    real x = 1, w1[2] = { 1, -1 }, b1[2] = { 0, 0 }, w2[2] = { 2, 3 }, b2 = 1;
    real out, pre[2], act[2];
    feedforward_forward(&out, pre, act, &x, w1, b1, w2, &b2, 1, 1, 2, HIDDEN_ACT_GELU);
    ck_assert_near(pre[1], -1, REAL_TOL);
    ck_assert_near(out, 2 * 0.8413447460685429 + 3 * -0.15865525393145707 + 1, 1e-6);
}
END_TEST

START_TEST(feedforward_gradcheck) { assert_gradcheck_passes("feedforward"); }
END_TEST

Suite *feedforward_suite(void) {
    Suite *s = suite_create("feedforward");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, feedforward_forward_by_hand);
    tcase_add_test(tc, feedforward_gradcheck);
    suite_add_tcase(s, tc);
    return s;
}
