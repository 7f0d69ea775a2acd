/* test_heads.c — masked-LM, next-sentence and classification heads. */
#include "test_util.h"
#include "layers/mlm_head.h"
#include "layers/nsp_head.h"
#include "layers/classifier_head.h"

START_TEST(mlm_head_forward_by_hand) {
    /* C = 2, V = 2, dense = identity, no bias: pre = [1, −1], act = [gelu(1), gelu(−1)].
     * LayerNorm of any 2-vector [a, b] with a > b is [1, −1] (γ = 1, β = 0).
     * Decoder = word_emb [[1, 2], [3, −1]] with bias [0.5, 0]: logits = [−0.5, 4]. */
    real inp[2] = { 1, -1 }, dense_w[4] = { 1, 0, 0, 1 }, dense_b[2] = { 0, 0 };
    real ln_w[2] = { 1, 1 }, ln_b[2] = { 0, 0 }, word_emb[4] = { 1, 2, 3, -1 }, out_bias[2] = { 0.5, 0 };
    real logits[2], pre[2], act[2], ln_out[2], mean, rstd;
    mlm_head_forward(logits, pre, act, ln_out, &mean, &rstd, inp, dense_w, dense_b, ln_w, ln_b,
                     word_emb, out_bias, (real)1e-12, 1, 2, 2, HIDDEN_ACT_GELU);
    ck_assert_near(act[0], 0.8413447460685429, 1e-6);
    ck_assert_near(ln_out[0], 1, 1e-5);
    ck_assert_near(ln_out[1], -1, 1e-5);
    ck_assert_near(logits[0], -0.5, 1e-5);
    ck_assert_near(logits[1], 4, 1e-5);
}
END_TEST

START_TEST(nsp_head_forward_by_hand) {
    real pooled[2] = { 1, -2 }, w[4] = { 1, 1, 0.5, -1 }, b[2] = { 0, 0.25 }, logits[2];
    nsp_head_forward(logits, pooled, w, b, 1, 2);
    ck_assert_near(logits[0], -1, REAL_TOL);
    ck_assert_near(logits[1], 2.75, REAL_TOL);
}
END_TEST

START_TEST(classifier_head_is_linear_when_not_training) {
    real pooled[2] = { 1, -2 }, w[6] = { 1, 1, 0.5, -1, 0, 2 }, b[3] = { 0, 0.25, 1 }, logits[3], dropped[2];
    uint8_t mask[2];
    classifier_head_forward(logits, dropped, mask, pooled, w, b, (real)0.5, 7, false, 1, 2, 3);
    ck_assert_near(logits[0], -1, REAL_TOL);
    ck_assert_near(logits[1], 2.75, REAL_TOL);
    ck_assert_near(logits[2], -3, REAL_TOL);
}
END_TEST

START_TEST(mlm_head_gradcheck) { assert_gradcheck_passes("mlm_head"); }
END_TEST
START_TEST(nsp_head_gradcheck) { assert_gradcheck_passes("nsp_head"); }
END_TEST
START_TEST(classifier_head_gradcheck) { assert_gradcheck_passes("classifier_head"); }
END_TEST

Suite *heads_suite(void) {
    Suite *s = suite_create("heads");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, mlm_head_forward_by_hand);
    tcase_add_test(tc, nsp_head_forward_by_hand);
    tcase_add_test(tc, classifier_head_is_linear_when_not_training);
    tcase_add_test(tc, mlm_head_gradcheck);
    tcase_add_test(tc, nsp_head_gradcheck);
    tcase_add_test(tc, classifier_head_gradcheck);
    suite_add_tcase(s, tc);
    return s;
}
