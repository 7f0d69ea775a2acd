/* gradcheck_attention.c — gradient-check cases for softmax and multi-head
 * self-attention (registered in gradcheck_cases.c). The attention cases use a
 * padding mask and dropout with a fixed key: the dropout mask is a pure
 * function of (key, index), so every finite-difference evaluation sees the
 * same mask and the loss is smooth in every checked tensor. */
#include <stdlib.h>
#include <string.h>
#include "gradcheck/gradcheck_cases.h"
#include "layers/softmax.h"
#include "layers/attention.h"

/* ---- softmax --------------------------------------------------------------- */

typedef struct {
    int N, C;
    real *inp, *out, *dout;
} SoftmaxCase;

static real softmax_case_loss(void *p) {
    SoftmaxCase *c = p;
    softmax_forward(c->out, c->inp, c->N, c->C);
    return (real)gradcheck_dot(c->out, c->dout, (long)c->N * c->C);
}

void gradcheck_softmax(GradCheckReport *report, uint64_t seed) {
    Rng rng = rng_seeded(seed);
    SoftmaxCase c = { .N = 4, .C = 7 };
    long n = (long)c.N * c.C;
    c.inp = gradcheck_random(n, &rng, 2);
    c.dout = gradcheck_random(n, &rng, 1);
    c.out = gradcheck_zeros(n);
    real *dinp = gradcheck_zeros(n);
    softmax_case_loss(&c);
    softmax_backward(dinp, c.dout, c.out, c.N, c.C);
    gradcheck_tensor(report, "softmax", "input", softmax_case_loss, &c, c.inp, dinp, n);
    free(c.inp); free(c.dout); free(c.out); free(dinp);
}

/* ---- attention ------------------------------------------------------------- */

typedef struct {
    int B, T, C, NH;
    bool causal;
    real dropout_p;
    uint64_t dropout_key;
    real *inp, *mask_add, *w_qkv, *b_qkv, *w_out, *b_out, *dout;
    real *out, *qkv, *probs, *probs_dropped, *context;
    uint8_t *dropout_mask;
} AttentionCase;

static real attention_case_loss(void *p) {
    AttentionCase *c = p;
    attention_forward(c->out, c->qkv, c->probs, c->dropout_mask, c->probs_dropped, c->context,
                      c->inp, c->mask_add, c->w_qkv, c->b_qkv, c->w_out, c->b_out,
                      c->dropout_p, c->dropout_key, true, c->causal, c->B, c->T, c->C, c->NH);
    return (real)gradcheck_dot(c->out, c->dout, (long)c->B * c->T * c->C);
}

static void run_attention_case(GradCheckReport *report, uint64_t seed, bool causal) {
    const char *layer = causal ? "attention_causal" : "attention";
    Rng rng = rng_seeded(seed);
    AttentionCase c = { .B = 2, .T = 5, .C = 8, .NH = 2, .causal = causal,
                        .dropout_p = (real)0.1, .dropout_key = 0x5eed0a77e47104ULL };
    long BT = (long)c.B * c.T, BTC = BT * c.C, C = c.C;
    long probs_n = (long)c.B * c.NH * c.T * c.T;
    c.inp = gradcheck_random(BTC, &rng, 1);
    c.w_qkv = gradcheck_random(3 * C * C, &rng, 0.5);
    c.b_qkv = gradcheck_random(3 * C, &rng, 0.5);
    c.w_out = gradcheck_random(C * C, &rng, 0.5);
    c.b_out = gradcheck_random(C, &rng, 0.5);
    c.dout = gradcheck_random(BTC, &rng, 1);
    /* the second sequence's last two positions are padding */
    c.mask_add = gradcheck_zeros(BT);
    for (int t = c.T - 2; t < c.T; t++) c.mask_add[c.T + t] = ATTENTION_MASK_VALUE;
    c.out = gradcheck_zeros(BTC);
    c.qkv = gradcheck_zeros(3 * BTC);
    c.probs = gradcheck_zeros(probs_n);
    c.probs_dropped = gradcheck_zeros(probs_n);
    c.context = gradcheck_zeros(BTC);
    c.dropout_mask = calloc((size_t)probs_n, 1);
    real *dinp = gradcheck_zeros(BTC), *d_w_qkv = gradcheck_zeros(3 * C * C);
    real *d_b_qkv = gradcheck_zeros(3 * C), *d_w_out = gradcheck_zeros(C * C);
    real *d_b_out = gradcheck_zeros(C);
    real *d_qkv = gradcheck_zeros(3 * BTC), *d_context = gradcheck_zeros(BTC);
    real *d_probs = gradcheck_zeros(probs_n);

    attention_case_loss(&c);
    attention_backward(dinp, d_w_qkv, d_b_qkv, d_w_out, d_b_out, d_qkv, d_context, d_probs,
                       c.dout, c.inp, c.qkv, c.probs, c.dropout_mask, c.context,
                       c.w_qkv, c.w_out, c.dropout_p, c.B, c.T, c.C, c.NH);
    gradcheck_tensor(report, layer, "input", attention_case_loss, &c, c.inp, dinp, BTC);
    /* w_qkv's three row blocks are W_q, W_k, W_v: one line each */
    gradcheck_tensor_qkv(report, layer, false, attention_case_loss, &c, c.w_qkv, d_w_qkv, 3 * C * C, 0);
    gradcheck_tensor_qkv(report, layer, true, attention_case_loss, &c, c.b_qkv, d_b_qkv, 3 * C, 0);
    gradcheck_tensor(report, layer, "w_out", attention_case_loss, &c, c.w_out, d_w_out, C * C);
    gradcheck_tensor(report, layer, "b_out", attention_case_loss, &c, c.b_out, d_b_out, C);

    free(c.inp); free(c.w_qkv); free(c.b_qkv); free(c.w_out); free(c.b_out); free(c.dout);
    free(c.mask_add); free(c.out); free(c.qkv); free(c.probs); free(c.probs_dropped);
    free(c.context); free(c.dropout_mask);
    free(dinp); free(d_w_qkv); free(d_b_qkv); free(d_w_out); free(d_b_out);
    free(d_qkv); free(d_context); free(d_probs);
}

void gradcheck_attention(GradCheckReport *report, uint64_t seed) {
    run_attention_case(report, seed, false);
}

void gradcheck_attention_causal(GradCheckReport *report, uint64_t seed) {
    run_attention_case(report, seed, true);
}
