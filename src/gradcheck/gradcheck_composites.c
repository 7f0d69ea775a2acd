/* gradcheck_composites.c — gradient-check cases for the blocks built from the
 * layers: feed-forward, encoder layer, pooler and the three heads. As in
 * gradcheck_cases.c, the loss is L = Σ out ⊙ R, so dout = R. */
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include "gradcheck/gradcheck.h"
#include "layers/feedforward.h"
#include "layers/encoder_layer.h"
#include "layers/attention.h"
#include "layers/pooler.h"
#include "layers/mlm_head.h"
#include "layers/nsp_head.h"
#include "layers/classifier_head.h"
#include "core/gemm.h"
#include "gradcheck/gradcheck_cases.h"

/* A flat set of named tensors, so a case can check "every parameter" by
 * looping instead of listing. */
typedef struct {
    const char *name;
    real *value, *grad;
    long count;
} NamedTensor;

static real *take(real **cursor, long n) { real *p = *cursor; *cursor += n; return p; }

/* Checks every tensor (at most max_checked elements of each; 0: all). The
 * stacked w_qkv and b_qkv are checked as W_q, W_k, W_v and b_q, b_k, b_v. */
static void check_sampled(GradCheckReport *r, const char *layer, GradCheckLoss loss, void *ctx,
                          const NamedTensor *t, int n, long max_checked) {
    for (int i = 0; i < n; i++) {
        if (strcmp(t[i].name, "w_qkv") == 0 || strcmp(t[i].name, "b_qkv") == 0)
            gradcheck_tensor_qkv(r, layer, t[i].name[0] == 'b', loss, ctx, t[i].value, t[i].grad, t[i].count,
                                 max_checked);
        else
            gradcheck_tensor_sampled(r, layer, t[i].name, loss, ctx, t[i].value, t[i].grad, t[i].count,
                                     max_checked);
    }
}

static void check_all(GradCheckReport *r, const char *layer, GradCheckLoss loss, void *ctx,
                      const NamedTensor *t, int n) {
    check_sampled(r, layer, loss, ctx, t, n, 0);
}

/* ---- feedforward ------------------------------------------------------------- */

typedef struct {
    int N, C, I;
    real *inp, *w1, *b1, *w2, *b2, *out, *pre, *act, *dout;
} FeedForwardCase;

static real feedforward_case_loss(void *p) {
    FeedForwardCase *c = p;
    feedforward_forward(c->out, c->pre, c->act, c->inp, c->w1, c->b1, c->w2, c->b2, c->N, c->C, c->I, HIDDEN_ACT_GELU);
    return (real)gradcheck_dot(c->out, c->dout, (long)c->N * c->C);
}

void gradcheck_feedforward(GradCheckReport *r, uint64_t seed) {
    Rng rng = rng_seeded(seed);
    FeedForwardCase c = { .N = 4, .C = 6, .I = 10 };
    long NC = (long)c.N * c.C, NI = (long)c.N * c.I, IC = (long)c.I * c.C;
    long total = NC + IC + c.I + IC + c.C;
    real *values = gradcheck_random(total, &rng, 0.7), *grads = gradcheck_zeros(total);
    real *vc = values, *gc = grads;
    NamedTensor t[5] = {
        { "input", take(&vc, NC), take(&gc, NC), NC },
        { "w1", take(&vc, IC), take(&gc, IC), IC },
        { "b1", take(&vc, c.I), take(&gc, c.I), c.I },
        { "w2", take(&vc, IC), take(&gc, IC), IC },
        { "b2", take(&vc, c.C), take(&gc, c.C), c.C },
    };
    c.inp = t[0].value; c.w1 = t[1].value; c.b1 = t[2].value; c.w2 = t[3].value; c.b2 = t[4].value;
    c.out = gradcheck_zeros(NC); c.pre = gradcheck_zeros(NI); c.act = gradcheck_zeros(NI);
    c.dout = gradcheck_random(NC, &rng, 1);
    real *d_act = gradcheck_zeros(NI), *act_scratch = gradcheck_zeros(NI);
    feedforward_case_loss(&c);
    feedforward_backward(t[0].grad, t[1].grad, t[2].grad, t[3].grad, t[4].grad, d_act, act_scratch, c.dout,
                         c.inp, c.pre, c.w1, c.w2, c.N, c.C, c.I, HIDDEN_ACT_GELU);
    check_all(r, "feedforward", feedforward_case_loss, &c, t, 5);
    free(values); free(grads); free(c.out); free(c.pre); free(c.act); free(c.dout); free(d_act); free(act_scratch);
}

/* ---- encoder layer ------------------------------------------------------------ */

typedef struct {
    EncoderLayerShape shape;
    EncoderLayerParams params;
    EncoderLayerCache cache;
    real *inp, *mask_add, *dout;
} EncoderCase;

static real encoder_case_loss(void *p) {
    EncoderCase *c = p;
    encoder_layer_forward(&c->cache, c->inp, c->mask_add, &c->params, &c->shape);
    return (real)gradcheck_dot(c->cache.out, c->dout, (long)c->shape.B * c->shape.T * c->shape.C);
}

/* Points the twelve parameter views at consecutive slices of a flat buffer and
 * describes them as named tensors (names as in the Hugging Face layer). */
static int encoder_layer_tensors(EncoderLayerParams *v, EncoderLayerParams *g, real *values, real *grads,
                                 int C, int I, NamedTensor *t) {
    struct { const char *name; real **value, **grad; long count; } spec[12] = {
        { "w_qkv", &v->w_qkv, &g->w_qkv, 3L * C * C }, { "b_qkv", &v->b_qkv, &g->b_qkv, 3L * C },
        { "w_attn_out", &v->w_attn_out, &g->w_attn_out, (long)C * C }, { "b_attn_out", &v->b_attn_out, &g->b_attn_out, C },
        { "ln1_w", &v->ln1_w, &g->ln1_w, C }, { "ln1_b", &v->ln1_b, &g->ln1_b, C },
        { "w_ff1", &v->w_ff1, &g->w_ff1, (long)I * C }, { "b_ff1", &v->b_ff1, &g->b_ff1, I },
        { "w_ff2", &v->w_ff2, &g->w_ff2, (long)C * I }, { "b_ff2", &v->b_ff2, &g->b_ff2, C },
        { "ln2_w", &v->ln2_w, &g->ln2_w, C }, { "ln2_b", &v->ln2_b, &g->ln2_b, C },
    };
    for (int i = 0; i < 12; i++) {
        *spec[i].value = take(&values, spec[i].count);
        *spec[i].grad = take(&grads, spec[i].count);
        t[i] = (NamedTensor){ spec[i].name, *spec[i].value, *spec[i].grad, spec[i].count };
    }
    return 12;
}

/* One encoder-layer case: B sequences of T tokens, hidden C, NH heads,
 * intermediate I; the second sequence's last two positions are padding.
 * max_checked > 0 checks that many elements of each tensor (sampled). */
static void run_encoder_case(GradCheckReport *r, uint64_t seed, const char *layer, int B, int T, int C,
                             int NH, int I, long max_checked) {
    Rng rng = rng_seeded(seed);
    EncoderCase c = { .shape = { .B = B, .T = T, .C = C, .NH = NH, .I = I, .layer_norm_eps = (real)1e-12,
                                 .hidden_dropout = (real)0.1, .attention_dropout = (real)0.1,
                                 .training = true, .dropout_key = seed } };
    long NC = (long)B * T * C, att = (long)B * NH * T * T;
    long n_params = 4L * C * C + 3L * C + C + 2 * C + 2L * I * C + I + C + 2 * C;
    /* weights of scale 0.4 at C = 8, and 0.4·√(8/C) wider, so the scores and
     * pre-activations keep the same spread and the softmax does not saturate */
    real *values = gradcheck_random(n_params, &rng, (real)(0.4 * sqrt(8.0 / C))), *grads = gradcheck_zeros(n_params);
    NamedTensor t[13];
    EncoderLayerParams g;
    encoder_layer_tensors(&c.params, &g, values, grads, C, I, t);
    for (int i = 0; i < C; i++) { c.params.ln1_w[i] += 1; c.params.ln2_w[i] += 1; }
    c.inp = gradcheck_random(NC, &rng, 1);
    t[12] = (NamedTensor){ "input", c.inp, gradcheck_zeros(NC), NC };
    c.mask_add = gradcheck_zeros((long)B * T);
    c.mask_add[2 * T - 1] = c.mask_add[2 * T - 2] = ATTENTION_MASK_VALUE;  /* second sequence padded */
    c.dout = gradcheck_random(NC, &rng, 1);
    EncoderLayerCache *e = &c.cache;
    e->qkv = gradcheck_zeros(3 * NC); e->probs = gradcheck_zeros(att); e->probs_dropped = gradcheck_zeros(att);
    e->probs_mask = calloc((size_t)att, 1); e->context = gradcheck_zeros(NC); e->attn_out = gradcheck_zeros(NC);
    e->attn_out_mask = calloc((size_t)NC, 1); e->ln1_sum = gradcheck_zeros(NC); e->ln1_mean = gradcheck_zeros(B * T);
    e->ln1_rstd = gradcheck_zeros(B * T); e->ln1_out = gradcheck_zeros(NC); e->ff_pre = gradcheck_zeros((long)B * T * I);
    e->ff_act = gradcheck_zeros((long)B * T * I); e->ff_out = gradcheck_zeros(NC); e->ff_out_mask = calloc((size_t)NC, 1);
    e->ln2_sum = gradcheck_zeros(NC); e->ln2_mean = gradcheck_zeros(B * T); e->ln2_rstd = gradcheck_zeros(B * T);
    e->out = gradcheck_zeros(NC);
    EncoderLayerScratch s = {
        gradcheck_zeros(NC), gradcheck_zeros(NC), gradcheck_zeros(NC), gradcheck_zeros(NC), gradcheck_zeros(3 * NC),
        gradcheck_zeros(NC), gradcheck_zeros(att), gradcheck_zeros((long)B * T * I), gradcheck_zeros((long)B * T * I),
    };
    encoder_case_loss(&c);
    encoder_layer_backward(t[12].grad, &g, &s, c.dout, c.inp, e, &c.params, &c.shape);
    check_sampled(r, layer, encoder_case_loss, &c, t, 13, max_checked);
    free(values); free(grads); free(c.inp); free(t[12].grad); free(c.mask_add); free(c.dout);
    real *to_free[] = { e->qkv, e->probs, e->probs_dropped, e->context, e->attn_out, e->ln1_sum, e->ln1_mean,
                        e->ln1_rstd, e->ln1_out, e->ff_pre, e->ff_act, e->ff_out, e->ln2_sum, e->ln2_mean,
                        e->ln2_rstd, e->out, s.d_h, s.d_branch, s.d_sublayer, s.d_sum, s.d_qkv, s.d_context,
                        s.d_probs, s.d_ff_act, s.d_ff_pre };
    for (size_t i = 0; i < sizeof to_free / sizeof to_free[0]; i++) free(to_free[i]);
    free(e->probs_mask); free(e->attn_out_mask); free(e->ff_out_mask);
}

void gradcheck_encoder_layer(GradCheckReport *r, uint64_t seed) {
    run_encoder_case(r, seed, "encoder_layer", 2, 5, 8, 2, 12, 0);
}

/* Above every thread threshold, on two threads: the (batch, head) loop of
 * attention (B·NH·T²·hd = 2·4·64²·32 ≥ 64³, attention.c), and the row loops
 * of linear, GELU, LayerNorm and the residual LayerNorm (B·T·C = 16384 ≥
 * PARALLEL_MIN_WORK, core/parallel.h). 6 elements of each tensor are
 * checked, spread over it. */
void gradcheck_encoder_layer_parallel(GradCheckReport *r, uint64_t seed) {
    int threads = bert_threads();
    bert_runtime_init(2);
    run_encoder_case(r, seed, "encoder_layer_parallel", 2, 64, 128, 4, 512, 6);
    bert_runtime_init(threads);
}

/* ---- pooler ------------------------------------------------------------------- */

typedef struct {
    int B, T, C;
    real *hidden, *weight, *bias, *pooled, *dout;
} PoolerCase;

static real pooler_case_loss(void *p) {
    PoolerCase *c = p;
    pooler_forward(c->pooled, c->hidden, c->weight, c->bias, c->B, c->T, c->C);
    return (real)gradcheck_dot(c->pooled, c->dout, (long)c->B * c->C);
}

void gradcheck_pooler(GradCheckReport *r, uint64_t seed) {
    Rng rng = rng_seeded(seed);
    PoolerCase c = { .B = 3, .T = 4, .C = 5 };
    long BTC = (long)c.B * c.T * c.C, CC = (long)c.C * c.C;
    c.hidden = gradcheck_random(BTC, &rng, 1);
    c.weight = gradcheck_random(CC, &rng, 0.5);
    c.bias = gradcheck_random(c.C, &rng, 0.5);
    c.pooled = gradcheck_zeros((long)c.B * c.C);
    c.dout = gradcheck_random((long)c.B * c.C, &rng, 1);
    NamedTensor t[3] = {
        { "hidden", c.hidden, gradcheck_zeros(BTC), BTC },
        { "weight", c.weight, gradcheck_zeros(CC), CC },
        { "bias", c.bias, gradcheck_zeros(c.C), c.C },
    };
    real *d_pre = gradcheck_zeros((long)c.B * c.C);
    pooler_case_loss(&c);
    pooler_backward(t[0].grad, t[1].grad, t[2].grad, d_pre, c.dout, c.pooled, c.hidden, c.weight, c.B, c.T, c.C);
    check_all(r, "pooler", pooler_case_loss, &c, t, 3);
    for (int i = 0; i < 3; i++) { free(t[i].value); free(t[i].grad); }
    free(c.pooled); free(c.dout); free(d_pre);
}

/* ---- masked-LM head ------------------------------------------------------------ */

typedef struct {
    int M, C, V;
    real *inp, *dense_w, *dense_b, *ln_w, *ln_b, *word_emb, *out_bias;
    real *logits, *pre, *act, *ln_out, *ln_mean, *ln_rstd, *dout;
} MlmCase;

static real mlm_case_loss(void *p) {
    MlmCase *c = p;
    mlm_head_forward(c->logits, c->pre, c->act, c->ln_out, c->ln_mean, c->ln_rstd, c->inp, c->dense_w,
                     c->dense_b, c->ln_w, c->ln_b, c->word_emb, c->out_bias, (real)1e-12, c->M, c->C, c->V, HIDDEN_ACT_GELU);
    return (real)gradcheck_dot(c->logits, c->dout, (long)c->M * c->V);
}

void gradcheck_mlm_head(GradCheckReport *r, uint64_t seed) {
    Rng rng = rng_seeded(seed);
    MlmCase c = { .M = 4, .C = 6, .V = 11 };
    long MC = (long)c.M * c.C, CC = (long)c.C * c.C, VC = (long)c.V * c.C;
    long total = MC + CC + c.C + c.C + c.C + VC + c.V;
    real *values = gradcheck_random(total, &rng, 0.6), *grads = gradcheck_zeros(total);
    real *vc = values, *gc = grads;
    NamedTensor t[7] = {
        { "input", take(&vc, MC), take(&gc, MC), MC },
        { "dense_w", take(&vc, CC), take(&gc, CC), CC },
        { "dense_b", take(&vc, c.C), take(&gc, c.C), c.C },
        { "ln_w", take(&vc, c.C), take(&gc, c.C), c.C },
        { "ln_b", take(&vc, c.C), take(&gc, c.C), c.C },
        { "word_emb (tied decoder)", take(&vc, VC), take(&gc, VC), VC },
        { "out_bias", take(&vc, c.V), take(&gc, c.V), c.V },
    };
    c.inp = t[0].value; c.dense_w = t[1].value; c.dense_b = t[2].value; c.ln_w = t[3].value;
    c.ln_b = t[4].value; c.word_emb = t[5].value; c.out_bias = t[6].value;
    for (int i = 0; i < c.C; i++) c.ln_w[i] += 1;
    c.logits = gradcheck_zeros((long)c.M * c.V); c.dout = gradcheck_random((long)c.M * c.V, &rng, 1);
    c.pre = gradcheck_zeros(MC); c.act = gradcheck_zeros(MC); c.ln_out = gradcheck_zeros(MC);
    c.ln_mean = gradcheck_zeros(c.M); c.ln_rstd = gradcheck_zeros(c.M);
    real *s1 = gradcheck_zeros(MC), *s2 = gradcheck_zeros(MC), *s3 = gradcheck_zeros(MC);
    mlm_case_loss(&c);
    mlm_head_backward(t[0].grad, t[1].grad, t[2].grad, t[3].grad, t[4].grad, t[5].grad, t[6].grad, s1, s2, s3,
                      c.dout, c.inp, c.pre, c.act, c.ln_out, c.ln_mean, c.ln_rstd, c.dense_w, c.ln_w,
                      c.word_emb, c.M, c.C, c.V, HIDDEN_ACT_GELU);
    check_all(r, "mlm_head", mlm_case_loss, &c, t, 7);
    free(values); free(grads); free(c.logits); free(c.dout); free(c.pre); free(c.act); free(c.ln_out);
    free(c.ln_mean); free(c.ln_rstd); free(s1); free(s2); free(s3);
}

/* ---- next-sentence and classification heads ------------------------------------ */

typedef struct {
    int B, C, K;
    real p;
    uint64_t key;
    real *pooled, *weight, *bias, *logits, *dropped, *dout;
    uint8_t *mask;
} HeadCase;

static real nsp_case_loss(void *p) {
    HeadCase *c = p;
    nsp_head_forward(c->logits, c->pooled, c->weight, c->bias, c->B, c->C);
    return (real)gradcheck_dot(c->logits, c->dout, (long)c->B * NSP_CLASSES);
}

static real classifier_case_loss(void *p) {
    HeadCase *c = p;
    classifier_head_forward(c->logits, c->dropped, c->mask, c->pooled, c->weight, c->bias, c->p, c->key,
                            true, c->B, c->C, c->K);
    return (real)gradcheck_dot(c->logits, c->dout, (long)c->B * c->K);
}

static void gradcheck_head(GradCheckReport *r, uint64_t seed, bool classifier) {
    Rng rng = rng_seeded(seed);
    HeadCase c = { .B = 3, .C = 7, .K = classifier ? 4 : NSP_CLASSES, .p = (real)0.3, .key = seed };
    long BC = (long)c.B * c.C, KC = (long)c.K * c.C;
    NamedTensor t[3] = {
        { "pooled", gradcheck_random(BC, &rng, 1), gradcheck_zeros(BC), BC },
        { "weight", gradcheck_random(KC, &rng, 0.5), gradcheck_zeros(KC), KC },
        { "bias", gradcheck_random(c.K, &rng, 0.5), gradcheck_zeros(c.K), c.K },
    };
    c.pooled = t[0].value; c.weight = t[1].value; c.bias = t[2].value;
    c.logits = gradcheck_zeros((long)c.B * c.K);
    c.dout = gradcheck_random((long)c.B * c.K, &rng, 1);
    c.dropped = gradcheck_zeros(BC);
    c.mask = calloc((size_t)BC, 1);
    real *d_dropped = gradcheck_zeros(BC);
    if (classifier) {
        classifier_case_loss(&c);
        classifier_head_backward(t[0].grad, t[1].grad, t[2].grad, d_dropped, c.dout, c.dropped, c.mask,
                                 c.weight, c.p, c.B, c.C, c.K);
        check_all(r, "classifier_head", classifier_case_loss, &c, t, 3);
    } else {
        nsp_case_loss(&c);
        nsp_head_backward(t[0].grad, t[1].grad, t[2].grad, c.dout, c.pooled, c.weight, c.B, c.C);
        check_all(r, "nsp_head", nsp_case_loss, &c, t, 3);
    }
    for (int i = 0; i < 3; i++) { free(t[i].value); free(t[i].grad); }
    free(c.logits); free(c.dout); free(c.dropped); free(c.mask); free(d_dropped);
}

void gradcheck_nsp_head(GradCheckReport *r, uint64_t seed) { gradcheck_head(r, seed, false); }
void gradcheck_classifier_head(GradCheckReport *r, uint64_t seed) { gradcheck_head(r, seed, true); }
