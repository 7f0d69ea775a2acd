/* test_encoder_layer.c — the post-LN encoder layer: closed-form behaviour,
 * padding invariance, and finite-difference gradients. */
#include <stdlib.h>
#include <string.h>
#include "test_util.h"
#include "layers/encoder_layer.h"
#include "layers/attention.h"
#include "layers/layernorm.h"
#include "core/rng.h"

enum { B = 2, T = 4, C = 6, NH = 2, I = 8 };

typedef struct {
    real *memory;
    EncoderLayerParams params;
    EncoderLayerCache cache;
} Layer;

/* Allocates one layer's parameters (random with the given scale, LayerNorm γ = 1 + noise)
 * and its cache. */
static void layer_alloc(Layer *L, real scale, uint64_t seed) {
    long sizes[12] = { 3 * C * C, 3 * C, C * C, C, C, C, I * C, I, C * I, C, C, C };
    real **views[12] = { &L->params.w_qkv, &L->params.b_qkv, &L->params.w_attn_out, &L->params.b_attn_out,
                         &L->params.ln1_w, &L->params.ln1_b, &L->params.w_ff1, &L->params.b_ff1,
                         &L->params.w_ff2, &L->params.b_ff2, &L->params.ln2_w, &L->params.ln2_b };
    long total = 0;
    for (int i = 0; i < 12; i++) total += sizes[i];
    L->memory = malloc(sizeof(real) * total);
    Rng rng = rng_seeded(seed);
    real *p = L->memory;
    for (int i = 0; i < 12; i++) {
        *views[i] = p;
        for (long k = 0; k < sizes[i]; k++) p[k] = (real)(scale * rng_normal(&rng));
        p += sizes[i];
    }
    for (int k = 0; k < C; k++) { L->params.ln1_w[k] += 1; L->params.ln2_w[k] += 1; }
    long NC = B * T * C, att = B * NH * T * T;
    EncoderLayerCache *e = &L->cache;
    real **reals[] = { &e->context, &e->attn_out, &e->ln1_sum, &e->ln1_out, &e->ff_out, &e->ln2_sum, &e->out };
    for (size_t i = 0; i < sizeof reals / sizeof reals[0]; i++) *reals[i] = calloc(NC, sizeof(real));
    e->qkv = calloc(3 * NC, sizeof(real));
    e->probs = calloc(att, sizeof(real));
    e->probs_dropped = calloc(att, sizeof(real));
    e->probs_mask = calloc(att, 1);
    e->attn_out_mask = calloc(NC, 1);
    e->ff_out_mask = calloc(NC, 1);
    e->ff_pre = calloc(B * T * I, sizeof(real));
    e->ff_act = calloc(B * T * I, sizeof(real));
    e->ln1_mean = calloc(B * T, sizeof(real));
    e->ln1_rstd = calloc(B * T, sizeof(real));
    e->ln2_mean = calloc(B * T, sizeof(real));
    e->ln2_rstd = calloc(B * T, sizeof(real));
}

static void layer_free(Layer *L) {
    EncoderLayerCache *e = &L->cache;
    void *all[] = { L->memory, e->qkv, e->probs, e->probs_dropped, e->probs_mask, e->context, e->attn_out,
                    e->attn_out_mask, e->ln1_sum, e->ln1_mean, e->ln1_rstd, e->ln1_out, e->ff_pre, e->ff_act,
                    e->ff_out, e->ff_out_mask, e->ln2_sum, e->ln2_mean, e->ln2_rstd, e->out };
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) free(all[i]);
}

static EncoderLayerShape shape(bool training) {
    EncoderLayerShape s = { .B = B, .T = T, .C = C, .NH = NH, .I = I, .layer_norm_eps = (real)1e-12,
                            .hidden_dropout = (real)0.1, .attention_dropout = (real)0.1,
                            .training = training, .dropout_key = 99 };
    return s;
}

START_TEST(encoder_layer_with_zero_weights_is_layernorm) {
    /* All weights and biases 0, γ = 1, β = 0: attention and feed-forward output 0,
     * so out = LN(LN(x) + 0) = LN(x) (LayerNorm is idempotent). */
    Layer L;
    layer_alloc(&L, 0, 1);
    for (int k = 0; k < C; k++) { L.params.ln1_w[k] = 1; L.params.ln2_w[k] = 1; }
    real x[B * T * C], want[B * T * C], mean[B * T], rstd[B * T], ones[C], zeros[C];
    Rng rng = rng_seeded(5);
    for (int i = 0; i < B * T * C; i++) x[i] = (real)rng_normal(&rng);
    for (int k = 0; k < C; k++) { ones[k] = 1; zeros[k] = 0; }
    layernorm_forward(want, mean, rstd, x, ones, zeros, (real)1e-12, B * T, C);
    EncoderLayerShape s = shape(false);
    encoder_layer_forward(&L.cache, x, NULL, &L.params, &s);
    for (int i = 0; i < B * T * C; i++) ck_assert_near(L.cache.out[i], want[i], 1e-5);
    layer_free(&L);
}
END_TEST

START_TEST(encoder_layer_ignores_padded_positions) {
    /* Changing the input at a padded position must not change any output at a
     * real position: the padding mask removes it from every attention row. */
    Layer L;
    layer_alloc(&L, 0.3, 2);
    real x[B * T * C], mask_add[B * T] = { 0 }, first[B * T * C];
    Rng rng = rng_seeded(6);
    for (int i = 0; i < B * T * C; i++) x[i] = (real)rng_normal(&rng);
    mask_add[B * T - 1] = ATTENTION_MASK_VALUE;  /* last position of sequence 1 */
    EncoderLayerShape s = shape(false);
    encoder_layer_forward(&L.cache, x, mask_add, &L.params, &s);
    memcpy(first, L.cache.out, sizeof first);
    for (int k = 0; k < C; k++) x[(B * T - 1) * C + k] += 10;
    encoder_layer_forward(&L.cache, x, mask_add, &L.params, &s);
    for (int i = 0; i < (B * T - 1) * C; i++) ck_assert_near(L.cache.out[i], first[i], 1e-5);
    layer_free(&L);
}
END_TEST

START_TEST(encoder_layer_dropout_is_seeded) {
    /* Training: the same key gives the same output, another key a different one;
     * not training: dropout is the identity whatever the key. */
    Layer L;
    layer_alloc(&L, 0.3, 3);
    real x[B * T * C], a[B * T * C];
    Rng rng = rng_seeded(7);
    for (int i = 0; i < B * T * C; i++) x[i] = (real)rng_normal(&rng);
    EncoderLayerShape s = shape(true);
    encoder_layer_forward(&L.cache, x, NULL, &L.params, &s);
    memcpy(a, L.cache.out, sizeof a);
    encoder_layer_forward(&L.cache, x, NULL, &L.params, &s);
    ck_assert(memcmp(a, L.cache.out, sizeof a) == 0);
    s.dropout_key = 100;
    encoder_layer_forward(&L.cache, x, NULL, &L.params, &s);
    ck_assert(memcmp(a, L.cache.out, sizeof a) != 0);
    EncoderLayerShape eval = shape(false);
    encoder_layer_forward(&L.cache, x, NULL, &L.params, &eval);
    memcpy(a, L.cache.out, sizeof a);
    eval.dropout_key = 12345;
    encoder_layer_forward(&L.cache, x, NULL, &L.params, &eval);
    ck_assert(memcmp(a, L.cache.out, sizeof a) == 0);
    layer_free(&L);
}
END_TEST

START_TEST(encoder_layer_gradcheck) { assert_gradcheck_passes("encoder_layer"); }
END_TEST

Suite *encoder_layer_suite(void) {
    Suite *s = suite_create("encoder_layer");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, encoder_layer_with_zero_weights_is_layernorm);
    tcase_add_test(tc, encoder_layer_ignores_padded_positions);
    tcase_add_test(tc, encoder_layer_dropout_is_seeded);
    tcase_add_test(tc, encoder_layer_gradcheck);
    suite_add_tcase(s, tc);
    return s;
}
