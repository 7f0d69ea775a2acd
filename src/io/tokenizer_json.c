/* tokenizer_json.c — tokenizer.json and special_tokens_map.json for Hugging
 * Face's fast tokenizer, and loading a vocabulary back from tokenizer.json
 * (include/io/tokenizer_json.h; the format: docs/tokenizer.md). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <cJSON.h>
#include "io/tokenizer_json.h"
#include "io/fileio.h"

const char *const TOKENIZER_SPECIAL_TOKENS[5] = { "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]" };

static int write_json(const char *path, cJSON *json, char *err, size_t err_len) {
    char *text = json ? cJSON_Print(json) : NULL;
    cJSON_Delete(json);
    if (!text) {
        format_error(err, err_len, "%s: out of memory", path);
        return -1;
    }
    int rc = atomic_write_file(path, text, strlen(text), err, err_len);
    free(text);
    return rc;
}

/* {"SpecialToken": {"id": "[CLS]", "type_id": 0}} or {"Sequence": {"id": "A", "type_id": 0}} */
static cJSON *template_piece(const char *kind, const char *id, int type_id) {
    cJSON *piece = cJSON_CreateObject(), *inner = cJSON_AddObjectToObject(piece, kind);
    cJSON_AddStringToObject(inner, "id", id);
    cJSON_AddNumberToObject(inner, "type_id", type_id);
    return piece;
}

/* BERT's inputs (tokenizer.h tokenizer_build_input): [CLS] A [SEP], and
 * [CLS] A [SEP] B [SEP] with token type 1 from B on. */
static cJSON *post_processor(const Tokenizer *tok) {
    cJSON *p = cJSON_CreateObject();
    cJSON_AddStringToObject(p, "type", "TemplateProcessing");
    cJSON *single = cJSON_AddArrayToObject(p, "single"), *pair = cJSON_AddArrayToObject(p, "pair");
    cJSON_AddItemToArray(single, template_piece("SpecialToken", "[CLS]", 0));
    cJSON_AddItemToArray(single, template_piece("Sequence", "A", 0));
    cJSON_AddItemToArray(single, template_piece("SpecialToken", "[SEP]", 0));
    cJSON_AddItemToArray(pair, template_piece("SpecialToken", "[CLS]", 0));
    cJSON_AddItemToArray(pair, template_piece("Sequence", "A", 0));
    cJSON_AddItemToArray(pair, template_piece("SpecialToken", "[SEP]", 0));
    cJSON_AddItemToArray(pair, template_piece("Sequence", "B", 1));
    cJSON_AddItemToArray(pair, template_piece("SpecialToken", "[SEP]", 1));
    cJSON *specials = cJSON_AddObjectToObject(p, "special_tokens");
    const char *names[2] = { "[CLS]", "[SEP]" };
    for (int i = 0; i < 2; i++) {
        cJSON *s = cJSON_AddObjectToObject(specials, names[i]);
        cJSON_AddStringToObject(s, "id", names[i]);
        int id = tokenizer_token_id(tok, names[i]);
        cJSON_AddItemToObject(s, "ids", cJSON_CreateIntArray(&id, 1));
        cJSON_AddItemToObject(s, "tokens", cJSON_CreateStringArray(&names[i], 1));
    }
    return p;
}

static int compare_ids(const void *a, const void *b) { return ((const int *)a)[0] - ((const int *)b)[0]; }

int tokenizer_json_save(const char *dir, const Tokenizer *tok, char *err, size_t err_len) {
    char path[4200];
    bool lower = tokenizer_lower_case(tok);
    cJSON *json = cJSON_CreateObject();
    cJSON_AddStringToObject(json, "version", "1.0");
    cJSON_AddNullToObject(json, "truncation");
    cJSON_AddNullToObject(json, "padding");

    /* The special tokens as added tokens, in id order, matched whole before
     * normalisation (as tokenizer_encode keeps them whole). */
    int order[5][2];
    for (int i = 0; i < 5; i++) { order[i][0] = tokenizer_token_id(tok, TOKENIZER_SPECIAL_TOKENS[i]); order[i][1] = i; }
    qsort(order, 5, sizeof order[0], compare_ids);
    cJSON *added = cJSON_AddArrayToObject(json, "added_tokens");
    for (int i = 0; i < 5; i++) {
        cJSON *t = cJSON_CreateObject();
        cJSON_AddNumberToObject(t, "id", order[i][0]);
        cJSON_AddStringToObject(t, "content", TOKENIZER_SPECIAL_TOKENS[order[i][1]]);
        cJSON_AddFalseToObject(t, "single_word");
        cJSON_AddFalseToObject(t, "lstrip");
        cJSON_AddFalseToObject(t, "rstrip");
        cJSON_AddFalseToObject(t, "normalized");
        cJSON_AddTrueToObject(t, "special");
        cJSON_AddItemToArray(added, t);
    }

    cJSON *normalizer = cJSON_AddObjectToObject(json, "normalizer");
    cJSON_AddStringToObject(normalizer, "type", "BertNormalizer");
    cJSON_AddTrueToObject(normalizer, "clean_text");
    cJSON_AddTrueToObject(normalizer, "handle_chinese_chars");
    cJSON_AddNullToObject(normalizer, "strip_accents");   /* null: strip exactly when lowercasing, as bert.c */
    cJSON_AddBoolToObject(normalizer, "lowercase", lower);
    cJSON_AddStringToObject(cJSON_AddObjectToObject(json, "pre_tokenizer"), "type", "BertPreTokenizer");
    cJSON_AddItemToObject(json, "post_processor", post_processor(tok));
    cJSON *decoder = cJSON_AddObjectToObject(json, "decoder");
    cJSON_AddStringToObject(decoder, "type", "WordPiece");
    cJSON_AddStringToObject(decoder, "prefix", "##");
    cJSON_AddTrueToObject(decoder, "cleanup");

    cJSON *model = cJSON_AddObjectToObject(json, "model");
    cJSON_AddStringToObject(model, "type", "WordPiece");
    cJSON_AddStringToObject(model, "unk_token", "[UNK]");
    cJSON_AddStringToObject(model, "continuing_subword_prefix", "##");
    cJSON_AddNumberToObject(model, "max_input_chars_per_word", TOKENIZER_MAX_WORD_CHARS);
    cJSON *vocab = cJSON_AddObjectToObject(model, "vocab");
    int n = tokenizer_vocab_size(tok);
    for (int id = 0; id < n; id++) cJSON_AddNumberToObject(vocab, tokenizer_id_to_token(tok, id), id);
    snprintf(path, sizeof path, "%s/tokenizer.json", dir);
    if (write_json(path, json, err, err_len) != 0) return -1;

    cJSON *map = cJSON_CreateObject();
    cJSON_AddStringToObject(map, "unk_token", "[UNK]");
    cJSON_AddStringToObject(map, "sep_token", "[SEP]");
    cJSON_AddStringToObject(map, "pad_token", "[PAD]");
    cJSON_AddStringToObject(map, "cls_token", "[CLS]");
    cJSON_AddStringToObject(map, "mask_token", "[MASK]");
    snprintf(path, sizeof path, "%s/special_tokens_map.json", dir);
    return write_json(path, map, err, err_len);
}

int tokenizer_save_vocab_txt(const Tokenizer *tok, const char *path, char *err, size_t err_len) {
    int n = tokenizer_vocab_size(tok);
    size_t len = 0;
    for (int id = 0; id < n; id++) len += strlen(tokenizer_id_to_token(tok, id)) + 1;
    char *text = malloc(len + 1), *at = text;
    if (!text) {
        format_error(err, err_len, "%s: out of memory", path);
        return -1;
    }
    for (int id = 0; id < n; id++) {
        size_t k = strlen(tokenizer_id_to_token(tok, id));
        memcpy(at, tokenizer_id_to_token(tok, id), k);
        at[k] = '\n';
        at += k + 1;
    }
    int rc = atomic_write_file(path, text, len, err, err_len);
    free(text);
    return rc;
}

/* The string member `key` of o equals want (want NULL: the member may be
 * absent or null). */
static bool string_is(const cJSON *o, const char *key, const char *want) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) && strcmp(v->valuestring, want) == 0;
}

Tokenizer *tokenizer_json_load(const char *path, char *err, size_t err_len) {
    char *text;
    size_t len;
    if (read_whole_file(path, &text, &len, err, err_len) != 0) return NULL;
    cJSON *json = cJSON_ParseWithLength(text, len);
    free(text);
    Tokenizer *tok = NULL;
    char *vocab_text = NULL;
    char **by_id = NULL;
    const cJSON *model = cJSON_GetObjectItemCaseSensitive(json, "model");
    const cJSON *normalizer = cJSON_GetObjectItemCaseSensitive(json, "normalizer");
    if (!cJSON_IsObject(json)) { format_error(err, err_len, "%s: not a JSON object", path); goto done; }
    if (!cJSON_IsObject(model) || !string_is(model, "type", "WordPiece")) {
        format_error(err, err_len, "%s: model.type must be \"WordPiece\" (bert.c reads BERT's WordPiece tokenizers)", path);
        goto done;
    }
    const cJSON *prefix = cJSON_GetObjectItemCaseSensitive(model, "continuing_subword_prefix");
    if (prefix && !cJSON_IsNull(prefix) && !string_is(model, "continuing_subword_prefix", "##")) {
        format_error(err, err_len, "%s: model.continuing_subword_prefix must be \"##\"", path);
        goto done;
    }
    const cJSON *max_chars = cJSON_GetObjectItemCaseSensitive(model, "max_input_chars_per_word");
    if (max_chars && !(cJSON_IsNumber(max_chars) && max_chars->valuedouble == TOKENIZER_MAX_WORD_CHARS)) {
        format_error(err, err_len, "%s: model.max_input_chars_per_word must be %d, as BERT's", path,
                     TOKENIZER_MAX_WORD_CHARS);
        goto done;
    }
    if (!string_is(model, "unk_token", "[UNK]")) {
        format_error(err, err_len, "%s: model.unk_token must be \"[UNK]\"", path);
        goto done;
    }
    if (!cJSON_IsObject(normalizer) || !string_is(normalizer, "type", "BertNormalizer")) {
        format_error(err, err_len, "%s: normalizer.type must be \"BertNormalizer\"", path);
        goto done;
    }
    const cJSON *lowercase = cJSON_GetObjectItemCaseSensitive(normalizer, "lowercase");
    const cJSON *strip = cJSON_GetObjectItemCaseSensitive(normalizer, "strip_accents");
    if (!cJSON_IsBool(lowercase)) {
        format_error(err, err_len, "%s: normalizer.lowercase must be true or false", path);
        goto done;
    }
    bool lower = cJSON_IsTrue(lowercase);
    if (strip && !cJSON_IsNull(strip) && !(cJSON_IsBool(strip) && cJSON_IsTrue(strip) == lower)) {
        format_error(err, err_len, "%s: normalizer.strip_accents must be null or equal to lowercase "
                     "(bert.c strips accents exactly when it lowercases)", path);
        goto done;
    }
    const cJSON *vocab = cJSON_GetObjectItemCaseSensitive(model, "vocab");
    if (!cJSON_IsObject(vocab) || !vocab->child) {
        format_error(err, err_len, "%s: model.vocab must be a non-empty object of token: id", path);
        goto done;
    }
    int n = cJSON_GetArraySize(vocab);
    by_id = calloc((size_t)n, sizeof *by_id);
    if (!by_id) { format_error(err, err_len, "%s: out of memory", path); goto done; }
    size_t total = 0;
    for (const cJSON *e = vocab->child; e; e = e->next) {
        double v = cJSON_IsNumber(e) ? e->valuedouble : -1;
        if (v < 0 || v >= n || v != (double)(int)v) {
            format_error(err, err_len, "%s: model.vocab[\"%s\"]: the id must be a whole number in 0..%d", path,
                         e->string, n - 1);
            goto done;
        }
        int id = (int)v;
        if (by_id[id]) {
            format_error(err, err_len, "%s: model.vocab: id %d is given to both \"%s\" and \"%s\"", path, id,
                         by_id[id], e->string);
            goto done;
        }
        if (!e->string[0] || strpbrk(e->string, "\n\r")) {
            format_error(err, err_len, "%s: model.vocab: token %d is empty or holds a line break", path, id);
            goto done;
        }
        by_id[id] = e->string;
        total += strlen(e->string) + 1;
    }
    /* n distinct ids in 0..n−1: every id is taken. As vocab.txt's lines, so
     * the one loader checks the tokens (duplicates, UTF-8, special tokens). */
    vocab_text = malloc(total + 1);
    if (!vocab_text) { format_error(err, err_len, "%s: out of memory", path); goto done; }
    char *at = vocab_text;
    for (int id = 0; id < n; id++) {
        size_t k = strlen(by_id[id]);
        memcpy(at, by_id[id], k);
        at[k] = '\n';
        at += k + 1;
    }
    tok = tokenizer_load_text(path, vocab_text, (long)total, lower, err, err_len);
    vocab_text = NULL;   /* owned by the tokenizer from the call on */
done:
    free(vocab_text);
    free(by_id);
    cJSON_Delete(json);
    return tok;
}

Tokenizer *tokenizer_load_dir(const char *dir, bool lower_case, char *source, size_t source_len,
                              char *err, size_t err_len) {
    char path[4200];
    struct stat sb;
    snprintf(path, sizeof path, "%s/vocab.txt", dir);
    if (stat(path, &sb) == 0) {
        if (source) snprintf(source, source_len, "%s", path);
        return tokenizer_load(path, lower_case, err, err_len);
    }
    snprintf(path, sizeof path, "%s/tokenizer.json", dir);
    if (stat(path, &sb) != 0) {
        format_error(err, err_len, "%s: no vocab.txt and no tokenizer.json", dir);
        return NULL;
    }
    if (source) snprintf(source, source_len, "%s", path);
    Tokenizer *tok = tokenizer_json_load(path, err, err_len);
    char config[4200];
    snprintf(config, sizeof config, "%s/tokenizer_config.json", dir);
    bool has_config = stat(config, &sb) == 0;   /* without it the normalizer alone decides */
    if (tok && has_config && tokenizer_lower_case(tok) != lower_case) {
        format_error(err, err_len, "%s: normalizer.lowercase is %s but %s/tokenizer_config.json says do_lower_case %s",
                     path, tokenizer_lower_case(tok) ? "true" : "false", dir, lower_case ? "true" : "false");
        tokenizer_free(tok);
        return NULL;
    }
    return tok;
}
