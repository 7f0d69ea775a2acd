/* test_relu.c — ReLU: values and the subgradient at 0 by hand, the fused
 * bias pass, the feed-forward and masked-LM transform switched by
 * hidden_act, config.json round trip, and gradient checks (layer,
 * feed-forward, whole model: tolerance 1e-6 in double, 5e-2 in float). */
#include <math.h>
#include <string.h>
#include <unistd.h>
#include "test_util.h"
#include "tmpdir.h"
#include "layers/relu.h"
#include "layers/activation.h"
#include "layers/feedforward.h"
#include "io/bert_config.h"

START_TEST(relu_values_and_derivative_by_hand) {
    real x[5] = { -2, -0.5, 0, 0.25, 3 }, y[5], d[5] = { 10, 10, 10, 10, 10 }, g[5] = { 1, 2, 3, 4, 5 };
    relu_forward(y, x, 5);
    const real want[5] = { 0, 0, 0, 0.25, 3 };
    for (int i = 0; i < 5; i++) ck_assert(y[i] == want[i]);
    /* accumulates; at x = 0 the subgradient is 0 (PyTorch's choice) */
    relu_backward(d, g, x, 5, true);
    const real want_d[5] = { 10, 10, 10, 14, 15 };
    for (int i = 0; i < 5; i++) ck_assert(d[i] == want_d[i]);
    /* accumulate false overwrites, in place over dout too */
    relu_backward(g, g, x, 5, false);
    const real want_g[5] = { 0, 0, 0, 4, 5 };
    for (int i = 0; i < 5; i++) ck_assert(g[i] == want_g[i]);
}
END_TEST

START_TEST(relu_forward_with_bias_is_bias_then_relu) {
    real pre[6] = { 1, -1, 0.5, -3, 2, 0 }, bias[3] = { -1, 0.5, 1 }, out[6];
    relu_forward_with_bias(out, pre, bias, 2, 3);
    const real want_pre[6] = { 0, -0.5, 1.5, -4, 2.5, 1 }, want_out[6] = { 0, 0, 1.5, 0, 2.5, 1 };
    for (int i = 0; i < 6; i++) {
        ck_assert(pre[i] == want_pre[i]);
        ck_assert(out[i] == want_out[i]);
    }
}
END_TEST

START_TEST(feedforward_uses_the_configured_activation) {
    /* C = 1, I = 2: pre = [x, −x]; for x = 1 relu gives act = [1, 0], out = 2·1 + 3·0 + 1 = 3 */
    real x = 1, w1[2] = { 1, -1 }, b1[2] = { 0, 0 }, w2[2] = { 2, 3 }, b2 = 1;
    real out, pre[2], act[2];
    feedforward_forward(&out, pre, act, &x, w1, b1, w2, &b2, 1, 1, 2, HIDDEN_ACT_RELU);
    ck_assert(act[0] == 1 && act[1] == 0);
    ck_assert(out == 3);
    feedforward_forward(&out, pre, act, &x, w1, b1, w2, &b2, 1, 1, 2, HIDDEN_ACT_GELU);
    ck_assert_near(out, 2 * 0.8413447460685429 + 3 * -0.15865525393145707 + 1, 1e-6);
}
END_TEST

/* hidden_act "relu" loads, is written back as "relu" (so transformers builds
 * nn.ReLU in BertIntermediate and the MLM transform), and anything else is
 * still refused by name. */
/* activation.h: each HiddenAct runs exactly its own layer, forward (with
 * and without the bias) and backward, bit for bit. */
START_TEST(activation_dispatches_to_the_configured_layer) {
    enum { N = 3, C = 4, NC = N * C };
    real x[NC], bias[C], dout[NC];
    for (int i = 0; i < NC; i++) { x[i] = (real)(0.37 * (i - 5)); dout[i] = (real)(1 + 0.1 * i); }
    for (int c = 0; c < C; c++) bias[c] = (real)(0.2 * c - 0.3);
    for (int act = HIDDEN_ACT_GELU; act <= HIDDEN_ACT_RELU; act++) {
        real out_a[NC], out_b[NC], pre_a[NC], pre_b[NC], d_a[NC], d_b[NC];
        activation_forward((HiddenAct)act, out_a, x, NC);
        if (act == HIDDEN_ACT_RELU) relu_forward(out_b, x, NC);
        else gelu_forward(out_b, x, NC);
        ck_assert(memcmp(out_a, out_b, sizeof out_a) == 0);
        memcpy(pre_a, x, sizeof x);
        memcpy(pre_b, x, sizeof x);
        activation_forward_with_bias((HiddenAct)act, out_a, pre_a, bias, N, C);
        if (act == HIDDEN_ACT_RELU) relu_forward_with_bias(out_b, pre_b, bias, N, C);
        else gelu_forward_with_bias(out_b, pre_b, bias, N, C);
        ck_assert(memcmp(out_a, out_b, sizeof out_a) == 0 && memcmp(pre_a, pre_b, sizeof pre_a) == 0);
        for (int i = 0; i < NC; i++) d_a[i] = d_b[i] = (real)0.5;   /* backward accumulates */
        activation_backward((HiddenAct)act, d_a, dout, x, NC, true);
        if (act == HIDDEN_ACT_RELU) relu_backward(d_b, dout, x, NC, true);
        else gelu_backward(d_b, dout, x, NC, true);
        ck_assert(memcmp(d_a, d_b, sizeof d_a) == 0);
        /* overwriting: the accumulated result minus the 0.5 it started from
         * is not exact in floating point, so compare with a run from 0 */
        real d_c[NC], d_d[NC];
        for (int i = 0; i < NC; i++) { d_c[i] = 0; d_d[i] = (real)1e30; }
        activation_backward((HiddenAct)act, d_c, dout, x, NC, true);
        activation_backward((HiddenAct)act, d_d, dout, x, NC, false);
        ck_assert(memcmp(d_c, d_d, sizeof d_c) == 0);
    }
    /* and the two differ, so the dispatch is seen */
    real gelu_out[NC], relu_out[NC];
    activation_forward(HIDDEN_ACT_GELU, gelu_out, x, NC);
    activation_forward(HIDDEN_ACT_RELU, relu_out, x, NC);
    ck_assert(memcmp(gelu_out, relu_out, sizeof gelu_out) != 0);
}
END_TEST

START_TEST(relu_config_round_trip) {
    char dir[64], path[128], err[512];
    tmpdir_create(dir, "relu-config");
    snprintf(path, sizeof path, "%s/config.json", dir);
    FILE *f = fopen(path, "w");
    fprintf(f, "{\"vocab_size\": 10, \"hidden_size\": 4, \"num_hidden_layers\": 1, \"num_attention_heads\": 1,"
               " \"intermediate_size\": 8, \"hidden_act\": \"relu\"}\n");
    fclose(f);
    BertConfig cfg;
    ck_assert_msg(bert_config_load(&cfg, path, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(bert_config_hidden_act(&cfg), HIDDEN_ACT_RELU);
    ck_assert_int_eq(bert_config_save(&cfg, NULL, path, err, sizeof err), 0);
    bert_config_free(&cfg);
    char *text = read_text(path);
    ck_assert_msg(strstr(text, "\"hidden_act\":\t\"relu\""), "%s", text);
    free(text);
    f = fopen(path, "w");
    fprintf(f, "{\"vocab_size\": 10, \"hidden_size\": 4, \"num_hidden_layers\": 1, \"num_attention_heads\": 1,"
               " \"intermediate_size\": 8, \"hidden_act\": \"silu\"}\n");
    fclose(f);
    ck_assert_int_eq(bert_config_load(&cfg, path, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "hidden_act \"silu\" is not supported: bert.c implements only \"gelu\""), "%s", err);
    unlink(path);
    rmdir(dir);
}
END_TEST

START_TEST(relu_gradcheck) { assert_gradcheck_passes("relu"); }
END_TEST
START_TEST(feedforward_relu_gradcheck) { assert_gradcheck_passes("feedforward_relu"); }
END_TEST
START_TEST(model_relu_gradcheck) { assert_gradcheck_passes("model_relu"); }
END_TEST

Suite *relu_suite(void) {
    Suite *s = suite_create("relu");
    TCase *tc = tcase_create("relu");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, relu_values_and_derivative_by_hand);
    tcase_add_test(tc, relu_forward_with_bias_is_bias_then_relu);
    tcase_add_test(tc, feedforward_uses_the_configured_activation);
    tcase_add_test(tc, activation_dispatches_to_the_configured_layer);
    tcase_add_test(tc, relu_config_round_trip);
    tcase_add_test(tc, relu_gradcheck);
    tcase_add_test(tc, feedforward_relu_gradcheck);
    tcase_add_test(tc, model_relu_gradcheck);
    suite_add_tcase(s, tc);
    return s;
}
