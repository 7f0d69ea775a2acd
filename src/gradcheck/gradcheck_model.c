/* gradcheck_model.c — gradient checks of the whole model: a tiny BERT
 * (2 layers, hidden 16, 2 heads) with dropout on, checked tensor by tensor
 * against finite differences of its real loss (MLM + NSP, or classification
 * cross-entropy). Every parameter tensor of the checkpoint is checked. */
#include <stdio.h>
#include <string.h>
#include "gradcheck/gradcheck_cases.h"
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

static void run_model_case(GradCheckReport *r, uint64_t seed, int heads, const char *label) {
    BertConfig cfg;
    bert_config_defaults(&cfg);
    cfg.vocab_size = 23;
    cfg.hidden_size = 16;
    cfg.num_hidden_layers = 2;
    cfg.num_attention_heads = 2;
    cfg.intermediate_size = 32;
    cfg.max_position_embeddings = 10;
    cfg.type_vocab_size = 2;
    cfg.hidden_dropout_prob = 0.1;
    cfg.attention_probs_dropout_prob = 0.1;
    cfg.has_classifier_dropout = true;
    cfg.classifier_dropout = 0.2;
    cfg.initializer_range = 0.3;  /* larger than BERT's 0.02 so every path carries signal */
    ModelCase c = { .dropout_key = seed };
    char err[256];
    if (bert_create(&c.model, &cfg, heads, 3, err, sizeof err) != 0 ||
        bert_reserve(&c.model, CASE_B, CASE_T, CASE_P, err, sizeof err) != 0) {
        fprintf(stderr, "gradcheck %s: %s\n", label, err);
        bert_config_free(&cfg);
        return;
    }
    bert_init_weights(&c.model, seed);
    /* Move LayerNorm γ, β and the biases off 1 and 0 so their gradients are
     * checked at a generic point. */
    Rng rng = rng_seeded(seed + 1);
    for (long i = 0; i < c.model.num_params; i++) c.model.params_memory[i] += (real)(0.1 * rng_normal(&rng));
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
    bert_zero_grad(&c.model);
    model_case_loss(&c);
    bert_backward(&c.model, 1);
    for (int i = 0; i < c.model.num_tensors; i++) {
        const ParamTensor *t = &c.model.tensors[i];
        gradcheck_tensor(r, label, t->name, model_case_loss, &c, c.model.params_memory + t->offset,
                         c.model.grads_memory + t->offset, t->count);
    }
    bert_free(&c.model);
    bert_config_free(&cfg);
}

void gradcheck_model_pretraining(GradCheckReport *r, uint64_t seed) {
    run_model_case(r, seed, BERT_HEADS_PRETRAINING, "model (MLM+NSP)");
}

void gradcheck_model_classifier(GradCheckReport *r, uint64_t seed) {
    run_model_case(r, seed, BERT_HEADS_CLASSIFIER, "model (classifier)");
}
