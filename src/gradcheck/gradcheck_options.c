/* gradcheck_options.c — gradient-check cases for the options a teacher can
 * switch on (docs/README.md "Options"), registered in gradcheck_cases.c:
 * the ReLU layer and a ReLU feed-forward, mean and max pooling over a
 * sequence, and the whole tiny BERT with each option on (causal attention,
 * ReLU, sinusoidal positions, mean and max pooling). As everywhere, a layer's
 * loss is L = Σ out ⊙ R (dout = R) and the model's is its real loss. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "gradcheck/gradcheck_cases.h"
#include "layers/relu.h"
#include "layers/feedforward.h"
#include "layers/sequence_pooling.h"
#include "model/model.h"
#include "layers/cross_entropy.h"

/* ReLU has a kink at 0, where central differences straddling it measure the
 * average of the two one-sided slopes: inputs are moved at least 0.1 (ten
 * float steps, 10⁴ double steps) away from it. */
static void away_from_kink(real *x, long n) {
    for (long i = 0; i < n; i++)
        if (fabs((double)x[i]) < 0.1) x[i] += x[i] < 0 ? (real)-0.1 : (real)0.1;
}

/* ---- relu ------------------------------------------------------------------- */

typedef struct {
    long n;
    real *inp, *out, *dout;
} ReluCase;

static real relu_case_loss(void *p) {
    ReluCase *c = p;
    relu_forward(c->out, c->inp, c->n);
    return (real)gradcheck_dot(c->out, c->dout, c->n);
}

void gradcheck_relu(GradCheckReport *r, uint64_t seed) {
    Rng rng = rng_seeded(seed);
    ReluCase c = { .n = 40 };
    c.inp = gradcheck_random(c.n, &rng, 1);
    away_from_kink(c.inp, c.n);
    c.dout = gradcheck_random(c.n, &rng, 1);
    c.out = gradcheck_zeros(c.n);
    real *dinp = gradcheck_zeros(c.n);
    relu_case_loss(&c);
    relu_backward(dinp, c.dout, c.inp, c.n);
    gradcheck_tensor(r, "relu", "input", relu_case_loss, &c, c.inp, dinp, c.n);
    free(c.inp); free(c.dout); free(c.out); free(dinp);
}

/* ---- feed-forward with ReLU ---------------------------------------------------- */

typedef struct {
    int N, C, I;
    real *inp, *w1, *b1, *w2, *b2, *out, *pre, *act, *dout;
} FeedForwardReluCase;

static real feedforward_relu_loss(void *p) {
    FeedForwardReluCase *c = p;
    feedforward_forward(c->out, c->pre, c->act, c->inp, c->w1, c->b1, c->w2, c->b2, c->N, c->C, c->I,
                        HIDDEN_ACT_RELU);
    return (real)gradcheck_dot(c->out, c->dout, (long)c->N * c->C);
}

void gradcheck_feedforward_relu(GradCheckReport *r, uint64_t seed) {
    Rng rng = rng_seeded(seed);
    FeedForwardReluCase c = { .N = 4, .C = 6, .I = 10 };
    long NC = (long)c.N * c.C, NI = (long)c.N * c.I, IC = (long)c.I * c.C;
    c.inp = gradcheck_random(NC, &rng, 0.7);
    c.w1 = gradcheck_random(IC, &rng, 0.7);
    c.b1 = gradcheck_random(c.I, &rng, 0.7);
    c.w2 = gradcheck_random(IC, &rng, 0.7);
    c.b2 = gradcheck_random(c.C, &rng, 0.7);
    c.dout = gradcheck_random(NC, &rng, 1);
    c.out = gradcheck_zeros(NC); c.pre = gradcheck_zeros(NI); c.act = gradcheck_zeros(NI);
    /* keep every pre-activation away from the kink: shift b1 so that no
     * |pre| is below 0.3 (a step of h in any input moves pre by far less) */
    feedforward_relu_loss(&c);
    for (int i = 0; i < c.I; i++) {
        double closest = INFINITY;
        for (int n = 0; n < c.N; n++) {
            double v = c.pre[(long)n * c.I + i];
            if (fabs(v) < fabs(closest)) closest = v;
        }
        if (fabs(closest) < 0.3) c.b1[i] += (real)(closest < 0 ? -0.3 : 0.3);
    }
    real *dinp = gradcheck_zeros(NC), *dw1 = gradcheck_zeros(IC), *db1 = gradcheck_zeros(c.I);
    real *dw2 = gradcheck_zeros(IC), *db2 = gradcheck_zeros(c.C);
    real *d_act = gradcheck_zeros(NI), *d_pre = gradcheck_zeros(NI);
    feedforward_relu_loss(&c);
    feedforward_backward(dinp, dw1, db1, dw2, db2, d_act, d_pre, c.dout, c.inp, c.pre, c.act, c.w1, c.w2,
                         c.N, c.C, c.I, HIDDEN_ACT_RELU);
    const char *layer = "feedforward_relu";
    gradcheck_tensor(r, layer, "input", feedforward_relu_loss, &c, c.inp, dinp, NC);
    gradcheck_tensor(r, layer, "w1", feedforward_relu_loss, &c, c.w1, dw1, IC);
    gradcheck_tensor(r, layer, "b1", feedforward_relu_loss, &c, c.b1, db1, c.I);
    gradcheck_tensor(r, layer, "w2", feedforward_relu_loss, &c, c.w2, dw2, IC);
    gradcheck_tensor(r, layer, "b2", feedforward_relu_loss, &c, c.b2, db2, c.C);
    free(c.inp); free(c.w1); free(c.b1); free(c.w2); free(c.b2); free(c.dout); free(c.out); free(c.pre);
    free(c.act); free(dinp); free(dw1); free(db1); free(dw2); free(db2); free(d_act); free(d_pre);
}

/* ---- sequence pooling ------------------------------------------------------------ */

enum { POOL_B = 3, POOL_T = 5, POOL_C = 4 };
/* the second sequence has two padding positions, the third one */
static const int pool_mask[POOL_B * POOL_T] = { 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 1, 1, 1, 1, 0 };

typedef struct {
    bool max;
    real *inp, *out, *dout;
    int *argmax;
} PoolCase;

static real pool_case_loss(void *p) {
    PoolCase *c = p;
    if (c->max) sequence_pooling_max_forward(c->out, c->argmax, c->inp, pool_mask, POOL_B, POOL_T, POOL_C);
    else sequence_pooling_mean_forward(c->out, c->inp, pool_mask, POOL_B, POOL_T, POOL_C);
    return (real)gradcheck_dot(c->out, c->dout, (long)POOL_B * POOL_C);
}

static void run_pool_case(GradCheckReport *r, uint64_t seed, bool max) {
    Rng rng = rng_seeded(seed);
    long n = (long)POOL_B * POOL_T * POOL_C;
    PoolCase c = { .max = max };
    /* Max: values on a grid 0.1 apart plus a small jitter, so no two
     * candidates are within 2h of each other (no tie, no swap of the argmax
     * under a step of ±h). */
    c.inp = gradcheck_random(n, &rng, 1);
    if (max)
        for (long i = 0; i < n; i++) c.inp[i] = (real)(0.1 * (double)((i * 7) % n) - 2 + 0.001 * (double)c.inp[i]);
    c.dout = gradcheck_random((long)POOL_B * POOL_C, &rng, 1);
    c.out = gradcheck_zeros((long)POOL_B * POOL_C);
    c.argmax = calloc((size_t)POOL_B * POOL_C, sizeof(int));
    real *dinp = gradcheck_zeros(n);
    pool_case_loss(&c);
    if (max) sequence_pooling_max_backward(dinp, c.dout, c.argmax, POOL_B, POOL_T, POOL_C);
    else sequence_pooling_mean_backward(dinp, c.dout, pool_mask, POOL_B, POOL_T, POOL_C);
    gradcheck_tensor(r, max ? "sequence_pooling_max" : "sequence_pooling_mean", "input", pool_case_loss, &c,
                     c.inp, dinp, n);
    free(c.inp); free(c.dout); free(c.out); free(c.argmax); free(dinp);
}

void gradcheck_sequence_pooling_mean(GradCheckReport *r, uint64_t seed) { run_pool_case(r, seed, false); }
void gradcheck_sequence_pooling_max(GradCheckReport *r, uint64_t seed) { run_pool_case(r, seed, true); }

/* ---- the whole model with an option on ---------------------------------------------- */

/* The tiny BERT and fixed batch of gradcheck_model.c (2 layers, hidden 16,
 * 2 heads, dropout on; the second sequence has two padding positions). */
typedef struct {
    BertModel model;
    BertBatch batch;
    uint64_t dropout_key;
} OptionModelCase;

static real option_model_loss(void *p) {
    OptionModelCase *c = p;
    bert_forward(&c->model, &c->batch, true, c->dropout_key);
    return (real)c->model.loss;
}

enum { CASE_B = 2, CASE_T = 7, CASE_P = 3 };
static const int case_input_ids[CASE_B * CASE_T] = { 2, 5, 9, 4, 3, 11, 3, 2, 7, 7, 20, 3, 0, 0 };
static const int case_token_types[CASE_B * CASE_T] = { 0, 0, 0, 0, 0, 1, 1, 0, 0, 0, 0, 1, 0, 0 };
static const int case_attention_mask[CASE_B * CASE_T] = { 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0 };
static const int case_mlm_positions[CASE_B * CASE_P] = { 1, 5, 0, 2, 3, 4 };
static const int case_mlm_labels[CASE_B * CASE_P] = { 8, 12, IGNORE_INDEX, 6, 21, 3 };
static const int case_nsp_labels[CASE_B] = { 0, 1 };
static const int case_class_labels[CASE_B] = { 2, 0 };

typedef void (*ConfigOption)(BertConfig *cfg);

static int compare_reals(const void *a, const void *b) {
    real x = *(const real *)a, y = *(const real *)b;
    return (x > y) - (x < y);
}

/* The shift of one unit's bias that keeps its pre-activations v[n] (over
 * every row of the batch) away from ReLU's kink: the middle of the widest
 * gap between two of them if that leaves at least `margin` on both sides
 * (the unit then stays on for some rows and off for others), else what
 * puts them all above margin (on everywhere). */
static real kink_free_shift(real *v, int n, double margin) {
    qsort(v, (size_t)n, sizeof *v, compare_reals);
    double best_gap = 0, best_mid = 0;
    for (int k = 1; k < n; k++)
        if (v[k] - v[k - 1] > best_gap) { best_gap = v[k] - v[k - 1]; best_mid = 0.5 * (v[k] + v[k - 1]); }
    if (best_gap >= 2 * margin) return (real)-best_mid;
    return (real)(margin - v[0] > 0 ? margin - v[0] : 0);
}

/* With hidden_act relu, float's step h = 1e-2 can carry a pre-activation
 * across 0, where the loss has a kink and the central difference is wrong
 * by up to the whole slope. So the feed-forward (layer by layer, as a shift
 * changes the layers above) and MLM-transform biases are moved until no
 * pre-activation of the fixed batch is within 0.2 of 0; every unit with a
 * wide enough gap still has rows on both sides of the kink. */
static void clear_relu_kinks(OptionModelCase *c) {
    BertModel *m = &c->model;
    const BertConfig *cfg = &m->config;
    int N = c->batch.B * c->batch.T, I = cfg->intermediate_size, C = cfg->hidden_size;
    real *column = malloc(sizeof(real) * (size_t)(N > CASE_B * CASE_P ? N : CASE_B * CASE_P));
    for (int l = 0; l < cfg->num_hidden_layers; l++) {
        option_model_loss(c);
        const real *pre = m->acts.layers[l].ff_pre;
        for (int i = 0; i < I; i++) {
            for (int n = 0; n < N; n++) column[n] = pre[(long)n * I + i];
            m->layer_params[l].b_ff1[i] += kink_free_shift(column, N, 0.2);
        }
    }
    if (m->heads & BERT_HEADS_PRETRAINING) {
        option_model_loss(c);
        for (int i = 0; i < C; i++) {
            for (int k = 0; k < m->M; k++) column[k] = m->acts.mlm_pre[(long)k * C + i];
            m->params.mlm_dense_b[i] += kink_free_shift(column, m->M, 0.2);
        }
    }
    free(column);
}

static void run_option_model_case(GradCheckReport *r, uint64_t seed, int heads, const char *label,
                                  ConfigOption option) {
    BertConfig cfg;
    bert_config_defaults(&cfg);
    cfg.vocab_size = 23;
    cfg.hidden_size = 16;
    cfg.num_hidden_layers = 2;
    cfg.num_attention_heads = 2;
    cfg.intermediate_size = 32;
    cfg.max_position_embeddings = 10;
    cfg.hidden_dropout_prob = 0.1;
    cfg.attention_probs_dropout_prob = 0.1;
    cfg.has_classifier_dropout = true;
    cfg.classifier_dropout = 0.2;
    cfg.initializer_range = 0.3;
    option(&cfg);
    OptionModelCase c = { .dropout_key = seed };
    char err[256];
    if (bert_create(&c.model, &cfg, heads, 3, err, sizeof err) != 0 ||
        bert_reserve(&c.model, CASE_B, CASE_T, CASE_P, err, sizeof err) != 0) {
        fprintf(stderr, "gradcheck %s: %s\n", label, err);
        bert_config_free(&cfg);
        return;
    }
    bert_init_weights(&c.model, seed);
    bool sinusoidal = bert_config_sinusoidal(&cfg);
    const real *pos_emb = c.model.params.pos_emb;
    Rng rng = rng_seeded(seed + 1);
    for (long i = 0; i < c.model.num_params; i++) {
        bool fixed = sinusoidal && i >= pos_emb - c.model.params_memory &&
                     i < pos_emb - c.model.params_memory + (long)cfg.max_position_embeddings * cfg.hidden_size;
        real jitter = (real)(0.1 * rng_normal(&rng));
        if (!fixed) c.model.params_memory[i] += jitter;
    }
    c.batch = (BertBatch){
        .B = CASE_B, .T = CASE_T, .input_ids = case_input_ids, .token_type_ids = case_token_types,
        .attention_mask = case_attention_mask,
    };
    if (heads & BERT_HEADS_PRETRAINING) {
        c.batch.P = CASE_P;
        c.batch.mlm_positions = case_mlm_positions;
        c.batch.mlm_labels = case_mlm_labels;
        c.batch.nsp_labels = case_nsp_labels;
    } else {
        c.batch.class_labels = case_class_labels;
    }
    if (bert_config_hidden_act(&cfg) == HIDDEN_ACT_RELU) clear_relu_kinks(&c);
    bert_zero_grad(&c.model);
    option_model_loss(&c);
    bert_backward(&c.model, 1);
    ClassifierPooling pooling = bert_config_pooling(&cfg);
    for (int i = 0; i < c.model.num_tensors; i++) {
        const ParamTensor *t = &c.model.tensors[i];
        /* not parameters here: the fixed sinusoidal table (its gradient is
         * not computed), and the pooler when the classifier reads a mean or
         * max instead (it is not on the loss's path) */
        if (sinusoidal && t->offset == pos_emb - c.model.params_memory) continue;
        if (pooling != POOLING_CLS && !(heads & BERT_HEADS_PRETRAINING) && strstr(t->name, "pooler")) continue;
        gradcheck_tensor(r, label, t->name, option_model_loss, &c, c.model.params_memory + t->offset,
                         c.model.grads_memory + t->offset, t->count);
    }
    bert_free(&c.model);
    bert_config_free(&cfg);
}

static void option_causal(BertConfig *cfg) { cfg->is_decoder = true; }
static void option_relu(BertConfig *cfg) { snprintf(cfg->hidden_act, sizeof cfg->hidden_act, "relu"); }
static void option_sinusoidal(BertConfig *cfg) {
    snprintf(cfg->position_embedding_type, sizeof cfg->position_embedding_type, "sinusoidal");
}
static void option_mean(BertConfig *cfg) { snprintf(cfg->classifier_pooling, sizeof cfg->classifier_pooling, "mean"); }
static void option_max(BertConfig *cfg) { snprintf(cfg->classifier_pooling, sizeof cfg->classifier_pooling, "max"); }

void gradcheck_model_causal(GradCheckReport *r, uint64_t seed) {
    run_option_model_case(r, seed, BERT_HEADS_PRETRAINING, "model_causal", option_causal);
}
void gradcheck_model_relu(GradCheckReport *r, uint64_t seed) {
    run_option_model_case(r, seed, BERT_HEADS_PRETRAINING, "model_relu", option_relu);
}
void gradcheck_model_sinusoidal(GradCheckReport *r, uint64_t seed) {
    run_option_model_case(r, seed, BERT_HEADS_PRETRAINING, "model_sinusoidal", option_sinusoidal);
}
void gradcheck_model_mean_pooling(GradCheckReport *r, uint64_t seed) {
    run_option_model_case(r, seed, BERT_HEADS_CLASSIFIER, "model_mean_pooling", option_mean);
}
void gradcheck_model_max_pooling(GradCheckReport *r, uint64_t seed) {
    run_option_model_case(r, seed, BERT_HEADS_CLASSIFIER, "model_max_pooling", option_max);
}
