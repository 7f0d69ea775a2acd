/* gradcheck_model.c — gradient checks of the whole model: a tiny BERT
 * (2 layers, hidden 16, 2 heads) with dropout on, checked tensor by tensor
 * against finite differences of its real loss (MLM + NSP, or classification
 * cross-entropy), as BERT and with each teaching option on (causal
 * attention, ReLU, sinusoidal positions, mean and max pooling). Every
 * parameter tensor of the checkpoint is checked. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "gradcheck/gradcheck_cases.h"
#include "io/bert_config.h"
#include "model/model.h"
#include "layers/cross_entropy.h"

typedef struct {
    BertModel model;
    BertBatch batch;
    uint64_t dropout_key;
} ModelCase;

static real model_case_loss(void *p) {
    ModelCase *c = p;
    bert_forward(&c->model, &c->batch, true, c->dropout_key);
    return (real)c->model.loss;
}

enum { CASE_B = 2, CASE_T = 7, CASE_P = 3 };

/* The fixed batch: the second sequence has two padding positions; one MLM
 * slot of the first sequence is unused (label −100). */
static const int case_input_ids[CASE_B * CASE_T] = { 2, 5, 9, 4, 3, 11, 3, 2, 7, 7, 20, 3, 0, 0 };
static const int case_token_types[CASE_B * CASE_T] = { 0, 0, 0, 0, 0, 1, 1, 0, 0, 0, 0, 1, 0, 0 };
static const int case_attention_mask[CASE_B * CASE_T] = { 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0 };
static const int case_mlm_positions[CASE_B * CASE_P] = { 1, 5, 0, 2, 3, 4 };
static const int case_mlm_labels[CASE_B * CASE_P] = { 8, 12, IGNORE_INDEX, 6, 21, 3 };
static const int case_nsp_labels[CASE_B] = { 0, 1 };
static const int case_class_labels[CASE_B] = { 2, 0 };

/* A change to the tiny model's config: one teaching option switched on. */
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
static void clear_relu_kinks(ModelCase *c) {
    BertModel *m = &c->model;
    const BertConfig *cfg = &m->config;
    int N = c->batch.B * c->batch.T, I = cfg->intermediate_size, C = cfg->hidden_size;
    real *column = malloc(sizeof(real) * (size_t)(N > CASE_B * CASE_P ? N : CASE_B * CASE_P));
    for (int l = 0; l < cfg->num_hidden_layers; l++) {
        model_case_loss(c);
        const real *pre = m->acts.layers[l].ff_pre;
        for (int i = 0; i < I; i++) {
            for (int n = 0; n < N; n++) column[n] = pre[(long)n * I + i];
            m->layer_params[l].b_ff1[i] += kink_free_shift(column, N, 0.2);
        }
    }
    if (m->heads & BERT_HEADS_PRETRAINING) {
        model_case_loss(c);
        for (int i = 0; i < C; i++) {
            for (int k = 0; k < m->M; k++) column[k] = m->acts.mlm_pre[(long)k * C + i];
            m->params.mlm_dense_b[i] += kink_free_shift(column, m->M, 0.2);
        }
    }
    free(column);
}

/* The tiny BERT with `option` (NULL: none) applied to its config, checked
 * tensor by tensor on the fixed batch. */
static void run_model_case(GradCheckReport *r, uint64_t seed, int heads, const char *label, ConfigOption option) {
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
    cfg.initializer_range = 0.3;  /* larger than BERT's 0.02 so every path carries signal */
    if (option) option(&cfg);
    ModelCase c = { .dropout_key = seed };
    char err[256];
    if (bert_create(&c.model, &cfg, heads, 3, err, sizeof err) != 0 ||
        bert_reserve(&c.model, CASE_B, CASE_T, CASE_P, err, sizeof err) != 0) {
        fprintf(stderr, "gradcheck %s: %s\n", label, err);
        bert_config_free(&cfg);
        return;
    }
    bert_init_weights(&c.model, seed);
    bool sinusoidal = bert_config_sinusoidal(&cfg);
    /* Move LayerNorm γ, β and the biases off 1 and 0 so their gradients are
     * checked at a generic point (not the fixed sinusoidal table). */
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
    model_case_loss(&c);
    bert_backward(&c.model, 1);
    ClassifierPooling pooling = bert_config_pooling(&cfg);
    for (int i = 0; i < c.model.num_tensors; i++) {
        const ParamTensor *t = &c.model.tensors[i];
        /* not parameters here: the fixed sinusoidal table (its gradient is
         * not computed), and the pooler when the classifier reads a mean or
         * max instead (it is not on the loss's path) */
        if (sinusoidal && t->offset == pos_emb - c.model.params_memory) continue;
        if (pooling != POOLING_CLS && !(heads & BERT_HEADS_PRETRAINING) && strstr(t->name, "pooler")) continue;
        gradcheck_tensor(r, label, t->name, model_case_loss, &c, c.model.params_memory + t->offset,
                         c.model.grads_memory + t->offset, t->count);
    }
    bert_free(&c.model);
    bert_config_free(&cfg);
}

void gradcheck_model_pretraining(GradCheckReport *r, uint64_t seed) {
    run_model_case(r, seed, BERT_HEADS_PRETRAINING, "model (MLM+NSP)", NULL);
}

void gradcheck_model_classifier(GradCheckReport *r, uint64_t seed) {
    run_model_case(r, seed, BERT_HEADS_CLASSIFIER, "model (classifier)", NULL);
}

/* The options a teacher can switch on (docs/README.md "Options"), each on the same model and batch. */
static void option_causal(BertConfig *cfg) { cfg->is_decoder = true; }
static void option_relu(BertConfig *cfg) { snprintf(cfg->hidden_act, sizeof cfg->hidden_act, "relu"); }
static void option_sinusoidal(BertConfig *cfg) {
    snprintf(cfg->position_embedding_type, sizeof cfg->position_embedding_type, "sinusoidal");
}
static void option_mean(BertConfig *cfg) { snprintf(cfg->classifier_pooling, sizeof cfg->classifier_pooling, "mean"); }
static void option_max(BertConfig *cfg) { snprintf(cfg->classifier_pooling, sizeof cfg->classifier_pooling, "max"); }

void gradcheck_model_causal(GradCheckReport *r, uint64_t seed) {
    run_model_case(r, seed, BERT_HEADS_PRETRAINING, "model_causal", option_causal);
}
void gradcheck_model_relu(GradCheckReport *r, uint64_t seed) {
    run_model_case(r, seed, BERT_HEADS_PRETRAINING, "model_relu", option_relu);
}
void gradcheck_model_sinusoidal(GradCheckReport *r, uint64_t seed) {
    run_model_case(r, seed, BERT_HEADS_PRETRAINING, "model_sinusoidal", option_sinusoidal);
}
void gradcheck_model_mean_pooling(GradCheckReport *r, uint64_t seed) {
    run_model_case(r, seed, BERT_HEADS_CLASSIFIER, "model_mean_pooling", option_mean);
}
void gradcheck_model_max_pooling(GradCheckReport *r, uint64_t seed) {
    run_model_case(r, seed, BERT_HEADS_CLASSIFIER, "model_max_pooling", option_max);
}
