/* test_bert_config.c — config.json loading (shipped configs, Google's and
 * HF's published files), save/load round trip, and every error case. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "test_util.h"
#include "tmpdir.h"
#include "io/bert_config.h"
#include "io/fileio.h"

static void assert_sizes(const BertConfig *c, int L, int H, int A, int ffn) {
    ck_assert_int_eq(c->num_hidden_layers, L);
    ck_assert_int_eq(c->hidden_size, H);
    ck_assert_int_eq(c->num_attention_heads, A);
    ck_assert_int_eq(c->intermediate_size, ffn);
    ck_assert_int_eq(c->vocab_size, 30522);
    ck_assert_int_eq(c->max_position_embeddings, 512);
    ck_assert_int_eq(c->type_vocab_size, 2);
    ck_assert_str_eq(c->hidden_act, "gelu");
    ck_assert(c->hidden_dropout_prob == 0.1 && c->attention_probs_dropout_prob == 0.1);
    ck_assert(c->layer_norm_eps == 1e-12);
    ck_assert(c->initializer_range == 0.02);
    ck_assert_int_eq(c->pad_token_id, 0);
}

START_TEST(shipped_configs_load) {
    static const struct { const char *path; int L, H, A, ffn; } configs[] = {
        { "configs/bert-tiny.json", 2, 128, 2, 512 },
        { "configs/bert-mini.json", 4, 256, 4, 1024 },
        { "configs/bert-small.json", 4, 512, 8, 2048 },
        { "configs/bert-base.json", 12, 768, 12, 3072 },
    };
    for (size_t i = 0; i < sizeof configs / sizeof configs[0]; i++) {
        BertConfig c;
        char err[256];
        ck_assert_msg(bert_config_load(&c, configs[i].path, err, sizeof err) == 0, "%s", err);
        assert_sizes(&c, configs[i].L, configs[i].H, configs[i].A, configs[i].ffn);
        ck_assert_str_eq(c.architecture, "BertForPreTraining");
        ck_assert(!c.has_classifier_dropout);
        ck_assert_str_eq(c.unknown_keys, "");
        ck_assert_int_eq(c.num_labels, 2);
        ck_assert_str_eq(c.id2label[1], "LABEL_1");
        bert_config_free(&c);
    }
}
END_TEST

START_TEST(published_configs_load) {
    const char *dir = shared_data_dir("published_configs_load");
    if (!dir) return;
    char path[512], err[256];
    BertConfig c;
    snprintf(path, sizeof path, "%s/bert-mini/bert_config.json", dir);   /* Google's format */
    ck_assert_msg(bert_config_load(&c, path, err, sizeof err) == 0, "%s", err);
    assert_sizes(&c, 4, 256, 4, 1024);   /* layer_norm_eps absent: default 1e-12 */
    ck_assert_str_eq(c.architecture, "");
    bert_config_free(&c);
    snprintf(path, sizeof path, "%s/bert-tiny/config.json", dir);          /* HF's prajjwal1/bert-tiny */
    ck_assert_msg(bert_config_load(&c, path, err, sizeof err) == 0, "%s", err);
    assert_sizes(&c, 2, 128, 2, 512);
    bert_config_free(&c);
}
END_TEST

START_TEST(save_load_round_trip) {
    char dir[64], path[128], err[256];
    tmpdir_create(dir, "config");
    snprintf(path, sizeof path, "%s/config.json", dir);
    BertConfig c;
    ck_assert_int_eq(bert_config_defaults(&c), 0);
    c.vocab_size = 1000; c.hidden_size = 96; c.num_hidden_layers = 3; c.num_attention_heads = 6;
    c.intermediate_size = 384; c.hidden_dropout_prob = 0.05; c.attention_probs_dropout_prob = 0.0;
    c.max_position_embeddings = 128; c.type_vocab_size = 3; c.initializer_range = 0.01;
    c.layer_norm_eps = 1e-7; c.pad_token_id = 5; c.has_classifier_dropout = true; c.classifier_dropout = 0.25;
    strcpy(c.problem_type, "single_label_classification");
    bert_config_free(&c);
    c.num_labels = 3;
    c.id2label = calloc(3, sizeof(char *));
    c.id2label[0] = strdup("negative"); c.id2label[1] = strdup("neutral"); c.id2label[2] = strdup("positive \"quoted\"");
    ck_assert_msg(bert_config_save(&c, "BertForSequenceClassification", path, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(tmpdir_count(dir, NULL), 1);

    BertConfig d;
    ck_assert_msg(bert_config_load(&d, path, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(d.vocab_size, 1000); ck_assert_int_eq(d.hidden_size, 96);
    ck_assert_int_eq(d.num_hidden_layers, 3); ck_assert_int_eq(d.num_attention_heads, 6);
    ck_assert_int_eq(d.intermediate_size, 384); ck_assert_int_eq(d.max_position_embeddings, 128);
    ck_assert_int_eq(d.type_vocab_size, 3); ck_assert_int_eq(d.pad_token_id, 5);
    ck_assert(d.hidden_dropout_prob == 0.05 && d.attention_probs_dropout_prob == 0.0);
    ck_assert(d.initializer_range == 0.01 && d.layer_norm_eps == 1e-7);
    ck_assert(d.has_classifier_dropout && d.classifier_dropout == 0.25);
    ck_assert_str_eq(d.problem_type, "single_label_classification");
    ck_assert_str_eq(d.architecture, "BertForSequenceClassification");
    ck_assert_int_eq(d.num_labels, 3);
    ck_assert_str_eq(d.id2label[0], "negative");
    ck_assert_str_eq(d.id2label[2], "positive \"quoted\"");
    ck_assert_str_eq(d.unknown_keys, "");

    /* What transformers needs to recognise the file */
    char *text;
    size_t len;
    ck_assert_int_eq(read_whole_file(path, &text, &len, err, sizeof err), 0);
    ck_assert_msg(strstr(text, "\"model_type\":\t\"bert\""), "%s", text);
    ck_assert_msg(strstr(text, "\"architectures\":\t[\"BertForSequenceClassification\"]"), "%s", text);
    ck_assert_msg(strstr(text, "\"label2id\":"), "%s", text);
    free(text);

    /* architecture NULL keeps the config's own; an invalid config is not written */
    ck_assert_int_eq(bert_config_save(&d, NULL, path, err, sizeof err), 0);
    d.num_attention_heads = 5;
    ck_assert_int_eq(bert_config_save(&d, NULL, path, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "not written: hidden_size 96 is not divisible by num_attention_heads 5"), "%s", err);
    bert_config_free(&d);
    ck_assert_msg(bert_config_load(&d, path, err, sizeof err) == 0, "%s", err);
    ck_assert_str_eq(d.architecture, "BertForSequenceClassification");
    ck_assert_int_eq(d.num_attention_heads, 6);
    bert_config_free(&d);
    bert_config_free(&c);
    tmpdir_remove(dir);
}
END_TEST

/* The five required sizes, one per line (lines 2..6), for building test files. */
#define SIZES "{\n\"vocab_size\": 100,\n\"hidden_size\": 64,\n\"num_hidden_layers\": 2,\n" \
              "\"num_attention_heads\": 4,\n\"intermediate_size\": 128"

/* Loads `json` from a temp file; returns the result and the error text. */
static int load_text(const char *json, BertConfig *c, char *err, size_t err_len, char *path, size_t path_len,
                     const char *dir) {
    snprintf(path, path_len, "%s/config.json", dir);
    FILE *fp = fopen(path, "w");
    ck_assert_ptr_nonnull(fp);
    fputs(json, fp);
    fclose(fp);
    return bert_config_load(c, path, err, err_len);
}

START_TEST(lenient_about_harmless_keys) {
    char dir[64], path[128], err[256];
    tmpdir_create(dir, "config");
    BertConfig c;
    const char *json = SIZES ",\n\"transformers_version\": \"4.30.0\", \"use_cache\": true, \"my_note\": 1,\n"
                       "\"classifier_dropout\": null, \"gradient_checkpointing\": false, \"other\": [],\n"
                       "\"position_embedding_type\": \"absolute\", \"num_labels\": 4}";
    ck_assert_msg(load_text(json, &c, err, sizeof err, path, sizeof path, dir) == 0, "%s", err);
    ck_assert_str_eq(c.unknown_keys, "my_note, other");
    ck_assert(!c.has_classifier_dropout);
    ck_assert_int_eq(c.num_labels, 4);
    ck_assert_str_eq(c.id2label[3], "LABEL_3");
    ck_assert(c.layer_norm_eps == 1e-12 && c.initializer_range == 0.02);
    bert_config_free(&c);

    /* label2id alone gives the labels */
    json = SIZES ",\n\"label2id\": {\"pos\": 1, \"neg\": 0}}";
    ck_assert_msg(load_text(json, &c, err, sizeof err, path, sizeof path, dir) == 0, "%s", err);
    ck_assert_int_eq(c.num_labels, 2);
    ck_assert_str_eq(c.id2label[0], "neg");
    ck_assert_str_eq(c.id2label[1], "pos");
    bert_config_free(&c);
    tmpdir_remove(dir);
}
END_TEST

START_TEST(errors_name_file_line_and_problem) {
    char dir[64], path[128], err[512], want[256];
    tmpdir_create(dir, "config");
    static const struct { const char *json; int line; const char *problem; } cases[] = {
        { SIZES ",\n\"hidden_act\": \"gelu\",\n}", 8, "invalid JSON" },
        { "{\"vocab_size\": 100 100}", 1, "invalid JSON" },
        { SIZES "}\ntrailing", 7, "invalid JSON" },
        { "[1, 2]", 0, "not a JSON object" },
        { SIZES ",\n\"type_vocab_size\": \"2\"}", 7, "type_vocab_size must be an integer" },
        { SIZES ",\n\"max_position_embeddings\": 1.5}", 7, "max_position_embeddings must be an integer" },
        { SIZES ",\n\"layer_norm_eps\": \"1e-12\"}", 7, "layer_norm_eps must be a number" },
        { SIZES ",\n\"hidden_act\": \"swish\"}", 7,
          "hidden_act \"swish\" is not supported: bert.c implements only \"gelu\", the exact erf form" },
        { SIZES ",\n\"hidden_act\": \"gelu_new\"}", 7, "hidden_act \"gelu_new\" is not supported" },
        { SIZES ",\n\"position_embedding_type\": \"relative_key\"}", 7, "position_embedding_type \"relative_key\" is not supported: bert.c implements \"absolute\"" },
        { SIZES ",\n\"model_type\": \"roberta\"}", 7, "model_type must be \"bert\"" },
        { SIZES ",\n\"add_cross_attention\": true}", 7, "add_cross_attention must be false" },
        { SIZES ",\n\"is_decoder\": 1}", 7, "is_decoder must be true or false" },
        { SIZES ",\n\"classifier_pooling\": \"first\"}", 7, "classifier_pooling \"first\" is not one of cls, mean, max" },
        { SIZES ",\n\"initializer\": \"orthogonal\"}", 7, "initializer \"orthogonal\" is not one of bert" },
        { SIZES ",\n\"hidden_dropout_prob\": 1.0}", 7, "hidden_dropout_prob must be in [0, 1)" },
        { SIZES ",\n\"attention_probs_dropout_prob\": -0.1}", 7, "attention_probs_dropout_prob must be in [0, 1)" },
        { SIZES ",\n\"classifier_dropout\": 2}", 7, "classifier_dropout must be in [0, 1)" },
        { SIZES ",\n\"layer_norm_eps\": 0}", 7, "layer_norm_eps must be positive" },
        { SIZES ",\n\"pad_token_id\": 100}", 7, "pad_token_id 100 is not a token id" },
        { SIZES ",\n\"problem_type\": \"ranking\"}", 7, "problem_type \"ranking\" is not one of" },
        { "{\n\"vocab_size\": 100,\n\"hidden_size\": 66,\n\"num_hidden_layers\": 2,\n"
          "\"num_attention_heads\": 4,\n\"intermediate_size\": 128}", 5,
          "hidden_size 66 is not divisible by num_attention_heads 4" },
        { "{\n\"vocab_size\": 100,\n\"hidden_size\": 64,\n\"num_hidden_layers\": 0,\n"
          "\"num_attention_heads\": 4,\n\"intermediate_size\": 128}", 4, "num_hidden_layers must be positive (got 0)" },
        { "{\n\"vocab_size\": 100,\n\"hiden_size\": 64,\n\"num_hidden_layers\": 2,\n"
          "\"num_attention_heads\": 4,\n\"intermediate_size\": 128}", 3,
          "unknown key \"hiden_size\": did you mean \"hidden_size\"? (refused: a misspelt key would leave "
          "hidden_size at its default and change the model)" },
        { "{\n\"vocab_size\": 100,\n\"hidden_size\": 64,\n\"n_layer\": 2,\n"
          "\"num_attention_heads\": 4,\n\"intermediate_size\": 128}", 0,
          "missing required key \"num_hidden_layers\" (unrecognised keys: n_layer)" },
        { SIZES ",\n\"num_layers\": 2}", 7, "unknown key \"num_layers\": did you mean \"num_labels\"?" },
        { SIZES ",\n\"max_position_embedding\": 128}", 7, "did you mean \"max_position_embeddings\"?" },
        { SIZES ",\n\"Layer-Norm-Eps\": 1e-5}", 7, "did you mean \"layer_norm_eps\"?" },
        { SIZES ",\n\"hidden_dropuot_prob\": 0}", 7, "did you mean \"hidden_dropout_prob\"?" },
        { SIZES ",\n\"num_label\": 3}", 7, "did you mean \"num_labels\"?" },
        { SIZES ",\n\"num_labels\": 100000000}", 7, "num_labels 100000000 is more than bert.c's limit of 100000 labels" },
        { SIZES ",\n\"num_labels\": 100001}", 7, "num_labels 100001 is more than bert.c's limit of 100000 labels" },
        { SIZES ",\n\"vocab_size\": 200}", 2, "key \"vocab_size\" appears twice" },
        { SIZES ",\n\"id2label\": {\"0\": \"a\", \"2\": \"b\"}}", 7, "id2label key \"2\" is not an id in 0..1" },
        { SIZES ",\n\"id2label\": {\"0\": \"a\", \"0\": \"b\"}}", 7, "id2label has id 0 twice" },
        { SIZES ",\n\"id2label\": {\"0\": \"a\", \"1\": \"a\"}}", 7, "label \"a\" is used for ids 0 and 1" },
        { SIZES ",\n\"id2label\": {\"0\": \"a\", \"1\": \"b\"},\n\"label2id\": {\"a\": 1, \"b\": 0}}", 8,
          "label2id is not the inverse of id2label" },
        { SIZES ",\n\"id2label\": {\"0\": \"a\", \"1\": \"b\"},\n\"num_labels\": 3}", 8,
          "num_labels 3 disagrees with the 2 entries of id2label" },
        { SIZES ",\n\"architectures\": \"BertModel\"}", 7, "architectures must be an array of strings" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        BertConfig c;
        int rc = load_text(cases[i].json, &c, err, sizeof err, path, sizeof path, dir);
        ck_assert_msg(rc == -1, "case %zu loaded: %s", i, cases[i].problem);
        if (cases[i].line > 0) snprintf(want, sizeof want, "%s:%d:", path, cases[i].line);
        else snprintf(want, sizeof want, "%s: ", path);
        ck_assert_msg(strncmp(err, want, strlen(want)) == 0, "case %zu: expected prefix \"%s\" in: %s", i, want, err);
        ck_assert_msg(strstr(err, cases[i].problem), "case %zu: expected \"%s\" in: %s", i, cases[i].problem, err);
    }
    BertConfig c;
    snprintf(path, sizeof path, "%s/nul.json", dir);
    FILE *fp = fopen(path, "wb");
    fwrite("{\n\"a\": 1}\0{", 1, 12, fp);
    fclose(fp);
    ck_assert_int_eq(bert_config_load(&c, path, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "nul.json:2:8: NUL byte in a text file"), "%s", err);
    ck_assert_int_eq(bert_config_load(&c, "/nonexistent-dir/config.json", err, sizeof err), -1);
    ck_assert_msg(strstr(err, "/nonexistent-dir/config.json: cannot open"), "%s", err);
    tmpdir_remove(dir);
}
END_TEST

/* Unknown keys that are no near-miss of a model key: one warning line each on
 * stderr, naming the file, the line and the key. */
START_TEST(unknown_keys_are_warned_about) {
    char dir[64], path[128], err[256], log_path[128];
    tmpdir_create(dir, "config");
    snprintf(log_path, sizeof log_path, "%s/stderr.txt", dir);
    fflush(stderr);
    int saved = dup(STDERR_FILENO);
    FILE *log = fopen(log_path, "w");
    ck_assert(saved >= 0 && log);
    dup2(fileno(log), STDERR_FILENO);
    BertConfig c;
    const char *json = SIZES ",\n\"my_note\": 1,\n\"summary_activation\": null}";
    int rc = load_text(json, &c, err, sizeof err, path, sizeof path, dir);
    fflush(stderr);
    dup2(saved, STDERR_FILENO);
    close(saved);
    fclose(log);
    ck_assert_msg(rc == 0, "%s", err);
    ck_assert_str_eq(c.unknown_keys, "my_note, summary_activation");
    bert_config_free(&c);
    char *text, want[512];
    size_t len;
    ck_assert_int_eq(read_whole_file(log_path, &text, &len, err, sizeof err), 0);
    snprintf(want, sizeof want, "bert: warning: %s:7: unknown key \"my_note\" ignored\n"
             "bert: warning: %s:8: unknown key \"summary_activation\" ignored\n", path, path);
    ck_assert_str_eq(text, want);
    free(text);
    tmpdir_remove(dir);
}
END_TEST

/* Label checks are O(n log n): 100000 labels (BERT_MAX_LABELS) load in well
 * under a second (the pairwise check took 27 s), a repeat among them is found,
 * and one more label is refused. */
static char *many_labels_json(int n, int repeat_of, int repeat_at) {
    size_t cap = (size_t)n * 32 + 256, used = 0;
    char *json = malloc(cap);
    ck_assert_ptr_nonnull(json);
    used += (size_t)snprintf(json, cap, "%s,\n\"id2label\": {", SIZES);
    for (int i = 0; i < n; i++)
        used += (size_t)snprintf(json + used, cap - used, "%s\"%d\": \"L%d\"", i ? ", " : "", i,
                                 i == repeat_at ? repeat_of : i);
    snprintf(json + used, cap - used, "}}");
    return json;
}

START_TEST(many_labels_are_checked_in_linear_time) {
    char dir[64], path[128], err[512];
    tmpdir_create(dir, "config");
    BertConfig c;
    char *json = many_labels_json(BERT_MAX_LABELS, -1, -1);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    ck_assert_msg(load_text(json, &c, err, sizeof err, path, sizeof path, dir) == 0, "%s", err);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double seconds = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
    ck_assert_int_eq(c.num_labels, BERT_MAX_LABELS);
    ck_assert_str_eq(c.id2label[99999], "L99999");
    ck_assert_msg(seconds < 3, "100000 labels took %.2f s", seconds);
    bert_config_free(&c);
    free(json);

    json = many_labels_json(BERT_MAX_LABELS, 77, 99998);
    ck_assert_int_eq(load_text(json, &c, err, sizeof err, path, sizeof path, dir), -1);
    ck_assert_msg(strstr(err, ":7: label \"L77\" is used for ids 77 and 99998"), "%s", err);
    free(json);

    json = many_labels_json(BERT_MAX_LABELS + 1, -1, -1);
    ck_assert_int_eq(load_text(json, &c, err, sizeof err, path, sizeof path, dir), -1);
    ck_assert_msg(strstr(err, ":7: id2label has 100001 entries, more than bert.c's limit of 100000 labels"), "%s", err);
    free(json);
    tmpdir_remove(dir);
}
END_TEST

Suite *bert_config_suite(void) {
    Suite *s = suite_create("bert_config");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, shipped_configs_load);
    tcase_add_test(tc, published_configs_load);
    tcase_add_test(tc, save_load_round_trip);
    tcase_add_test(tc, lenient_about_harmless_keys);
    tcase_add_test(tc, errors_name_file_line_and_problem);
    tcase_add_test(tc, unknown_keys_are_warned_about);
    tcase_add_test(tc, many_labels_are_checked_in_linear_time);
    suite_add_tcase(s, tc);
    return s;
}
