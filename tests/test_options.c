/* test_options.c — the model options a teacher can switch on in config.json
 * (docs/README.md "Options"): causal self-attention (is_decoder), fixed
 * sinusoidal positions (position_embedding_type "sinusoidal") and the
 * initialisation schemes (initializer). ReLU and the classifier's pooling
 * have suites of their own (test_relu.c, test_sequence_pooling.c). */
#include <math.h>
#include <string.h>
#include <unistd.h>
#include "test_util.h"
#include "tmpdir.h"
#include "model/model.h"
#include "io/checkpoint.h"
#include "layers/embeddings.h"
#include "core/rng.h"

static void tiny_config(BertConfig *cfg) {
    bert_config_defaults(cfg);
    cfg->vocab_size = 30;
    cfg->hidden_size = 16;
    cfg->num_hidden_layers = 2;
    cfg->num_attention_heads = 2;
    cfg->intermediate_size = 32;
    cfg->max_position_embeddings = 12;
    cfg->initializer_range = 0.2;
}

enum { B = 2, T = 8 };
static const int types[B * T] = { 0 };
/* the second sequence ends in two padding positions */
static const int mask[B * T] = { 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0 };

/* Final hidden states [B,T,C] of ids through m (inference, no dropout). */
static void final_hidden(BertModel *m, const int *ids, real *out) {
    BertBatch batch = { .B = B, .T = T, .input_ids = ids, .token_type_ids = types, .attention_mask = mask };
    bert_forward(m, &batch, false, 0);
    int L = m->config.num_hidden_layers;
    memcpy(out, m->acts.layers[L - 1].out, sizeof(real) * (size_t)B * T * m->config.hidden_size);
}

/* ---- causal self-attention ------------------------------------------------------ */

/* With is_decoder, position t's output is a function of tokens 0..t only:
 * replacing every token after t leaves the outputs at 0..t bit for bit as
 * they were (the masked scores' exp is exactly 0), for every t. Without it,
 * the same change moves the output at 0. */
START_TEST(causal_outputs_do_not_depend_on_later_tokens) {
    for (int causal = 1; causal >= 0; causal--) {
        BertConfig cfg;
        tiny_config(&cfg);
        cfg.is_decoder = causal;
        BertModel m;
        char err[256];
        ck_assert_msg(bert_create(&m, &cfg, BERT_HEADS_PRETRAINING, 0, err, sizeof err) == 0, "%s", err);
        ck_assert_int_eq(bert_reserve(&m, B, T, 1, err, sizeof err), 0);
        bert_init_weights(&m, 7);
        int C = cfg.hidden_size;
        int ids[B * T] = { 2, 5, 9, 4, 3, 11, 3, 8, 2, 7, 7, 20, 3, 6, 0, 0 };
        real *before = malloc(sizeof(real) * B * T * C), *after = malloc(sizeof(real) * B * T * C);
        final_hidden(&m, ids, before);
        for (int t = 0; t + 1 < T; t++) {
            int changed[B * T];
            memcpy(changed, ids, sizeof ids);
            for (int b = 0; b < B; b++)
                for (int u = t + 1; u < T; u++) changed[b * T + u] = (ids[b * T + u] * 7 + 3) % cfg.vocab_size;
            final_hidden(&m, changed, after);
            for (int b = 0; b < B; b++) {
                long first = (long)b * T * C;
                int same = memcmp(before + first, after + first, sizeof(real) * (size_t)(t + 1) * C) == 0;
                if (causal) ck_assert_msg(same, "sequence %d: outputs at 0..%d changed", b, t);
                else if (b == 0) ck_assert_msg(!same, "bidirectional: outputs at 0..%d did not change", t);
            }
        }
        free(before);
        free(after);
        bert_free(&m);
        bert_config_free(&cfg);
    }
}
END_TEST

START_TEST(causal_config_round_trip) {
    char dir[64], path[128], err[512];
    tmpdir_create(dir, "causal");
    snprintf(path, sizeof path, "%s/config.json", dir);
    BertConfig cfg;
    tiny_config(&cfg);
    ck_assert_int_eq(bert_config_save(&cfg, NULL, path, err, sizeof err), 0);
    char *text = read_text(path);
    ck_assert_msg(!strstr(text, "is_decoder"), "a default config names is_decoder:\n%s", text);
    free(text);
    cfg.is_decoder = true;
    ck_assert_int_eq(bert_config_save(&cfg, NULL, path, err, sizeof err), 0);
    bert_config_free(&cfg);
    text = read_text(path);
    ck_assert_msg(strstr(text, "\"is_decoder\":\ttrue"), "%s", text);
    ck_assert_msg(!strstr(text, "bert_c_only"), "is_decoder is Hugging Face's own key:\n%s", text);
    free(text);
    ck_assert_msg(bert_config_load(&cfg, path, err, sizeof err) == 0, "%s", err);
    ck_assert(cfg.is_decoder);
    bert_config_free(&cfg);
    unlink(path);
    rmdir(dir);
}
END_TEST

START_TEST(model_causal_gradcheck) { assert_gradcheck_passes("model_causal"); }
END_TEST

/* ---- sinusoidal positions --------------------------------------------------------- */

START_TEST(sinusoidal_table_by_hand) {
    enum { P = 6, C = 6 };
    real table[P * C];
    embeddings_sinusoidal_table(table, P, C);
    for (int c = 0; c < C; c++) ck_assert(table[c] == (c % 2 ? 1 : 0));   /* position 0: sin 0, cos 0 */
    for (int pos = 0; pos < P; pos++) {
        ck_assert_near(table[pos * C + 0], sin((double)pos), REAL_TOL);
        ck_assert_near(table[pos * C + 1], cos((double)pos), REAL_TOL);
        double w = pow(10000.0, -2.0 / C), w2 = pow(10000.0, -4.0 / C);
        ck_assert_near(table[pos * C + 2], sin(pos * w), REAL_TOL);
        ck_assert_near(table[pos * C + 5], cos(pos * w2), REAL_TOL);
    }
}
END_TEST

/* docs/positions.md (PO2): for each frequency ω, (sin, cos) at pos + k is
 * the pair at pos turned by the angle k·ω, a rotation that depends on the
 * offset k and not on pos. */
START_TEST(sinusoidal_offset_is_a_rotation) {
    enum { P = 40, C = 8 };
    real table[P * C];
    embeddings_sinusoidal_table(table, P, C);
    for (int i = 0; i < C / 2; i++) {
        double w = pow(10000.0, -2.0 * i / C);
        for (int k = 1; k < 5; k++)
            for (int pos = 0; pos + k < P; pos++) {
                double s = table[pos * C + 2 * i], c = table[pos * C + 2 * i + 1];
                double rs = s * cos(k * w) + c * sin(k * w), rc = c * cos(k * w) - s * sin(k * w);
                ck_assert_near(table[(pos + k) * C + 2 * i], rs, 1e4 * REAL_TOL);
                ck_assert_near(table[(pos + k) * C + 2 * i + 1], rc, 1e4 * REAL_TOL);
            }
    }
}
END_TEST

/* The table is fixed: it gets no gradient, the optimizer has no segment for
 * it, and the checkpoint writes it under its Hugging Face name with the
 * marker, and loads back into bert.c unchanged. */
START_TEST(sinusoidal_positions_are_fixed_and_round_trip) {
    BertConfig cfg;
    tiny_config(&cfg);
    snprintf(cfg.position_embedding_type, sizeof cfg.position_embedding_type, "sinusoidal");
    BertModel m;
    char err[512], dir[64];
    ck_assert_msg(bert_create(&m, &cfg, BERT_HEADS_PRETRAINING, 0, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(bert_reserve(&m, B, T, 2, err, sizeof err), 0);
    bert_init_weights(&m, 3);
    long P = cfg.max_position_embeddings, C = cfg.hidden_size;
    real *table = malloc(sizeof(real) * (size_t)(P * C));
    embeddings_sinusoidal_table(table, (int)P, (int)C);
    ck_assert(memcmp(table, m.params.pos_emb, sizeof(real) * (size_t)(P * C)) == 0);

    int ids[B * T] = { 2, 5, 9, 4, 3, 11, 3, 8, 2, 7, 7, 20, 3, 6, 0, 0 };
    int positions[B * 2] = { 1, 3, 2, 5 }, labels[B * 2] = { 4, 6, 8, 10 }, nsp[B] = { 0, 1 };
    BertBatch batch = { .B = B, .T = T, .input_ids = ids, .token_type_ids = types, .attention_mask = mask,
                        .P = 2, .mlm_positions = positions, .mlm_labels = labels, .nsp_labels = nsp };
    bert_zero_grad(&m);
    bert_forward(&m, &batch, true, 11);
    bert_backward(&m, 1);
    for (long i = 0; i < P * C; i++) ck_assert(m.grads.pos_emb[i] == 0);
    double word_grad = 0;
    for (long i = 0; i < (long)cfg.vocab_size * C; i++) word_grad += fabs((double)m.grads.word_emb[i]);
    ck_assert(word_grad > 0);

    ParamSegment *segments = malloc(sizeof *segments * (size_t)m.num_tensors);
    int n = bert_param_segments(&m, segments);
    ck_assert_int_eq(n, m.num_tensors - 1);
    long pos_offset = m.params.pos_emb - m.params_memory;
    for (int i = 0; i < n; i++) ck_assert(segments[i].offset != pos_offset);
    free(segments);

    tmpdir_create(dir, "sinusoidal");
    ck_assert_msg(checkpoint_save(&m, dir, NULL, NULL, err, sizeof err) == 0, "%s", err);
    char path[128];
    snprintf(path, sizeof path, "%s/config.json", dir);
    char *text = read_text(path);
    ck_assert_msg(strstr(text, "\"position_embedding_type\":\t\"sinusoidal\""), "%s", text);
    ck_assert_msg(strstr(text, "\"bert_c_only\":") && strstr(text, "position_embedding_type sinusoidal"), "%s", text);
    free(text);
    BertModel back;
    ck_assert_msg(checkpoint_load(&back, dir, BERT_HEADS_PRETRAINING, 0, 99, NULL, err, sizeof err) == 0, "%s", err);
    ck_assert(bert_config_sinusoidal(&back.config));
    ck_assert_int_eq(back.num_params, m.num_params);
    /* model.safetensors holds float32: the double build reads back each value rounded to float */
    for (long i = 0; i < P * C; i++) ck_assert(back.params.pos_emb[i] == (real)(float)m.params.pos_emb[i]);
    bert_free(&back);
    remove_dir_tree(dir);
    free(table);
    bert_free(&m);
    bert_config_free(&cfg);
}
END_TEST

START_TEST(model_sinusoidal_gradcheck) { assert_gradcheck_passes("model_sinusoidal"); }
END_TEST

/* ---- initialisation schemes ----------------------------------------------------------- */

/* Each weight matrix's empirical standard deviation is the scheme's
 * (docs/initialisation.md (IN1)–(IN5)) to within 5 standard errors of a
 * standard deviation estimated from n draws, 5/√(2n) relative (2.3 % for a
 * 64 × 64 matrix; He and LeCun differ by 41 %); its mean is 0 to within 5
 * standard errors; Xavier-uniform draws lie within the bound; the embedding
 * tables keep BERT's truncated normal; biases are 0 and LayerNorm 1 and 0;
 * the same seed gives the same weights, another seed others. */
START_TEST(init_schemes_have_their_variances) {
    for (int s = 0; s < 5; s++) {
        BertConfig cfg;
        tiny_config(&cfg);
        cfg.vocab_size = 200;
        cfg.hidden_size = 64;
        cfg.intermediate_size = 256;
        cfg.max_position_embeddings = 64;
        cfg.initializer_range = 0.02;
        snprintf(cfg.initializer, sizeof cfg.initializer, "%s", bert_init_scheme_names[s]);
        BertModel m, again;
        char err[256];
        ck_assert_msg(bert_create(&m, &cfg, BERT_HEADS_PRETRAINING, 0, err, sizeof err) == 0, "%s", err);
        ck_assert_int_eq(bert_create(&again, &cfg, BERT_HEADS_PRETRAINING, 0, err, sizeof err), 0);
        bert_init_weights(&m, 5);
        for (int i = 0; i < m.num_tensors; i++) {
            const ParamTensor *t = &m.tensors[i];
            const real *p = m.params_memory + t->offset;
            if (t->ndim == 1) {
                real want = strstr(t->name, "LayerNorm.weight") ? 1 : 0;
                for (long k = 0; k < t->count; k++) ck_assert_msg(p[k] == want, "%s[%ld]", t->name, k);
                continue;
            }
            double sum = 0, sq = 0, biggest = 0;
            for (long k = 0; k < t->count; k++) {
                sum += p[k];
                sq += (double)p[k] * p[k];
                if (fabs((double)p[k]) > biggest) biggest = fabs((double)p[k]);
            }
            double n = (double)t->count, mean = sum / n, sd = sqrt(sq / n - mean * mean);
            double fan_in = (double)t->shape[1], fan_out = (double)t->shape[0], want;
            bool embedding = strstr(t->name, "embeddings.") != NULL;
            /* truncated at ±2σ: the standard deviation is 0.8796σ */
            if (s == INIT_BERT || embedding) want = 0.8796 * cfg.initializer_range;
            else if (s == INIT_XAVIER_UNIFORM) want = sqrt(6 / (fan_in + fan_out)) / sqrt(3.0);
            else if (s == INIT_XAVIER_NORMAL) want = sqrt(2 / (fan_in + fan_out));
            else if (s == INIT_HE_NORMAL) want = sqrt(2 / fan_in);
            else want = sqrt(1 / fan_in);
            ck_assert_msg(fabs(sd - want) <= 5 / sqrt(2 * n) * want, "%s %s: sd %.5f, want %.5f",
                          bert_init_scheme_names[s], t->name, sd, want);
            ck_assert_msg(fabs(mean) <= 5 * want / sqrt(n), "%s %s: mean %.5f", bert_init_scheme_names[s], t->name,
                          mean);
            if (s == INIT_XAVIER_UNIFORM && !embedding) ck_assert(biggest <= sqrt(6 / (fan_in + fan_out)));
        }
        bert_init_weights(&again, 5);
        ck_assert(memcmp(m.params_memory, again.params_memory, sizeof(real) * (size_t)m.num_params) == 0);
        bert_init_weights(&again, 6);
        ck_assert(memcmp(m.params_memory, again.params_memory, sizeof(real) * (size_t)m.num_params) != 0);
        bert_free(&m);
        bert_free(&again);
        bert_config_free(&cfg);
    }
}
END_TEST

/* A default config keeps BERT's exact draws: the "bert" scheme is the
 * initialisation bert.c always had (the same numbers for a seed). */
START_TEST(the_default_scheme_is_berts_truncated_normal) {
    BertConfig cfg;
    tiny_config(&cfg);
    BertModel m;
    char err[256];
    ck_assert_int_eq(bert_create(&m, &cfg, BERT_HEADS_PRETRAINING, 0, err, sizeof err), 0);
    bert_init_weights(&m, 9);
    Rng rng = rng_seeded(9);
    for (int i = 0; i < m.num_tensors; i++) {
        const ParamTensor *t = &m.tensors[i];
        for (long k = 0; k < t->count; k++) {
            if (t->ndim != 2) continue;
            real want = (real)rng_truncated_normal(&rng, cfg.initializer_range);
            ck_assert(m.params_memory[t->offset + k] == want);
        }
    }
    bert_free(&m);
    bert_config_free(&cfg);
}
END_TEST

Suite *options_suite(void) {
    Suite *s = suite_create("options");
    TCase *tc = tcase_create("options");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, causal_outputs_do_not_depend_on_later_tokens);
    tcase_add_test(tc, causal_config_round_trip);
    tcase_add_test(tc, model_causal_gradcheck);
    tcase_add_test(tc, sinusoidal_table_by_hand);
    tcase_add_test(tc, sinusoidal_offset_is_a_rotation);
    tcase_add_test(tc, sinusoidal_positions_are_fixed_and_round_trip);
    tcase_add_test(tc, model_sinusoidal_gradcheck);
    tcase_add_test(tc, init_schemes_have_their_variances);
    tcase_add_test(tc, the_default_scheme_is_berts_truncated_normal);
    suite_add_tcase(s, tc);
    return s;
}
