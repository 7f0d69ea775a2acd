/* test_attention.c — multi-head self-attention: closed-form cases (one token,
 * identical keys, padding, causal mask), the dropout rule, a comparison with a
 * naive loop-by-loop reference, accumulation in backward, finite differences. */
#include <stdlib.h>
#include <string.h>
#include "test_util.h"
#include "layers/attention.h"
#include "core/rng.h"
#include "core/gemm.h"
#include "layers/softmax.h"
#include "layers/dropout.h"

/* One attention instance with every buffer the layer needs. */
typedef struct {
    int B, T, C, NH;
    real *inp, *mask_add, *w_qkv, *b_qkv, *w_out, *b_out;
    real *out, *qkv, *probs, *probs_dropped, *context;
    uint8_t *dropout_mask;
    real *dout, *dinp, *d_w_qkv, *d_b_qkv, *d_w_out, *d_b_out, *d_qkv, *d_context, *d_probs;
} Attn;

static real *randn(long n, Rng *rng, double scale) {
    real *t = malloc(sizeof(real) * (size_t)n);
    for (long i = 0; i < n; i++) t[i] = (real)(rng_normal(rng) * scale);
    return t;
}
static real *zeros(long n) { return calloc((size_t)n, sizeof(real)); }

static Attn attn_new(int B, int T, int C, int NH, uint64_t seed) {
    Rng rng = rng_seeded(seed);
    long BTC = (long)B * T * C, P = (long)B * NH * T * T;
    Attn a = { .B = B, .T = T, .C = C, .NH = NH };
    a.inp = randn(BTC, &rng, 1);
    a.w_qkv = randn(3L * C * C, &rng, 0.5);
    a.b_qkv = randn(3L * C, &rng, 0.5);
    a.w_out = randn((long)C * C, &rng, 0.5);
    a.b_out = randn(C, &rng, 0.5);
    a.dout = randn(BTC, &rng, 1);
    a.mask_add = zeros((long)B * T);
    a.out = zeros(BTC); a.qkv = zeros(3 * BTC); a.context = zeros(BTC);
    a.probs = zeros(P); a.probs_dropped = zeros(P);
    a.dropout_mask = calloc((size_t)P, 1);
    a.dinp = zeros(BTC); a.d_w_qkv = zeros(3L * C * C); a.d_b_qkv = zeros(3L * C);
    a.d_w_out = zeros((long)C * C); a.d_b_out = zeros(C);
    a.d_qkv = zeros(3 * BTC); a.d_context = zeros(BTC); a.d_probs = zeros(P);
    return a;
}

static void attn_free(Attn *a) {
    real *all[] = { a->inp, a->mask_add, a->w_qkv, a->b_qkv, a->w_out, a->b_out, a->out, a->qkv,
                    a->probs, a->probs_dropped, a->context, a->dout, a->dinp, a->d_w_qkv,
                    a->d_b_qkv, a->d_w_out, a->d_b_out, a->d_qkv, a->d_context, a->d_probs };
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) free(all[i]);
    free(a->dropout_mask);
}

static void attn_forward(Attn *a, real p, uint64_t key, bool training, bool causal) {
    attention_forward(a->out, a->qkv, a->probs, a->dropout_mask, a->probs_dropped, a->context,
                      a->inp, a->mask_add, a->w_qkv, a->b_qkv, a->w_out, a->b_out,
                      p, key, training, causal, a->B, a->T, a->C, a->NH);
}

static void attn_backward(Attn *a, real p) {
    attention_backward(a->dinp, a->d_w_qkv, a->d_b_qkv, a->d_w_out, a->d_b_out,
                       a->d_qkv, a->d_context, a->d_probs, a->dout, a->inp, a->qkv,
                       a->probs, a->dropout_mask, a->context,
                       a->w_qkv, a->w_out, p, a->B, a->T, a->C, a->NH);
}

/* probs[b, h, i, j] */
static real prob(const Attn *a, const real *probs, int b, int h, int i, int j) {
    return probs[(((long)b * a->NH + h) * a->T + i) * a->T + j];
}

START_TEST(attention_single_token_passes_values_through) {
    /* T = 1: the only probability is 1, so out = (x W_vᵀ + b_v) W_oᵀ + b_o. */
    Attn a = attn_new(2, 1, 6, 3, 11);
    attn_forward(&a, 0, 0, false, false);
    int C = a.C;
    for (int b = 0; b < a.B; b++) {
        double v[6], want;
        for (int o = 0; o < C; o++) {
            v[o] = a.b_qkv[2 * C + o];
            for (int i = 0; i < C; i++) v[o] += (double)a.w_qkv[(long)(2 * C + o) * C + i] * a.inp[b * C + i];
        }
        for (int o = 0; o < C; o++) {
            want = a.b_out[o];
            for (int i = 0; i < C; i++) want += (double)a.w_out[o * C + i] * v[i];
            ck_assert_near(a.out[b * C + o], want, 100 * REAL_TOL);
        }
        for (int h = 0; h < a.NH; h++) ck_assert(prob(&a, a.probs, b, h, 0, 0) == 1);
    }
    attn_free(&a);
}
END_TEST

START_TEST(attention_identical_keys_average_the_values) {
    /* W_k = 0: every key equals b_k, all scores in a row are equal, so probs
     * are uniform 1/T and each context row is the mean of the value rows. */
    Attn a = attn_new(2, 4, 8, 2, 12);
    int C = a.C, T = a.T;
    memset(a.w_qkv + (long)C * C, 0, sizeof(real) * (size_t)C * C);
    attn_forward(&a, 0, 0, false, false);
    for (int b = 0; b < a.B; b++)
        for (int h = 0; h < a.NH; h++)
            for (int i = 0; i < T; i++)
                for (int j = 0; j < T; j++) ck_assert_near(prob(&a, a.probs, b, h, i, j), 1.0 / T, REAL_TOL);
    for (int b = 0; b < a.B; b++)
        for (int c = 0; c < C; c++) {
            double mean = 0;
            for (int t = 0; t < T; t++) mean += a.qkv[((long)b * T + t) * 3 * C + 2 * C + c];
            mean /= T;
            for (int i = 0; i < T; i++) ck_assert_near(a.context[((long)b * T + i) * C + c], mean, 10 * REAL_TOL);
        }
    attn_free(&a);
}
END_TEST

START_TEST(attention_padded_keys_get_zero_probability_and_gradient) {
    /* Sequence 1's last two positions are padding: every query gives them
     * probability exactly 0, the rest sums to 1, and their keys and values
     * get exactly zero gradient. */
    Attn a = attn_new(2, 5, 8, 2, 13);
    int T = a.T, C = a.C;
    a.mask_add[T + 3] = a.mask_add[T + 4] = ATTENTION_MASK_VALUE;
    attn_forward(&a, 0, 0, false, false);
    attn_backward(&a, 0);
    for (int h = 0; h < a.NH; h++)
        for (int i = 0; i < T; i++) {
            double sum = 0;
            for (int j = 0; j < T; j++) sum += prob(&a, a.probs, 1, h, i, j);
            ck_assert_near(sum, 1.0, REAL_TOL);
            ck_assert(prob(&a, a.probs, 1, h, i, 3) == 0 && prob(&a, a.probs, 1, h, i, 4) == 0);
            ck_assert(prob(&a, a.probs, 0, h, i, 4) > 0);   /* sequence 0 is not padded */
        }
    for (int t = 3; t < 5; t++)
        for (int c = C; c < 3 * C; c++) {            /* K and V columns of qkv */
            ck_assert(a.d_qkv[((long)T + t) * 3 * C + c] == 0);
            ck_assert(a.d_qkv[(long)t * 3 * C + c] != 0);   /* unpadded in sequence 0 */
        }
    attn_free(&a);
}
END_TEST

START_TEST(attention_causal_mask_zeroes_future_keys) {
    Attn a = attn_new(2, 5, 8, 2, 14);
    attn_forward(&a, 0, 0, false, true);
    for (int b = 0; b < a.B; b++)
        for (int h = 0; h < a.NH; h++) {
            ck_assert(prob(&a, a.probs, b, h, 0, 0) == 1);   /* the first query sees only itself */
            for (int i = 0; i < a.T; i++)
                for (int j = 0; j < a.T; j++)
                    if (j > i) ck_assert(prob(&a, a.probs, b, h, i, j) == 0);
                    else ck_assert(prob(&a, a.probs, b, h, i, j) > 0);
        }
    attn_free(&a);
}
END_TEST

START_TEST(attention_dropout_follows_the_counter_rule) {
    /* Element e of probs[B,NH,T,T] is dropped iff rng_uniform_at(key, e) < p;
     * kept ones are scaled by 1/(1 − p). Off (training false, or p = 0): not written. */
    Attn a = attn_new(2, 6, 8, 2, 15);
    long P = (long)a.B * a.NH * a.T * a.T, dropped = 0;
    uint64_t key = 987654321;
    attn_forward(&a, (real)0.25, key, true, false);
    for (long e = 0; e < P; e++) {
        int keep = rng_uniform_at(key, (uint64_t)e) >= 0.25;
        ck_assert_int_eq(a.dropout_mask[e], keep);
        ck_assert_near(a.probs_dropped[e], keep ? a.probs[e] / 0.75 : 0.0, REAL_TOL);
        dropped += !keep;
    }
    ck_assert(dropped > P / 8 && dropped < P / 2);
    /* Off: the mask and probs_dropped are left alone (probs stands in for them) */
    for (int off = 0; off < 2; off++) {
        memset(a.dropout_mask, 7, (size_t)P);
        for (long e = 0; e < P; e++) a.probs_dropped[e] = -1;
        if (off == 0) attn_forward(&a, (real)0.25, key, false, false);
        else attn_forward(&a, 0, key, true, false);
        for (long e = 0; e < P; e++) ck_assert(a.dropout_mask[e] == 7 && a.probs_dropped[e] == -1);
    }
    attn_free(&a);
}
END_TEST

/* Attention's probabilities, dropout mask and dropped probabilities are the
 * bits softmax_forward and dropout_forward give on the same scores, and its
 * d_scores are the values dropout_backward then softmax_backward give
 * (compared with ==, which does not tell −0 from +0: the layers accumulate
 * into zeros, attention writes). T = 21 leaves vector-loop tails. */
START_TEST(attention_softmax_and_dropout_are_the_layers) {
    Attn a = attn_new(2, 21, 8, 2, 31);
    const int B = a.B, T = a.T, C = a.C, NH = a.NH, hd = C / NH;
    const long TT = (long)T * T, P = (long)B * NH * TT;
    const real p = (real)0.1;
    const uint64_t key = 4242;
    for (int j = 17; j < T; j++) a.mask_add[j] = ATTENTION_MASK_VALUE;   /* padding in sequence 0 */
    attn_forward(&a, p, key, true, false);
    attn_backward(&a, p);

    real *scores = zeros(P), *dropped = zeros(P), *d_dropped = zeros(P), *d_probs = zeros(P), *d_scores = zeros(P);
    uint8_t *mask = calloc((size_t)P, 1);
    for (int bh = 0; bh < B * NH; bh++) {
        int b = bh / NH, h = bh % NH;
        const real *q = a.qkv + (long)b * T * 3 * C + h * hd, *k = q + C, *v = q + 2 * C;
        real *sc = scores + bh * TT;
        gemm(false, true, T, T, hd, 1 / sqrt((real)hd), q, 3 * C, k, 3 * C, 0, sc, T);
        for (int i = 0; i < T; i++)
            for (int j = 0; j < T; j++) sc[(long)i * T + j] += a.mask_add[(long)b * T + j];
        gemm(false, true, T, T, hd, 1, a.d_context + (long)b * T * C + h * hd, C, v, 3 * C, 0,
             d_dropped + bh * TT, T);
    }
    softmax_forward(scores, scores, B * NH * T, T);
    dropout_forward(dropped, mask, scores, p, key, P, true);
    ck_assert(memcmp(scores, a.probs, sizeof(real) * (size_t)P) == 0);
    ck_assert(memcmp(mask, a.dropout_mask, (size_t)P) == 0);
    ck_assert(memcmp(dropped, a.probs_dropped, sizeof(real) * (size_t)P) == 0);

    dropout_backward(d_probs, d_dropped, mask, p, P);
    softmax_backward(d_scores, d_probs, scores, B * NH * T, T);
    for (long e = 0; e < P; e++) ck_assert_msg(d_scores[e] == a.d_probs[e], "element %ld: %g != %g", e,
                                               (double)d_scores[e], (double)a.d_probs[e]);
    free(scores); free(dropped); free(d_dropped); free(d_probs); free(d_scores); free(mask);
    attn_free(&a);
}
END_TEST

START_TEST(attention_matches_naive_reference) {
    /* An independent, loop-by-loop implementation in double of the same
     * equations (no gemm, no strided views), with padding, dropout and causal. */
    for (int causal = 0; causal < 2; causal++) {
        Attn a = attn_new(2, 5, 12, 3, 16 + causal);
        int B = a.B, T = a.T, C = a.C, NH = a.NH, hd = C / NH;
        real p = (real)0.2;
        uint64_t key = 4242;
        a.mask_add[T + 4] = ATTENTION_MASK_VALUE;
        attn_forward(&a, p, key, true, causal);
        double *q = malloc(sizeof(double) * (size_t)B * T * 3 * C), *ctx = calloc((size_t)B * T * C, sizeof(double));
        for (int bt = 0; bt < B * T; bt++)
            for (int o = 0; o < 3 * C; o++) {
                double s = a.b_qkv[o];
                for (int i = 0; i < C; i++) s += (double)a.w_qkv[(long)o * C + i] * a.inp[(long)bt * C + i];
                q[(long)bt * 3 * C + o] = s;
            }
        for (int b = 0; b < B; b++)
            for (int h = 0; h < NH; h++)
                for (int i = 0; i < T; i++) {
                    double sc[5], mx = -1e300, z = 0;
                    for (int j = 0; j < T; j++) {
                        double s = 0;
                        for (int d = 0; d < hd; d++)
                            s += q[((long)b * T + i) * 3 * C + h * hd + d] * q[((long)b * T + j) * 3 * C + C + h * hd + d];
                        sc[j] = s / sqrt((double)hd) + a.mask_add[b * T + j] + (causal && j > i ? -10000.0 : 0);
                        if (sc[j] > mx) mx = sc[j];
                    }
                    for (int j = 0; j < T; j++) z += (sc[j] = exp(sc[j] - mx));
                    for (int j = 0; j < T; j++) {
                        double pr = sc[j] / z;
                        long e = (((long)b * NH + h) * T + i) * T + j;
                        ck_assert_near(a.probs[e], pr, 10 * REAL_TOL);
                        double pd = rng_uniform_at(key, (uint64_t)e) < p ? 0 : pr / (1 - p);
                        for (int d = 0; d < hd; d++)
                            ctx[((long)b * T + i) * C + h * hd + d] += pd * q[((long)b * T + j) * 3 * C + 2 * C + h * hd + d];
                    }
                }
        for (int bt = 0; bt < B * T; bt++)
            for (int o = 0; o < C; o++) {
                double s = a.b_out[o];
                for (int i = 0; i < C; i++) s += (double)a.w_out[o * C + i] * ctx[(long)bt * C + i];
                ck_assert_near(a.out[(long)bt * C + o], s, 100 * REAL_TOL);
            }
        free(q); free(ctx);
        attn_free(&a);
    }
}
END_TEST

START_TEST(attention_backward_accumulates) {
    /* A second backward into the same gradients doubles them (and the scratch
     * buffers, overwritten each call, do not leak the first call into the second). */
    Attn a = attn_new(2, 5, 8, 2, 18);
    a.mask_add[9] = ATTENTION_MASK_VALUE;
    attn_forward(&a, (real)0.1, 77, true, false);
    attn_backward(&a, (real)0.1);
    int C = a.C;
    long BTC = (long)a.B * a.T * C;
    struct { real *g; long n; } grads[] = {
        { a.dinp, BTC }, { a.d_w_qkv, 3L * C * C }, { a.d_b_qkv, 3L * C }, { a.d_w_out, (long)C * C }, { a.d_b_out, C },
    };
    real *first[5];
    for (int k = 0; k < 5; k++) {
        first[k] = malloc(sizeof(real) * (size_t)grads[k].n);
        memcpy(first[k], grads[k].g, sizeof(real) * (size_t)grads[k].n);
    }
    attn_backward(&a, (real)0.1);
    for (int k = 0; k < 5; k++) {
        double nonzero = 0;
        for (long i = 0; i < grads[k].n; i++) {
            ck_assert_near(grads[k].g[i], 2 * first[k][i], 10 * REAL_TOL * (1 + fabs(first[k][i])));
            nonzero += fabs(first[k][i]);
        }
        ck_assert(nonzero > 0);
        free(first[k]);
    }
    attn_free(&a);
}
END_TEST

START_TEST(attention_gradcheck) { assert_gradcheck_passes("attention"); }
END_TEST

START_TEST(attention_causal_gradcheck) { assert_gradcheck_passes("attention_causal"); }
END_TEST

Suite *attention_suite(void) {
    Suite *s = suite_create("attention");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, attention_single_token_passes_values_through);
    tcase_add_test(tc, attention_identical_keys_average_the_values);
    tcase_add_test(tc, attention_padded_keys_get_zero_probability_and_gradient);
    tcase_add_test(tc, attention_causal_mask_zeroes_future_keys);
    tcase_add_test(tc, attention_dropout_follows_the_counter_rule);
    tcase_add_test(tc, attention_softmax_and_dropout_are_the_layers);
    tcase_add_test(tc, attention_matches_naive_reference);
    tcase_add_test(tc, attention_backward_accumulates);
    tcase_add_test(tc, attention_gradcheck);
    tcase_add_test(tc, attention_causal_gradcheck);
    suite_add_tcase(s, tc);
    return s;
}
