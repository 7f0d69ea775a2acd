/* test_model.c — the assembled BERT: parameter layout against Google's
 * checkpoint index, padding invariance, seeded dropout, input validation, and
 * whole-model finite-difference gradients. (Agreement with an independent
 * PyTorch implementation is in test_reference.c.) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ctype.h>
#include "test_util.h"
#include <unistd.h>
#include "io/bert_config.h"
#include "io/checkpoint.h"
#include "model/model.h"
#include "layers/cross_entropy.h"

static BertConfig tiny_config(void) {
    BertConfig cfg;
    bert_config_defaults(&cfg);
    cfg.vocab_size = 30;
    cfg.hidden_size = 16;
    cfg.num_hidden_layers = 2;
    cfg.num_attention_heads = 2;
    cfg.intermediate_size = 24;
    cfg.max_position_embeddings = 12;
    cfg.type_vocab_size = 2;
    cfg.initializer_range = 0.2;
    bert_config_free(&cfg);  /* the model needs no label names */
    return cfg;
}

/* Google's TF name → Hugging Face name and whether the TF tensor is a dense
 * kernel stored [in, out] (so the HF shape is its transpose). */
static void tf_to_hf(const char *tf, char *hf, size_t len, bool *is_kernel) {
    char buf[256];
    snprintf(buf, sizeof buf, "%s", tf);
    *is_kernel = false;
    char out[256] = "";
    char *save = NULL;
    for (char *part = strtok_r(buf, "/", &save); part; part = strtok_r(NULL, "/", &save)) {
        char piece[96];
        if (strncmp(part, "layer_", 6) == 0) snprintf(piece, sizeof piece, "layer.%s", part + 6);
        else if (strcmp(part, "kernel") == 0) { snprintf(piece, sizeof piece, "weight"); *is_kernel = true; }
        else if (strcmp(part, "gamma") == 0) snprintf(piece, sizeof piece, "weight");
        else if (strcmp(part, "beta") == 0) snprintf(piece, sizeof piece, "bias");
        else if (strcmp(part, "output_weights") == 0) snprintf(piece, sizeof piece, "weight");
        else if (strcmp(part, "output_bias") == 0) snprintf(piece, sizeof piece, "bias");
        else snprintf(piece, sizeof piece, "%s", part);
        if (out[0]) strncat(out, ".", sizeof out - strlen(out) - 1);
        strncat(out, piece, sizeof out - strlen(out) - 1);
    }
    /* embedding tables are bare variables in TF, ".weight" in HF */
    if (strstr(out, "_embeddings") && !strstr(out, "LayerNorm") && strcmp(out + strlen(out) - 7, ".weight") != 0)
        strncat(out, ".weight", sizeof out - strlen(out) - 1);
    snprintf(hf, len, "%s", out);
}

START_TEST(model_layout_matches_google_bert_mini) {
    const char *dir = shared_data_dir("model_layout_matches_google_bert_mini");
    if (!dir) return;
    char path[512], err[256];
    snprintf(path, sizeof path, "%s/bert-mini/bert_config.json", dir);
    BertConfig cfg;
    ck_assert_msg(bert_config_load(&cfg, path, err, sizeof err) == 0, "%s", err);
    BertModel m;
    ck_assert_msg(bert_create(&m, &cfg, BERT_HEADS_PRETRAINING, 0, err, sizeof err) == 0, "%s", err);
    snprintf(path, sizeof path, "%s/bert-mini/tensors.txt", dir);
    FILE *f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    char line[512];
    int matched = 0;
    long total = 0;
    while (fgets(line, sizeof line, f)) {
        if (line[0] == '#') continue;
        char tf_name[256], dtype[32], shape[64];
        if (sscanf(line, "%255s %31s %63s", tf_name, dtype, shape) != 3) continue;
        long d0 = 0, d1 = 0;
        int nd = sscanf(shape, "%ldx%ld", &d0, &d1);
        char hf[256];
        bool kernel;
        tf_to_hf(tf_name, hf, sizeof hf, &kernel);
        const ParamTensor *t = bert_find_tensor(&m, hf);
        ck_assert_msg(t != NULL, "Google tensor %s (as %s) has no counterpart", tf_name, hf);
        ck_assert_int_eq(t->ndim, nd);
        if (nd == 2 && kernel) { long tmp = d0; d0 = d1; d1 = tmp; }
        ck_assert_int_eq(t->shape[0], d0);
        if (nd == 2) ck_assert_int_eq(t->shape[1], d1);
        total += t->count;
        matched++;
    }
    fclose(f);
    /* 78 tensors and 11,267,900 parameters, as shared/data/bert-mini/README says */
    ck_assert_int_eq(matched, 78);
    ck_assert_int_eq(m.num_tensors, 78);
    ck_assert_int_eq(total, 11267900);
    ck_assert_int_eq(m.num_params, 11267900);
    bert_free(&m);
    bert_config_free(&cfg);
}
END_TEST

START_TEST(model_init_is_berts) {
    /* Weights within ±2σ with std near σ·0.88 (a normal truncated at 2σ);
     * LayerNorm γ = 1, β = 0; biases 0. */
    BertConfig cfg = tiny_config();
    cfg.initializer_range = 0.02;
    BertModel m;
    char err[256];
    ck_assert(bert_create(&m, &cfg, BERT_HEADS_PRETRAINING, 0, err, sizeof err) == 0);
    bert_init_weights(&m, 7);
    const ParamTensor *w = bert_find_tensor(&m, "bert.embeddings.word_embeddings.weight");
    double sum2 = 0, maxabs = 0;
    for (long i = 0; i < w->count; i++) {
        double v = m.params_memory[w->offset + i];
        sum2 += v * v;
        if (fabs(v) > maxabs) maxabs = fabs(v);
    }
    ck_assert(maxabs <= 0.04 + 1e-7);
    ck_assert_near(sqrt(sum2 / w->count), 0.02 * 0.8796, 0.002);
    const ParamTensor *g = bert_find_tensor(&m, "bert.encoder.layer.1.output.LayerNorm.weight");
    const ParamTensor *b = bert_find_tensor(&m, "bert.encoder.layer.1.intermediate.dense.bias");
    ck_assert(g && b);
    for (long i = 0; i < g->count; i++) ck_assert(m.params_memory[g->offset + i] == 1);
    for (long i = 0; i < b->count; i++) ck_assert(m.params_memory[b->offset + i] == 0);
    ck_assert(!b->decay && !g->decay && w->decay);
    bert_free(&m);
}
END_TEST

/* Two padded sequences of 6 tokens with 3 MLM labels and NSP labels, for
 * the tiny pretraining model small_pretraining_model reserves. */
typedef struct {
    int ids[12], types[12], mask[12], pos[4], labels[4], nsp[2];
} PaddedBatch;

static BertBatch padded_batch(PaddedBatch *s) {
    static const PaddedBatch init = {
        .ids = { 2, 5, 6, 3, 0, 0, 2, 9, 10, 11, 3, 0 }, .types = { 0 },
        .mask = { 1, 1, 1, 1, 0, 0, 1, 1, 1, 1, 1, 0 }, .pos = { 1, 2, 3, 0 },
        .labels = { 7, IGNORE_INDEX, 12, 2 }, .nsp = { 0, 1 },
    };
    *s = init;
    return (BertBatch){ .B = 2, .T = 6, .input_ids = s->ids, .token_type_ids = s->types, .attention_mask = s->mask,
                        .P = 2, .mlm_positions = s->pos, .mlm_labels = s->labels, .nsp_labels = s->nsp };
}

static void small_pretraining_model(BertModel *m, const BertConfig *cfg) {
    char err[256];
    ck_assert_msg(bert_create(m, cfg, BERT_HEADS_PRETRAINING, 0, err, sizeof err) == 0, "%s", err);
    ck_assert_msg(bert_reserve(m, 2, 6, 2, err, sizeof err) == 0, "%s", err);
    bert_init_weights(m, 3);
}

START_TEST(model_ignores_padding) {
    /* Changing the token ids at padded positions changes nothing the model
     * reports: pooled output, MLM and NSP losses. */
    BertConfig cfg = tiny_config();
    BertModel m;
    char err[256];
    small_pretraining_model(&m, &cfg);
    PaddedBatch storage;
    BertBatch batch = padded_batch(&storage);
    int *ids = storage.ids;
    ck_assert(bert_check_batch(&m, &batch, err, sizeof err) == 0);
    bert_forward(&m, &batch, false, 1);
    double mlm = m.mlm_loss, nsp_loss = m.nsp_loss;
    real pooled[32];
    memcpy(pooled, m.acts.pooled, sizeof pooled);
    ids[4] = 17; ids[5] = 29; ids[11] = 1;
    bert_forward(&m, &batch, false, 1);
    ck_assert_near(m.mlm_loss, mlm, 1e-6);
    ck_assert_near(m.nsp_loss, nsp_loss, 1e-6);
    for (int i = 0; i < 32; i++) ck_assert_near(m.acts.pooled[i], pooled[i], 1e-6);
    /* and the loss is a real cross-entropy: near ln V for a fresh model */
    ck_assert(m.mlm_loss > 0.5 * log(30) && m.mlm_loss < 2 * log(30));
    ck_assert_int_eq(m.M, 3);
    bert_free(&m);
}
END_TEST

/* --nsp-weight w (BertModel.nsp_loss_weight): loss = mlm + w·nsp, so every
 * gradient is the MLM part plus w times the NSP part: G(w) = G(0) + w·(G(1) − G(0)).
 * Tolerance: float rounding of sums of a few terms, 1e-5 of the largest gradient. */
START_TEST(model_nsp_loss_weight_scales_its_loss_and_gradient) {
    BertConfig cfg = tiny_config();
    BertModel m;
    small_pretraining_model(&m, &cfg);
    PaddedBatch storage;
    BertBatch batch = padded_batch(&storage);
    long n = m.num_params;
    real *grads[3];
    double losses[3], weights[3] = {0, 1, 0.25}, mlm = 0, nsp = 0;
    for (int k = 0; k < 3; k++) {
        m.nsp_loss_weight = weights[k];
        bert_zero_grad(&m);
        bert_forward(&m, &batch, false, 1);
        bert_backward(&m, 1);
        losses[k] = m.loss;
        mlm = m.mlm_loss;
        nsp = m.nsp_loss;
        grads[k] = malloc(sizeof(real) * (size_t)n);
        memcpy(grads[k], m.grads_memory, sizeof(real) * (size_t)n);
    }
    ck_assert(nsp > 0.1);
    for (int k = 0; k < 3; k++) ck_assert_double_eq_tol(losses[k], mlm + weights[k] * nsp, 1e-6);
    double largest = 0, worst = 0, nsp_part = 0;
    for (long i = 0; i < n; i++) largest = fmax(largest, fabs((double)grads[1][i]));
    for (long i = 0; i < n; i++) {
        double expected = grads[0][i] + 0.25 * ((double)grads[1][i] - grads[0][i]);
        worst = fmax(worst, fabs(grads[2][i] - expected));
        nsp_part = fmax(nsp_part, fabs((double)grads[1][i] - grads[0][i]));
    }
    ck_assert_msg(nsp_part > 1e-3 * largest, "the NSP loss moved no gradient (%g)", nsp_part);
    ck_assert_msg(worst <= 1e-5 * largest, "G(0.25) is off G(0) + 0.25 (G(1) - G(0)) by %g (largest gradient %g)",
                  worst, largest);
    /* weight 0: the NSP head gets no gradient at all */
    const ParamTensor *head = bert_find_tensor(&m, "cls.seq_relationship.weight");
    ck_assert_ptr_nonnull(head);
    for (long i = 0; i < head->count; i++) ck_assert(grads[0][head->offset + i] == 0);
    for (int k = 0; k < 3; k++) free(grads[k]);
    bert_free(&m);
}
END_TEST

/* --dropout 0 (bert_set_training_dropout): a training forward is then the
 * evaluation forward, whatever the dropout key; the config's 0.1 is what a
 * checkpoint keeps; p < 0 leaves the config's dropout in force. */
START_TEST(model_training_dropout_overrides_the_config_but_is_not_saved) {
    BertConfig cfg = tiny_config();
    cfg.hidden_dropout_prob = cfg.attention_probs_dropout_prob = 0.1;
    BertModel m;
    char err[256];
    small_pretraining_model(&m, &cfg);
    PaddedBatch storage;
    BertBatch batch = padded_batch(&storage);
    bert_forward(&m, &batch, false, 0);
    double eval_loss = m.loss;
    bert_forward(&m, &batch, true, 11);
    ck_assert_msg(m.loss != eval_loss, "dropout 0.1 changed nothing");
    bert_set_training_dropout(&m, -1);
    bert_forward(&m, &batch, true, 11);
    ck_assert_msg(m.loss != eval_loss, "p < 0 turned dropout off");
    bert_set_training_dropout(&m, 0);
    for (uint64_t key = 1; key <= 3; key++) {
        bert_forward(&m, &batch, true, key);
        ck_assert_msg(m.loss == eval_loss, "key %llu: training loss %.9g, evaluation %.9g", (unsigned long long)key,
                      m.loss, eval_loss);
    }
    char dir[] = "/tmp/bertc-dropout-XXXXXX", path[128];
    ck_assert_ptr_nonnull(mkdtemp(dir));
    ck_assert_msg(checkpoint_save(&m, dir, NULL, NULL, err, sizeof err) == 0, "%s", err);
    BertConfig saved;
    snprintf(path, sizeof path, "%s/config.json", dir);
    ck_assert_msg(bert_config_load(&saved, path, err, sizeof err) == 0, "%s", err);
    ck_assert(saved.hidden_dropout_prob == 0.1 && saved.attention_probs_dropout_prob == 0.1);
    bert_config_free(&saved);
    unlink(path);
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    unlink(path);
    rmdir(dir);
    bert_free(&m);
}
END_TEST

START_TEST(model_inference_reserve_matches_training_reserve) {
    /* bert_reserve_inference shares one set of layer caches and alternates the
     * outputs; with three layers (so a buffer is reused) every reported
     * number must be bit-for-bit the training arena's. Both heads. */
    BertConfig cfg = tiny_config();
    cfg.num_hidden_layers = 3;
    int ids[12] = { 2, 5, 6, 3, 0, 0, 2, 9, 10, 11, 3, 0 };
    int types[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0 }, mask[12] = { 1, 1, 1, 1, 0, 0, 1, 1, 1, 1, 1, 0 };
    int pos[4] = { 1, 2, 3, 0 }, labels[4] = { 7, IGNORE_INDEX, 12, 2 }, nsp[2] = { 0, 1 }, classes[2] = { 2, 0 };
    BertBatch batch = { .B = 2, .T = 6, .input_ids = ids, .token_type_ids = types, .attention_mask = mask,
                        .P = 2, .mlm_positions = pos, .mlm_labels = labels, .nsp_labels = nsp,
                        .class_labels = classes };
    int heads[2] = { BERT_HEADS_PRETRAINING, BERT_HEADS_CLASSIFIER };
    for (int h = 0; h < 2; h++) {
        BertModel train, infer;
        char err[256];
        ck_assert(bert_create(&train, &cfg, heads[h], 3, err, sizeof err) == 0);
        ck_assert(bert_create(&infer, &cfg, heads[h], 3, err, sizeof err) == 0);
        ck_assert(bert_reserve(&train, 2, 6, 2, err, sizeof err) == 0);
        ck_assert(bert_reserve_inference(&infer, 2, 6, 2, err, sizeof err) == 0);
        bert_init_weights(&train, 11);
        bert_init_weights(&infer, 11);
        bert_forward(&train, &batch, false, 1);
        bert_forward(&infer, &batch, false, 1);
        size_t hidden = sizeof(real) * 2 * 6 * 16;
        ck_assert(memcmp(train.acts.layers[2].out, infer.acts.layers[2].out, hidden) == 0);
        ck_assert(memcmp(train.acts.pooled, infer.acts.pooled, sizeof(real) * 2 * 16) == 0);
        ck_assert(train.loss == infer.loss && train.loss > 0);
        if (heads[h] == BERT_HEADS_PRETRAINING) {
            ck_assert_int_eq(train.M, 3);
            ck_assert(memcmp(train.acts.mlm_logits, infer.acts.mlm_logits, sizeof(real) * 3 * 30) == 0);
            ck_assert(train.mlm_correct == infer.mlm_correct && train.nsp_correct == infer.nsp_correct);
        } else {
            ck_assert(memcmp(train.acts.cls_logits, infer.acts.cls_logits, sizeof(real) * 2 * 3) == 0);
        }
        /* the shared caches really are shared: layer 2 reuses layer 0's */
        ck_assert(infer.acts.layers[2].qkv == infer.acts.layers[0].qkv);
        ck_assert(infer.acts.layers[1].out != infer.acts.layers[0].out);
        bert_free(&train);
        bert_free(&infer);
    }
}
END_TEST

START_TEST(model_rejects_bad_batches) {
    BertConfig cfg = tiny_config();
    BertModel m;
    char err[256];
    ck_assert(bert_create(&m, &cfg, BERT_HEADS_PRETRAINING, 0, err, sizeof err) == 0);
    ck_assert(bert_reserve(&m, 1, 4, 1, err, sizeof err) == 0);
    int ids[4] = { 2, 30, 3, 0 }, types[4] = { 0 }, mask[4] = { 1, 1, 1, 0 }, pos[1] = { 1 }, labels[1] = { 5 };
    BertBatch batch = { .B = 1, .T = 4, .input_ids = ids, .token_type_ids = types, .attention_mask = mask,
                        .P = 1, .mlm_positions = pos, .mlm_labels = labels };
    ck_assert(bert_check_batch(&m, &batch, err, sizeof err) != 0);
    ck_assert_msg(strstr(err, "outside the vocabulary") != NULL, "%s", err);
    ids[1] = 4;
    types[2] = 2;
    ck_assert(bert_check_batch(&m, &batch, err, sizeof err) != 0);
    ck_assert_msg(strstr(err, "type_vocab_size") != NULL, "%s", err);
    types[2] = 0;
    pos[0] = 4;
    ck_assert(bert_check_batch(&m, &batch, err, sizeof err) != 0);
    pos[0] = 1;
    ck_assert(bert_check_batch(&m, &batch, err, sizeof err) == 0);
    batch.T = 5;
    ck_assert(bert_check_batch(&m, &batch, err, sizeof err) != 0);
    ck_assert(bert_reserve(&m, 1, 13, 1, err, sizeof err) != 0);
    ck_assert_msg(strstr(err, "max_position_embeddings") != NULL, "%s", err);
    bert_free(&m);
}
END_TEST

/* Sizes whose products overflow are refused, naming the key, before
 * anything is allocated for them (the san builds check there is no
 * signed overflow on the way). */
START_TEST(model_refuses_impossible_sizes) {
    BertConfig cfg = tiny_config();
    BertModel m;
    char err[256];
    cfg.hidden_size = 2000000000;
    cfg.num_attention_heads = 16;
    ck_assert(bert_create(&m, &cfg, BERT_HEADS_PRETRAINING, 0, err, sizeof err) != 0);
    ck_assert_msg(strstr(err, "hidden_size 2000000000 is too large") != NULL, "%s", err);
    cfg.hidden_size = 1200000000;   /* C² fits; vocab_size × C does not */
    cfg.vocab_size = 2000000000;
    ck_assert(bert_create(&m, &cfg, BERT_HEADS_CLASSIFIER, 2, err, sizeof err) != 0);
    ck_assert_msg(strstr(err, "vocab_size 2000000000 is too large") != NULL, "%s", err);

    cfg = tiny_config();
    ck_assert(bert_create(&m, &cfg, BERT_HEADS_PRETRAINING, 0, err, sizeof err) == 0);
    ck_assert(bert_reserve(&m, 400000000, 12, 1, err, sizeof err) != 0);
    ck_assert_msg(strstr(err, "tokens") != NULL, "%s", err);
    ck_assert(bert_reserve(&m, 1 << 30, 1, 2000000000, err, sizeof err) != 0);   /* B·P·vocab_size */
    ck_assert_msg(strstr(err, "too large for this model") != NULL, "%s", err);
    ck_assert(bert_reserve(&m, 2, 4, 1, err, sizeof err) == 0);   /* still usable */
    bert_free(&m);
}
END_TEST

START_TEST(model_gradcheck_pretraining) { assert_gradcheck_passes("model"); }
END_TEST
START_TEST(model_gradcheck_classifier) { assert_gradcheck_passes("model_classifier"); }
END_TEST

Suite *model_suite(void) {
    Suite *s = suite_create("model");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, model_layout_matches_google_bert_mini);
    tcase_add_test(tc, model_init_is_berts);
    tcase_add_test(tc, model_ignores_padding);
    tcase_add_test(tc, model_training_dropout_overrides_the_config_but_is_not_saved);
    tcase_add_test(tc, model_inference_reserve_matches_training_reserve);
    tcase_add_test(tc, model_rejects_bad_batches);
    tcase_add_test(tc, model_refuses_impossible_sizes);
    tcase_add_test(tc, model_nsp_loss_weight_scales_its_loss_and_gradient);
    tcase_add_test(tc, model_gradcheck_pretraining);
    tcase_add_test(tc, model_gradcheck_classifier);
    suite_add_tcase(s, tc);
    return s;
}
