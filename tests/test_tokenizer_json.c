/* test_tokenizer_json.c — tokenizer.json and special_tokens_map.json as written
 * for Hugging Face's fast tokenizer (include/io/tokenizer_json.h): the
 * settings and every vocabulary id read back from the written JSON, a
 * directory with only tokenizer.json tokenizing exactly as with vocab.txt,
 * and malformed files refused with their name and the problem. */
#include <stdlib.h>
#include <string.h>
#include <cJSON.h>
#include "test_util.h"
#include "tmpdir.h"
#include "io/tokenizer_json.h"
#include "io/fileio.h"
#include "data/tokenizer.h"

#define VOCAB "tests/data/reference_classifier/vocab.txt"

static cJSON *read_json(const char *dir, const char *name) {
    char path[256], err[256], *text;
    size_t len;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    ck_assert_msg(read_whole_file(path, &text, &len, err, sizeof err) == 0, "%s", err);
    cJSON *json = cJSON_ParseWithLength(text, len);
    free(text);
    ck_assert_msg(cJSON_IsObject(json), "%s is not a JSON object", path);
    return json;
}

static const cJSON *at(const cJSON *o, const char *key) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    ck_assert_msg(v != NULL, "no \"%s\"", key);
    return v;
}

static void assert_string(const cJSON *o, const char *key, const char *want) {
    const cJSON *v = at(o, key);
    ck_assert_msg(cJSON_IsString(v) && strcmp(v->valuestring, want) == 0, "\"%s\" is not \"%s\"", key, want);
}

/* One template piece: {"SpecialToken"|"Sequence": {"id": id, "type_id": type}}. */
static void assert_piece(const cJSON *piece, const char *kind, const char *id, int type_id) {
    const cJSON *inner = at(piece, kind);
    assert_string(inner, "id", id);
    ck_assert_int_eq((int)at(inner, "type_id")->valuedouble, type_id);
}

static void check_written_settings(bool lower_case) {
    char dir[64], err[256];
    tmpdir_create(dir, "tokjson");
    Tokenizer *tok = tokenizer_load(VOCAB, lower_case, err, sizeof err);
    ck_assert_msg(tok != NULL, "%s", err);
    ck_assert_msg(tokenizer_json_save(dir, tok, err, sizeof err) == 0, "%s", err);
    cJSON *json = read_json(dir, "tokenizer.json");
    assert_string(json, "version", "1.0");
    ck_assert(cJSON_IsNull(at(json, "truncation")) && cJSON_IsNull(at(json, "padding")));

    const cJSON *norm = at(json, "normalizer");
    assert_string(norm, "type", "BertNormalizer");
    ck_assert(cJSON_IsTrue(at(norm, "clean_text")) && cJSON_IsTrue(at(norm, "handle_chinese_chars")));
    ck_assert(cJSON_IsNull(at(norm, "strip_accents")));
    ck_assert(cJSON_IsBool(at(norm, "lowercase")) && cJSON_IsTrue(at(norm, "lowercase")) == lower_case);
    assert_string(at(json, "pre_tokenizer"), "type", "BertPreTokenizer");
    const cJSON *dec = at(json, "decoder");
    assert_string(dec, "type", "WordPiece");
    assert_string(dec, "prefix", "##");

    const cJSON *pp = at(json, "post_processor");
    assert_string(pp, "type", "TemplateProcessing");
    const cJSON *single = at(pp, "single"), *pair = at(pp, "pair");
    ck_assert_int_eq(cJSON_GetArraySize(single), 3);
    assert_piece(cJSON_GetArrayItem(single, 0), "SpecialToken", "[CLS]", 0);
    assert_piece(cJSON_GetArrayItem(single, 1), "Sequence", "A", 0);
    assert_piece(cJSON_GetArrayItem(single, 2), "SpecialToken", "[SEP]", 0);
    ck_assert_int_eq(cJSON_GetArraySize(pair), 5);
    assert_piece(cJSON_GetArrayItem(pair, 0), "SpecialToken", "[CLS]", 0);
    assert_piece(cJSON_GetArrayItem(pair, 1), "Sequence", "A", 0);
    assert_piece(cJSON_GetArrayItem(pair, 2), "SpecialToken", "[SEP]", 0);
    assert_piece(cJSON_GetArrayItem(pair, 3), "Sequence", "B", 1);
    assert_piece(cJSON_GetArrayItem(pair, 4), "SpecialToken", "[SEP]", 1);
    const cJSON *specials = at(pp, "special_tokens");
    ck_assert_int_eq((int)cJSON_GetArrayItem(at(at(specials, "[CLS]"), "ids"), 0)->valuedouble, tokenizer_cls_id(tok));
    ck_assert_int_eq((int)cJSON_GetArrayItem(at(at(specials, "[SEP]"), "ids"), 0)->valuedouble, tokenizer_sep_id(tok));

    /* The five special tokens, in id order, whole (not normalised), special. */
    const cJSON *added = at(json, "added_tokens");
    ck_assert_int_eq(cJSON_GetArraySize(added), 5);
    int previous = -1, seen = 0;
    for (const cJSON *t = added->child; t; t = t->next) {
        int id = (int)at(t, "id")->valuedouble;
        const char *content = at(t, "content")->valuestring;
        ck_assert_int_gt(id, previous);
        previous = id;
        ck_assert_int_eq(tokenizer_token_id(tok, content), id);
        ck_assert(cJSON_IsTrue(at(t, "special")) && cJSON_IsFalse(at(t, "normalized")));
        ck_assert(cJSON_IsFalse(at(t, "lstrip")) && cJSON_IsFalse(at(t, "rstrip")) && cJSON_IsFalse(at(t, "single_word")));
        for (int k = 0; k < 5; k++) seen |= (strcmp(content, TOKENIZER_SPECIAL_TOKENS[k]) == 0) << k;
    }
    ck_assert_int_eq(seen, 31);

    const cJSON *model = at(json, "model");
    assert_string(model, "type", "WordPiece");
    assert_string(model, "unk_token", "[UNK]");
    assert_string(model, "continuing_subword_prefix", "##");
    ck_assert_int_eq((int)at(model, "max_input_chars_per_word")->valuedouble, 100);
    const cJSON *vocab = at(model, "vocab");
    ck_assert_int_eq(cJSON_GetArraySize(vocab), tokenizer_vocab_size(tok));
    int id = 0;
    for (const cJSON *e = vocab->child; e; e = e->next, id++) {
        ck_assert_int_eq((int)e->valuedouble, id);
        ck_assert_str_eq(e->string, tokenizer_id_to_token(tok, id));
    }
    cJSON_Delete(json);

    cJSON *map = read_json(dir, "special_tokens_map.json");
    assert_string(map, "unk_token", "[UNK]");
    assert_string(map, "sep_token", "[SEP]");
    assert_string(map, "pad_token", "[PAD]");
    assert_string(map, "cls_token", "[CLS]");
    assert_string(map, "mask_token", "[MASK]");
    cJSON_Delete(map);
    tokenizer_free(tok);
    tmpdir_remove(dir);
}

START_TEST(written_tokenizer_json_names_the_vocabulary_and_settings) {
    check_written_settings(true);
    check_written_settings(false);
}
END_TEST

/* The texts of tests/data/tokenizer_cases.txt (as written, escapes and all). */
static void assert_same_ids(const Tokenizer *a, const Tokenizer *b) {
    char *text, err[256];
    size_t len;
    ck_assert_msg(read_whole_file("tests/data/tokenizer_cases.txt", &text, &len, err, sizeof err) == 0, "%s", err);
    IntVec ids_a = {0}, ids_b = {0};
    int lines = 0;
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        if (strncmp(line, "#:", 2) == 0) continue;
        ids_a.len = ids_b.len = 0;
        ck_assert(tokenizer_encode(a, line, strlen(line), &ids_a, NULL) >= 0);
        ck_assert(tokenizer_encode(b, line, strlen(line), &ids_b, NULL) >= 0);
        ck_assert_msg(ids_a.len == ids_b.len && memcmp(ids_a.data, ids_b.data, sizeof(int) * (size_t)ids_a.len) == 0,
                      "different ids for: %s", line);
        lines++;
    }
    ck_assert_int_gt(lines, 50);
    free(ids_a.data);
    free(ids_b.data);
    free(text);
}

START_TEST(a_directory_with_only_tokenizer_json_tokenizes_as_vocab_txt) {
    char dir[64], err[256], source[256], path[128];
    tmpdir_create(dir, "tokjson");
    for (int cased = 0; cased < 2; cased++) {
        Tokenizer *from_txt = tokenizer_load(VOCAB, !cased, err, sizeof err);
        ck_assert_msg(from_txt != NULL, "%s", err);
        ck_assert_msg(tokenizer_json_save(dir, from_txt, err, sizeof err) == 0, "%s", err);
        Tokenizer *from_json = tokenizer_load_dir(dir, !cased, source, sizeof source, err, sizeof err);
        ck_assert_msg(from_json != NULL, "%s", err);
        ck_assert_msg(strstr(source, "tokenizer.json"), "read %s", source);
        ck_assert_int_eq(tokenizer_lower_case(from_json), !cased);
        ck_assert_int_eq(tokenizer_vocab_size(from_json), tokenizer_vocab_size(from_txt));
        for (int id = 0; id < tokenizer_vocab_size(from_txt); id++)
            ck_assert_str_eq(tokenizer_id_to_token(from_json, id), tokenizer_id_to_token(from_txt, id));
        assert_same_ids(from_txt, from_json);
        /* vocab.txt, when present, is what a directory is read from. */
        snprintf(path, sizeof path, "%s/vocab.txt", dir);
        ck_assert_msg(tokenizer_save_vocab_txt(from_json, path, err, sizeof err) == 0, "%s", err);
        Tokenizer *again = tokenizer_load_dir(dir, !cased, source, sizeof source, err, sizeof err);
        ck_assert_msg(again != NULL, "%s", err);
        ck_assert_msg(strstr(source, "vocab.txt"), "read %s", source);
        assert_same_ids(from_txt, again);
        unlink(path);
        tokenizer_free(again);
        tokenizer_free(from_json);
        tokenizer_free(from_txt);
    }
    /* A tokenizer_config.json that disagrees with the normalizer. */
    snprintf(path, sizeof path, "%s/tokenizer_config.json", dir);
    const char *config = "{\"do_lower_case\": true}";
    ck_assert(atomic_write_file(path, config, strlen(config), err, sizeof err) == 0);
    ck_assert(tokenizer_load_dir(dir, true, NULL, 0, err, sizeof err) == NULL);   /* the last save was cased */
    ck_assert_msg(strstr(err, "normalizer.lowercase is false") && strstr(err, "do_lower_case true"), "%s", err);
    tmpdir_remove(dir);
    char empty[64];
    tmpdir_create(empty, "tokjson");
    ck_assert(tokenizer_load_dir(empty, true, NULL, 0, err, sizeof err) == NULL);
    ck_assert_msg(strstr(err, "no vocab.txt and no tokenizer.json"), "%s", err);
    tmpdir_remove(empty);
}
END_TEST

/* The same with bert-base-uncased's 30,522-token vocabulary, where the texts
 * split into real WordPieces rather than mostly [UNK]. */
START_TEST(bert_base_vocab_round_trips_through_tokenizer_json) {
    const char *shared = shared_data_dir("tokenizer.json with bert-base-uncased's vocab");
    if (!shared) return;
    char vocab[4096], dir[64], err[256];
    snprintf(vocab, sizeof vocab, "%s/bert-tiny/vocab.txt", shared);
    tmpdir_create(dir, "tokjson");
    Tokenizer *from_txt = tokenizer_load(vocab, true, err, sizeof err);
    ck_assert_msg(from_txt != NULL, "%s", err);
    ck_assert_int_eq(tokenizer_vocab_size(from_txt), 30522);
    ck_assert_msg(tokenizer_json_save(dir, from_txt, err, sizeof err) == 0, "%s", err);
    Tokenizer *from_json = tokenizer_load_dir(dir, true, NULL, 0, err, sizeof err);
    ck_assert_msg(from_json != NULL, "%s", err);
    for (int id = 0; id < 30522; id++)
        ck_assert_str_eq(tokenizer_id_to_token(from_json, id), tokenizer_id_to_token(from_txt, id));
    assert_same_ids(from_txt, from_json);
    tokenizer_free(from_json);
    tokenizer_free(from_txt);
    tmpdir_remove(dir);
}
END_TEST

/* A tokenizer.json with the given model and normalizer members must fail
 * naming the file and containing `problem`. */
static void assert_refused(const char *model, const char *normalizer, const char *problem) {
    char path[64], err[512], text[2048];
    snprintf(text, sizeof text, "{\"normalizer\": %s, \"model\": %s}", normalizer, model);
    write_temp_file(path, text, strlen(text), ".json");
    ck_assert(tokenizer_json_load(path, err, sizeof err) == NULL);
    ck_assert_msg(strstr(err, path) && strstr(err, problem), "expected \"%s\", got: %s", problem, err);
    unlink(path);
}

START_TEST(malformed_tokenizer_json_is_refused_with_the_problem) {
    const char *norm = "{\"type\": \"BertNormalizer\", \"lowercase\": true, \"strip_accents\": null}";
    const char *specials = "\"[PAD]\": 0, \"[UNK]\": 1, \"[CLS]\": 2, \"[SEP]\": 3, \"[MASK]\": 4";
    char model[1024];
    snprintf(model, sizeof model, "{\"type\": \"WordPiece\", \"unk_token\": \"[UNK]\", \"vocab\": {%s, \"a\": 5}}", specials);
    assert_refused("{\"type\": \"BPE\"}", norm, "model.type must be \"WordPiece\"");
    assert_refused(model, "{\"type\": \"Lowercase\"}", "normalizer.type must be \"BertNormalizer\"");
    assert_refused(model, "{\"type\": \"BertNormalizer\", \"lowercase\": true, \"strip_accents\": false}",
                   "strip_accents must be null or equal to lowercase");
    snprintf(model, sizeof model, "{\"type\": \"WordPiece\", \"unk_token\": \"[UNK]\", \"vocab\": {%s, \"a\": 3}}", specials);
    assert_refused(model, norm, "id 3 is given to both");
    snprintf(model, sizeof model, "{\"type\": \"WordPiece\", \"unk_token\": \"[UNK]\", \"vocab\": {%s, \"a\": 9}}", specials);
    assert_refused(model, norm, "the id must be a whole number in 0..5");
    snprintf(model, sizeof model, "{\"type\": \"WordPiece\", \"unk_token\": \"[UNK]\", "
             "\"continuing_subword_prefix\": \"@@\", \"vocab\": {%s}}", specials);
    assert_refused(model, norm, "continuing_subword_prefix must be \"##\"");
    snprintf(model, sizeof model, "{\"type\": \"WordPiece\", \"unk_token\": \"[UNK]\", "
             "\"max_input_chars_per_word\": 50, \"vocab\": {%s}}", specials);
    assert_refused(model, norm, "max_input_chars_per_word must be 100");
    assert_refused("{\"type\": \"WordPiece\", \"unk_token\": \"[UNK]\", "
                   "\"vocab\": {\"[PAD]\": 0, \"[UNK]\": 1, \"[CLS]\": 2, \"[SEP]\": 3}}", norm, "[MASK]");
    char path[64], err[512];
    write_temp_file(path, "{\"model\": ", 10, ".json");
    ck_assert(tokenizer_json_load(path, err, sizeof err) == NULL);
    ck_assert_msg(strstr(err, path) && strstr(err, "not a JSON object"), "%s", err);
    unlink(path);
}
END_TEST

Suite *tokenizer_json_suite(void) {
    Suite *s = suite_create("tokenizer_json");
    TCase *tc = tcase_create("tokenizer.json");
    tcase_add_test(tc, written_tokenizer_json_names_the_vocabulary_and_settings);
    tcase_add_test(tc, a_directory_with_only_tokenizer_json_tokenizes_as_vocab_txt);
    tcase_add_test(tc, bert_base_vocab_round_trips_through_tokenizer_json);
    tcase_add_test(tc, malformed_tokenizer_json_is_refused_with_the_problem);
    suite_add_tcase(s, tc);
    return s;
}
