/* bert_config.c — BertConfig from/to Hugging Face config.json (and Google's
 * bert_config.json), with the key policy documented in include/bert_config.h. */
#include "io/bert_config.h"

#include <cJSON.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "io/fileio.h"

static char *string_copy(const char *s) {
    size_t n = strlen(s) + 1;
    char *c = malloc(n);
    if (c) memcpy(c, s, n);
    return c;
}

static void free_labels(char **labels, int n) {
    if (!labels) return;
    for (int i = 0; i < n; i++) free(labels[i]);
    free(labels);
}

/* ["LABEL_0", ..., "LABEL_{n-1}"], transformers' names when none are given. */
static char **default_labels(int n) {
    char **labels = calloc((size_t)n, sizeof(char *));
    for (int i = 0; labels && i < n; i++) {
        char name[32];
        snprintf(name, sizeof name, "LABEL_%d", i);
        if (!(labels[i] = string_copy(name))) { free_labels(labels, i); return NULL; }
    }
    return labels;
}

int bert_config_defaults(BertConfig *cfg) {
    *cfg = (BertConfig){
        .vocab_size = 30522, .hidden_size = 768, .num_hidden_layers = 12, .num_attention_heads = 12,
        .intermediate_size = 3072, .hidden_act = "gelu", .hidden_dropout_prob = 0.1,
        .attention_probs_dropout_prob = 0.1, .max_position_embeddings = 512, .type_vocab_size = 2,
        .initializer_range = 0.02, .layer_norm_eps = 1e-12, .pad_token_id = 0, .num_labels = 2,
        .position_embedding_type = "absolute", .initializer = "bert", .classifier_pooling = "cls",
    };
    cfg->id2label = default_labels(2);
    return cfg->id2label ? 0 : -1;
}

void bert_config_free(BertConfig *cfg) {
    free_labels(cfg->id2label, cfg->num_labels);
    cfg->id2label = NULL;
    cfg->num_labels = 0;
}

/* ---- the options (docs/README.md "Options") ---------------------------------- */

const char *const bert_pooling_names[3] = { "cls", "mean", "max" };
const char *const bert_init_scheme_names[5] = {
    "bert", "xavier_uniform", "xavier_normal", "he_normal", "lecun_normal",
};

static int name_index(const char *name, const char *const *names, int n) {
    for (int i = 0; i < n; i++)
        if (strcmp(name, names[i]) == 0) return i;
    return -1;
}

int bert_parse_pooling(const char *name, ClassifierPooling *out) {
    int i = name_index(name, bert_pooling_names, 3);
    if (i < 0) return -1;
    *out = (ClassifierPooling)i;
    return 0;
}

int bert_parse_init_scheme(const char *name, InitScheme *out) {
    int i = name_index(name, bert_init_scheme_names, 5);
    if (i < 0) return -1;
    *out = (InitScheme)i;
    return 0;
}

HiddenAct bert_config_hidden_act(const BertConfig *cfg) {
    return strcmp(cfg->hidden_act, "relu") == 0 ? HIDDEN_ACT_RELU : HIDDEN_ACT_GELU;
}

bool bert_config_sinusoidal(const BertConfig *cfg) { return strcmp(cfg->position_embedding_type, "sinusoidal") == 0; }

ClassifierPooling bert_config_pooling(const BertConfig *cfg) {
    ClassifierPooling p = POOLING_CLS;
    if (cfg->classifier_pooling[0]) bert_parse_pooling(cfg->classifier_pooling, &p);
    return p;
}

InitScheme bert_config_init_scheme(const BertConfig *cfg) {
    InitScheme s = INIT_BERT;
    if (cfg->initializer[0]) bert_parse_init_scheme(cfg->initializer, &s);
    return s;
}

static const char *const problem_types[] = {
    "regression", "single_label_classification", "multi_label_classification",
};

typedef struct { const char *s; int index; } IndexedString;

static int compare_indexed(const void *a, const void *b) {
    const IndexedString *x = a, *y = b;
    int c = strcmp(x->s, y->s);
    return c ? c : (x->index > y->index) - (x->index < y->index);
}

/* Whether two of s[0..n-1] are equal, in O(n log n) (a config may carry
 * BERT_MAX_LABELS labels). Returns 1 with the two lowest indices of the
 * alphabetically first repeated string (*first < *second), 0 if all differ,
 * -1 if out of memory. */
static int find_repeated_string(const char *const *s, int n, int *first, int *second) {
    IndexedString *order = malloc(sizeof *order * (size_t)(n > 0 ? n : 1));
    if (!order) return -1;
    for (int i = 0; i < n; i++) order[i] = (IndexedString){ s[i], i };
    qsort(order, (size_t)n, sizeof *order, compare_indexed);
    int found = 0;
    for (int i = 1; i < n && !found; i++)
        if (strcmp(order[i - 1].s, order[i].s) == 0) {
            *first = order[i - 1].index;
            *second = order[i].index;
            found = 1;
        }
    free(order);
    return found;
}

/* Returns NULL if cfg is valid, else the key at fault with the problem in msg. */
static const char *check_config(const BertConfig *cfg, char *msg, size_t len) {
    const struct { const char *key; int value; } sizes[] = {
        { "vocab_size", cfg->vocab_size }, { "hidden_size", cfg->hidden_size },
        { "num_hidden_layers", cfg->num_hidden_layers }, { "num_attention_heads", cfg->num_attention_heads },
        { "intermediate_size", cfg->intermediate_size }, { "max_position_embeddings", cfg->max_position_embeddings },
        { "type_vocab_size", cfg->type_vocab_size }, { "num_labels", cfg->num_labels },
    };
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
        if (sizes[i].value <= 0) {
            format_error(msg, len, "%s must be positive (got %d)", sizes[i].key, sizes[i].value);
            return sizes[i].key;
        }
    if (cfg->num_labels > BERT_MAX_LABELS) {
        format_error(msg, len, "num_labels %d is more than bert.c's limit of %d labels", cfg->num_labels, BERT_MAX_LABELS);
        return "num_labels";
    }
    if (cfg->hidden_size % cfg->num_attention_heads != 0) {
        format_error(msg, len, "hidden_size %d is not divisible by num_attention_heads %d",
                     cfg->hidden_size, cfg->num_attention_heads);
        return "num_attention_heads";
    }
    if (strcmp(cfg->hidden_act, "gelu") != 0 && strcmp(cfg->hidden_act, "relu") != 0) {
        format_error(msg, len, "hidden_act \"%s\" is not supported: bert.c implements only \"gelu\", "
                     "the exact erf form x·Φ(x), and \"relu\"", cfg->hidden_act);
        return "hidden_act";
    }
    if (cfg->position_embedding_type[0] && strcmp(cfg->position_embedding_type, "absolute") != 0 &&
        strcmp(cfg->position_embedding_type, "sinusoidal") != 0) {
        format_error(msg, len, "position_embedding_type \"%s\" is not supported: bert.c implements \"absolute\" "
                     "(learned, BERT's) and \"sinusoidal\" (fixed, bert.c only)", cfg->position_embedding_type);
        return "position_embedding_type";
    }
    InitScheme scheme;
    if (cfg->initializer[0] && bert_parse_init_scheme(cfg->initializer, &scheme) != 0) {
        format_error(msg, len, "initializer \"%s\" is not one of bert, xavier_uniform, xavier_normal, "
                     "he_normal, lecun_normal", cfg->initializer);
        return "initializer";
    }
    ClassifierPooling pooling;
    if (cfg->classifier_pooling[0] && bert_parse_pooling(cfg->classifier_pooling, &pooling) != 0) {
        format_error(msg, len, "classifier_pooling \"%s\" is not one of cls, mean, max", cfg->classifier_pooling);
        return "classifier_pooling";
    }
    const struct { const char *key; double p; } probs[] = {
        { "hidden_dropout_prob", cfg->hidden_dropout_prob },
        { "attention_probs_dropout_prob", cfg->attention_probs_dropout_prob },
        { "classifier_dropout", cfg->has_classifier_dropout ? cfg->classifier_dropout : 0 },
    };
    for (size_t i = 0; i < sizeof probs / sizeof probs[0]; i++)
        if (!(probs[i].p >= 0 && probs[i].p < 1)) {
            format_error(msg, len, "%s must be in [0, 1) (got %g)", probs[i].key, probs[i].p);
            return probs[i].key;
        }
    if (!(cfg->layer_norm_eps > 0 && isfinite(cfg->layer_norm_eps))) {
        format_error(msg, len, "layer_norm_eps must be positive (got %g)", cfg->layer_norm_eps);
        return "layer_norm_eps";
    }
    if (!(cfg->initializer_range > 0 && isfinite(cfg->initializer_range))) {
        format_error(msg, len, "initializer_range must be positive (got %g)", cfg->initializer_range);
        return "initializer_range";
    }
    if (cfg->pad_token_id < 0 || cfg->pad_token_id >= cfg->vocab_size) {
        format_error(msg, len, "pad_token_id %d is not a token id (vocab_size %d)", cfg->pad_token_id, cfg->vocab_size);
        return "pad_token_id";
    }
    if (cfg->problem_type[0]) {
        bool known = false;
        for (size_t i = 0; i < sizeof problem_types / sizeof problem_types[0]; i++)
            known |= strcmp(cfg->problem_type, problem_types[i]) == 0;
        if (!known) {
            format_error(msg, len, "problem_type \"%s\" is not one of regression, single_label_classification, "
                         "multi_label_classification", cfg->problem_type);
            return "problem_type";
        }
    }
    if (!cfg->id2label) {
        format_error(msg, len, "id2label is missing");
        return "id2label";
    }
    int a, b;
    switch (find_repeated_string((const char *const *)cfg->id2label, cfg->num_labels, &a, &b)) {
    case -1:
        format_error(msg, len, "out of memory checking id2label");
        return "id2label";
    case 1:
        format_error(msg, len, "label \"%.100s\" is used for ids %d and %d", cfg->id2label[a], a, b);
        return "id2label";
    }
    return NULL;
}

int bert_config_validate(const BertConfig *cfg, char *err, size_t err_len) {
    return check_config(cfg, err, err_len) ? -1 : 0;
}

/* ---- loading ---------------------------------------------------------------- */

typedef struct {
    const char *path, *text;
    size_t len;
    char *err;
    size_t err_len;
} Source;

/* Line of the first `"key" :` in the file (cJSON keeps no positions), or 0. */
static int key_line(const Source *src, const char *key) {
    size_t klen = strlen(key);
    for (const char *p = src->text; (p = strchr(p, '"')) != NULL; p++) {
        if (strncmp(p + 1, key, klen) != 0 || p[1 + klen] != '"') continue;
        const char *q = p + 2 + klen;
        while (*q == ' ' || *q == '\t' || *q == '\r' || *q == '\n') q++;
        if (*q != ':') continue;
        int line, col;
        text_line_col(src->text, src->len, (size_t)(p - src->text), &line, &col);
        return line;
    }
    return 0;
}

/* "PATH:LINE: msg" (LINE omitted when the key cannot be located). */
static int key_error(const Source *src, const char *key, const char *msg) {
    int line = key ? key_line(src, key) : 0;
    if (line > 0) format_error(src->err, src->err_len, "%s:%d: %s", src->path, line, msg);
    else format_error(src->err, src->err_len, "%s: %s", src->path, msg);
    return -1;
}

static int read_int(const Source *src, const cJSON *item, int *out) {
    double v = item->valuedouble;
    if (!cJSON_IsNumber(item) || v != floor(v) || v < INT_MIN || v > INT_MAX) {
        char msg[160];
        snprintf(msg, sizeof msg, "%s must be an integer", item->string);
        return key_error(src, item->string, msg);
    }
    *out = (int)v;
    return 0;
}

static int read_number(const Source *src, const cJSON *item, double *out) {
    if (!cJSON_IsNumber(item)) {
        char msg[160];
        snprintf(msg, sizeof msg, "%s must be a number", item->string);
        return key_error(src, item->string, msg);
    }
    *out = item->valuedouble;
    return 0;
}

static int read_string(const Source *src, const cJSON *item, char *out, size_t out_len) {
    if (!cJSON_IsString(item) || strlen(item->valuestring) >= out_len) {
        char msg[160];
        snprintf(msg, sizeof msg, "%s must be a string of at most %zu bytes", item->string, out_len - 1);
        return key_error(src, item->string, msg);
    }
    strcpy(out, item->valuestring);
    return 0;
}

/* A key that bert.c accepts only with one value, because any other value
 * would describe a model it does not implement. */
static int require_value(const Source *src, const cJSON *item, const char *expected_string, int expected_bool) {
    bool ok = expected_string ? cJSON_IsString(item) && strcmp(item->valuestring, expected_string) == 0
                              : cJSON_IsBool(item) && cJSON_IsTrue(item) == expected_bool;
    if (ok) return 0;
    char msg[200];
    if (expected_string)
        snprintf(msg, sizeof msg, "%s must be \"%s\" (bert.c implements only that)", item->string, expected_string);
    else
        snprintf(msg, sizeof msg, "%s must be %s (bert.c implements only that)", item->string,
                 expected_bool ? "true" : "false");
    return key_error(src, item->string, msg);
}

/* Keys transformers or Google write that do not change the model bert.c computes. */
static const char *const ignored_keys[] = {
    "transformers_version", "gradient_checkpointing", "use_cache", "torch_dtype", "_name_or_path",
    "output_past", "bos_token_id", "eos_token_id", "sep_token_id", "decoder_start_token_id",
    "directionality", "pooler_fc_size", "pooler_num_attention_heads", "pooler_num_fc_layers",
    "pooler_size_per_head", "pooler_type", "tokenizer_class", "chunk_size_feed_forward",
    "output_hidden_states", "output_attentions", "return_dict", "finetuning_task", "torchscript",
    "is_encoder_decoder", "prefix", "task_specific_params",
};

static void note_unknown_key(BertConfig *cfg, const char *key) {
    size_t used = strlen(cfg->unknown_keys), room = sizeof cfg->unknown_keys - used;
    int n = snprintf(cfg->unknown_keys + used, room, "%s%s", used ? ", " : "", key);
    if (n < 0 || (size_t)n >= room) strcpy(cfg->unknown_keys + sizeof cfg->unknown_keys - 4, "...");
}

/* Every key parse_config reads: a near-miss of one of these is refused. */
static const char *const model_keys[] = {
    "vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size",
    "max_position_embeddings", "type_vocab_size", "pad_token_id", "num_labels", "hidden_dropout_prob",
    "attention_probs_dropout_prob", "initializer_range", "layer_norm_eps", "classifier_dropout", "hidden_act",
    "problem_type", "architectures", "model_type", "position_embedding_type", "is_decoder",
    "add_cross_attention", "tie_word_embeddings", "id2label", "label2id", "initializer", "classifier_pooling",
};

/* Folds case and '-' to '_' ("Hidden-Size" → "hidden_size"). */
static char fold_key_char(char c) {
    return c == '-' ? '_' : (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

/* Edits from a (an unknown key) to b: insertions, deletions, substitutions
 * and swaps of neighbours (optimal string alignment distance), after folding
 * case and '-'; 3 for anything further (only 0..2 matter here). */
static int key_distance(const char *a, const char *b) {
    enum { MAX = 64 };
    size_t n = strlen(a), m = strlen(b);
    if (n > MAX || m > MAX || (n > m ? n - m : m - n) > 2) return 3;
    int d[MAX + 1][MAX + 1];
    for (size_t i = 0; i <= n; i++) d[i][0] = (int)i;
    for (size_t j = 0; j <= m; j++) d[0][j] = (int)j;
    for (size_t i = 1; i <= n; i++)
        for (size_t j = 1; j <= m; j++) {
            char x = fold_key_char(a[i - 1]), y = fold_key_char(b[j - 1]);
            int best = d[i - 1][j - 1] + (x != y);
            if (d[i - 1][j] + 1 < best) best = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < best) best = d[i][j - 1] + 1;
            if (i > 1 && j > 1 && x == fold_key_char(b[j - 2]) && fold_key_char(a[i - 2]) == y &&
                d[i - 2][j - 2] + 1 < best)
                best = d[i - 2][j - 2] + 1;
            d[i][j] = best;
        }
    return d[n][m] < 3 ? d[n][m] : 3;
}

/* A key bert.c does not know: an error if it looks like a misspelt model key,
 * else a warning on stderr and a note in cfg->unknown_keys. */
static int unknown_key(BertConfig *cfg, const Source *src, const char *key) {
    const char *closest = NULL;
    int best = 3;
    for (size_t i = 0; i < sizeof model_keys / sizeof model_keys[0]; i++) {
        int d = key_distance(key, model_keys[i]);
        if (d < best) { best = d; closest = model_keys[i]; }
    }
    if (closest) {
        char msg[300];
        snprintf(msg, sizeof msg, "unknown key \"%.100s\": did you mean \"%s\"? (refused: a misspelt key "
                 "would leave %s at its default and change the model)", key, closest, closest);
        return key_error(src, key, msg);
    }
    int line = key_line(src, key);
    char where[32] = "";
    if (line > 0) snprintf(where, sizeof where, ":%d", line);
    fprintf(stderr, "bert: warning: %s%s: unknown key \"%.100s\" ignored\n", src->path, where, key);
    note_unknown_key(cfg, key);
    return 0;
}

/* id2label: {"0": "NEG", "1": "POS"}; ids 0..n-1, each exactly once. */
static int read_id2label(const Source *src, const cJSON *item, char ***labels_out, int *n_out) {
    if (!cJSON_IsObject(item)) return key_error(src, "id2label", "id2label must be an object {\"0\": \"LABEL\", ...}");
    int n = cJSON_GetArraySize(item);
    if (n == 0) return key_error(src, "id2label", "id2label is empty");
    if (n > BERT_MAX_LABELS) {
        char too_many[160];
        snprintf(too_many, sizeof too_many, "id2label has %d entries, more than bert.c's limit of %d labels", n,
                 BERT_MAX_LABELS);
        return key_error(src, "id2label", too_many);
    }
    char **labels = calloc((size_t)n, sizeof(char *));
    if (!labels) return key_error(src, NULL, "out of memory");
    const cJSON *kv;
    char msg[200];
    cJSON_ArrayForEach(kv, item) {
        char *end;
        long id = strtol(kv->string, &end, 10);
        if (!kv->string[0] || *end || id < 0 || id >= n) {
            snprintf(msg, sizeof msg, "id2label key \"%.40s\" is not an id in 0..%d", kv->string, n - 1);
        } else if (labels[id]) {
            snprintf(msg, sizeof msg, "id2label has id %ld twice", id);
        } else if (!cJSON_IsString(kv)) {
            snprintf(msg, sizeof msg, "id2label value of \"%.40s\" is not a string", kv->string);
        } else if (!(labels[id] = string_copy(kv->valuestring))) {
            snprintf(msg, sizeof msg, "out of memory");
        } else {
            continue;
        }
        free_labels(labels, n);
        return key_error(src, "id2label", msg);
    }
    *labels_out = labels;
    *n_out = n;
    return 0;
}

/* label2id: {"NEG": 0, "POS": 1}; turned into id2label form so both can be compared. */
static int read_label2id(const Source *src, const cJSON *item, char ***labels_out, int *n_out) {
    if (!cJSON_IsObject(item)) return key_error(src, "label2id", "label2id must be an object {\"LABEL\": 0, ...}");
    int n = cJSON_GetArraySize(item);
    if (n == 0) return key_error(src, "label2id", "label2id is empty");
    if (n > BERT_MAX_LABELS) {
        char too_many[160];
        snprintf(too_many, sizeof too_many, "label2id has %d entries, more than bert.c's limit of %d labels", n,
                 BERT_MAX_LABELS);
        return key_error(src, "label2id", too_many);
    }
    char **labels = calloc((size_t)n, sizeof(char *));
    if (!labels) return key_error(src, NULL, "out of memory");
    const cJSON *kv;
    char msg[200];
    cJSON_ArrayForEach(kv, item) {
        double v = kv->valuedouble;
        if (!cJSON_IsNumber(kv) || v != floor(v) || v < 0 || v >= n) {
            snprintf(msg, sizeof msg, "label2id value of \"%.40s\" is not an id in 0..%d", kv->string, n - 1);
        } else if (labels[(int)v]) {
            snprintf(msg, sizeof msg, "label2id gives id %d to both \"%.40s\" and \"%.40s\"", (int)v,
                     labels[(int)v], kv->string);
        } else if (!(labels[(int)v] = string_copy(kv->string))) {
            snprintf(msg, sizeof msg, "out of memory");
        } else {
            continue;
        }
        free_labels(labels, n);
        return key_error(src, "label2id", msg);
    }
    *labels_out = labels;
    *n_out = n;
    return 0;
}

static int parse_config(BertConfig *cfg, const Source *src, const cJSON *root) {
    char **id2label = NULL, **label2id = NULL;
    int n_id2label = 0, n_label2id = 0, num_labels = 0, rc = 0;
    const cJSON *item;
    /* cJSON keeps both copies of a repeated key; Python's json keeps the last. Refuse to guess. */
    int n_keys = cJSON_GetArraySize(root), k_index = 0, dup_first, dup_second;
    const char **keys = malloc(sizeof(char *) * (size_t)(n_keys > 0 ? n_keys : 1));
    if (!keys) return key_error(src, NULL, "out of memory");
    cJSON_ArrayForEach(item, root) keys[k_index++] = item->string;
    int repeated = find_repeated_string(keys, n_keys, &dup_first, &dup_second);
    if (repeated < 0) {
        rc = key_error(src, NULL, "out of memory");
    } else if (repeated > 0) {
        char msg[160];
        snprintf(msg, sizeof msg, "key \"%.100s\" appears twice", keys[dup_first]);
        rc = key_error(src, keys[dup_first], msg);
    }
    free(keys);
    if (rc != 0) return rc;
    cJSON_ArrayForEach(item, root) {
        const char *k = item->string;
        if (!strcmp(k, "vocab_size")) rc = read_int(src, item, &cfg->vocab_size);
        else if (!strcmp(k, "hidden_size")) rc = read_int(src, item, &cfg->hidden_size);
        else if (!strcmp(k, "num_hidden_layers")) rc = read_int(src, item, &cfg->num_hidden_layers);
        else if (!strcmp(k, "num_attention_heads")) rc = read_int(src, item, &cfg->num_attention_heads);
        else if (!strcmp(k, "intermediate_size")) rc = read_int(src, item, &cfg->intermediate_size);
        else if (!strcmp(k, "max_position_embeddings")) rc = read_int(src, item, &cfg->max_position_embeddings);
        else if (!strcmp(k, "type_vocab_size")) rc = read_int(src, item, &cfg->type_vocab_size);
        else if (!strcmp(k, "pad_token_id")) rc = read_int(src, item, &cfg->pad_token_id);
        else if (!strcmp(k, "num_labels")) rc = read_int(src, item, &num_labels);
        else if (!strcmp(k, "hidden_dropout_prob")) rc = read_number(src, item, &cfg->hidden_dropout_prob);
        else if (!strcmp(k, "attention_probs_dropout_prob")) rc = read_number(src, item, &cfg->attention_probs_dropout_prob);
        else if (!strcmp(k, "initializer_range")) rc = read_number(src, item, &cfg->initializer_range);
        else if (!strcmp(k, "layer_norm_eps")) rc = read_number(src, item, &cfg->layer_norm_eps);
        else if (!strcmp(k, "classifier_dropout")) {
            cfg->has_classifier_dropout = !cJSON_IsNull(item);
            if (cfg->has_classifier_dropout) rc = read_number(src, item, &cfg->classifier_dropout);
        }
        else if (!strcmp(k, "hidden_act")) rc = read_string(src, item, cfg->hidden_act, sizeof cfg->hidden_act);
        else if (!strcmp(k, "position_embedding_type"))
            rc = read_string(src, item, cfg->position_embedding_type, sizeof cfg->position_embedding_type);
        else if (!strcmp(k, "initializer")) rc = read_string(src, item, cfg->initializer, sizeof cfg->initializer);
        else if (!strcmp(k, "classifier_pooling"))
            rc = read_string(src, item, cfg->classifier_pooling, sizeof cfg->classifier_pooling);
        else if (!strcmp(k, "is_decoder")) {
            if (cJSON_IsBool(item)) cfg->is_decoder = cJSON_IsTrue(item);
            else rc = key_error(src, k, "is_decoder must be true or false");
        }
        else if (!strcmp(k, "bert_c_only")) {
            if (!cJSON_IsString(item)) rc = key_error(src, k, "bert_c_only must be a string (a note)");
        }
        else if (!strcmp(k, "problem_type")) {
            if (!cJSON_IsNull(item)) rc = read_string(src, item, cfg->problem_type, sizeof cfg->problem_type);
        }
        else if (!strcmp(k, "architectures")) {
            const cJSON *first = cJSON_GetArrayItem(item, 0);
            if (!cJSON_IsArray(item) || (first && !cJSON_IsString(first)))
                rc = key_error(src, k, "architectures must be an array of strings");
            else if (first) snprintf(cfg->architecture, sizeof cfg->architecture, "%s", first->valuestring);
        }
        else if (!strcmp(k, "model_type")) rc = require_value(src, item, "bert", 0);
        else if (!strcmp(k, "add_cross_attention")) rc = require_value(src, item, NULL, 0);
        else if (!strcmp(k, "tie_word_embeddings")) rc = require_value(src, item, NULL, 1);
        else if (!strcmp(k, "id2label")) rc = read_id2label(src, item, &id2label, &n_id2label);
        else if (!strcmp(k, "label2id")) rc = read_label2id(src, item, &label2id, &n_label2id);
        else {
            bool ignored = false;
            for (size_t i = 0; i < sizeof ignored_keys / sizeof ignored_keys[0]; i++)
                ignored |= strcmp(k, ignored_keys[i]) == 0;
            if (!ignored) rc = unknown_key(cfg, src, k);
        }
        if (rc != 0) break;
    }
    const char *required[] = { "vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads",
                               "intermediate_size" };
    for (size_t i = 0; rc == 0 && i < sizeof required / sizeof required[0]; i++)
        if (!cJSON_GetObjectItemCaseSensitive(root, required[i])) {
            char msg[400];
            snprintf(msg, sizeof msg, "missing required key \"%s\"%s%s%s", required[i],
                     cfg->unknown_keys[0] ? " (unrecognised keys: " : "", cfg->unknown_keys,
                     cfg->unknown_keys[0] ? ")" : "");
            rc = key_error(src, NULL, msg);
        }
    /* Labels: id2label wins, label2id and num_labels must agree with it. */
    if (rc == 0 && id2label && num_labels && num_labels != n_id2label) {
        char msg[160];
        snprintf(msg, sizeof msg, "num_labels %d disagrees with the %d entries of id2label", num_labels, n_id2label);
        rc = key_error(src, "num_labels", msg);
    }
    if (rc == 0 && id2label && label2id) {
        bool same = n_id2label == n_label2id;
        for (int i = 0; same && i < n_id2label; i++) same = strcmp(id2label[i], label2id[i]) == 0;
        if (!same) rc = key_error(src, "label2id", "label2id is not the inverse of id2label");
    }
    if (rc == 0 && !id2label && label2id && num_labels && num_labels != n_label2id) {
        char msg[160];
        snprintf(msg, sizeof msg, "num_labels %d disagrees with the %d entries of label2id", num_labels, n_label2id);
        rc = key_error(src, "num_labels", msg);
    }
    if (rc == 0) {
        char **labels = id2label ? id2label : label2id;
        int n = id2label ? n_id2label : n_label2id;
        if (labels) {
            if (labels == id2label) id2label = NULL; else label2id = NULL;
        } else if (num_labels > BERT_MAX_LABELS) {
            char msg[160];
            snprintf(msg, sizeof msg, "num_labels %d is more than bert.c's limit of %d labels", num_labels, BERT_MAX_LABELS);
            rc = key_error(src, "num_labels", msg);
        } else {
            n = num_labels ? num_labels : 2;
            if (n > 0 && !(labels = default_labels(n))) rc = key_error(src, NULL, "out of memory");
        }
        free_labels(cfg->id2label, cfg->num_labels);
        cfg->id2label = labels;
        cfg->num_labels = n;
    }
    free_labels(id2label, n_id2label);
    free_labels(label2id, n_label2id);
    if (rc == 0) {
        char msg[300];
        const char *key = check_config(cfg, msg, sizeof msg);
        if (key) rc = key_error(src, key, msg);
    }
    return rc;
}

int bert_config_load(BertConfig *cfg, const char *path, char *err, size_t err_len) {
    if (bert_config_defaults(cfg) != 0) {
        format_error(err, err_len, "%s: out of memory", path);
        return -1;
    }
    char *text;
    size_t len;
    if (read_whole_file(path, &text, &len, err, err_len) != 0) {
        bert_config_free(cfg);
        return -1;
    }
    Source src = { .path = path, .text = text, .len = len, .err = err, .err_len = err_len };
    const char *parse_end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(text, len + 1, &parse_end, true);   /* + the final NUL, which cJSON requires to see */
    int rc;
    if (strlen(text) != len) {
        int line, col;
        text_line_col(text, len, strlen(text), &line, &col);
        format_error(err, err_len, "%s:%d:%d: NUL byte in a text file", path, line, col);
        rc = -1;
    } else if (!root) {
        int line, col;
        text_line_col(text, len, parse_end ? (size_t)(parse_end - text) : 0, &line, &col);
        format_error(err, err_len, "%s:%d:%d: invalid JSON", path, line, col);
        rc = -1;
    } else if (!cJSON_IsObject(root)) {
        format_error(err, err_len, "%s: not a JSON object", path);
        rc = -1;
    } else {
        rc = parse_config(cfg, &src, root);
    }
    cJSON_Delete(root);
    free(text);
    if (rc != 0) bert_config_free(cfg);
    return rc;
}

/* ---- saving ----------------------------------------------------------------- */

int bert_config_save(const BertConfig *cfg, const char *architecture, const char *path,
                     char *err, size_t err_len) {
    char msg[300];
    if (check_config(cfg, msg, sizeof msg)) {
        format_error(err, err_len, "%s: not written: %s", path, msg);
        return -1;
    }
    if (!architecture) architecture = cfg->architecture;
    /* Keys in alphabetical order, as transformers writes them. */
    cJSON *root = cJSON_CreateObject();
    bool ok = root != NULL;
    if (ok && architecture[0]) {
        cJSON *arch = cJSON_AddArrayToObject(root, "architectures");
        ok = arch && cJSON_AddItemToArray(arch, cJSON_CreateString(architecture));
    }
    ok = ok && cJSON_AddNumberToObject(root, "attention_probs_dropout_prob", cfg->attention_probs_dropout_prob);
    /* bert.c's options that Hugging Face BERT cannot express get a note
     * saying so (docs/checkpoints.md "bert.c-only keys"); a default config
     * is written exactly as before. */
    bool sinusoidal = bert_config_sinusoidal(cfg);
    ClassifierPooling pooling = bert_config_pooling(cfg);
    if (ok && (sinusoidal || pooling != POOLING_CLS)) {
        char note[400];
        snprintf(note, sizeof note, "this model uses bert.c options Hugging Face BERT cannot express%s%s; "
                 "load it with bert.c (docs/checkpoints.md)",
                 sinusoidal ? ": position_embedding_type sinusoidal (transformers would add no position "
                              "encoding at all)" : "",
                 pooling != POOLING_CLS ? (sinusoidal ? "; classifier_pooling (transformers' classifier reads "
                                                        "the pooler on [CLS])"
                                                      : ": classifier_pooling (transformers' classifier reads "
                                                        "the pooler on [CLS]; BertModel loads the encoder)") : "");
        ok = cJSON_AddStringToObject(root, "bert_c_only", note) != NULL;
    }
    ok = ok && (cfg->has_classifier_dropout ? cJSON_AddNumberToObject(root, "classifier_dropout", cfg->classifier_dropout)
                                            : cJSON_AddNullToObject(root, "classifier_dropout"));
    if (ok && pooling != POOLING_CLS)
        ok = cJSON_AddStringToObject(root, "classifier_pooling", bert_pooling_names[pooling]) != NULL;
    ok = ok && cJSON_AddStringToObject(root, "hidden_act", cfg->hidden_act);
    ok = ok && cJSON_AddNumberToObject(root, "hidden_dropout_prob", cfg->hidden_dropout_prob);
    ok = ok && cJSON_AddNumberToObject(root, "hidden_size", cfg->hidden_size);
    cJSON *id2label = ok ? cJSON_AddObjectToObject(root, "id2label") : NULL;
    for (int i = 0; id2label && ok && i < cfg->num_labels; i++) {
        char id[16];
        snprintf(id, sizeof id, "%d", i);
        ok = cJSON_AddStringToObject(id2label, id, cfg->id2label[i]) != NULL;
    }
    InitScheme scheme = bert_config_init_scheme(cfg);
    if (ok && id2label && scheme != INIT_BERT)
        ok = cJSON_AddStringToObject(root, "initializer", bert_init_scheme_names[scheme]) != NULL;
    ok = ok && id2label && cJSON_AddNumberToObject(root, "initializer_range", cfg->initializer_range);
    ok = ok && cJSON_AddNumberToObject(root, "intermediate_size", cfg->intermediate_size);
    if (ok && cfg->is_decoder) ok = cJSON_AddTrueToObject(root, "is_decoder") != NULL;
    cJSON *label2id = ok ? cJSON_AddObjectToObject(root, "label2id") : NULL;
    for (int i = 0; label2id && ok && i < cfg->num_labels; i++)
        ok = cJSON_AddNumberToObject(label2id, cfg->id2label[i], i) != NULL;
    ok = ok && label2id && cJSON_AddNumberToObject(root, "layer_norm_eps", cfg->layer_norm_eps);
    ok = ok && cJSON_AddNumberToObject(root, "max_position_embeddings", cfg->max_position_embeddings);
    ok = ok && cJSON_AddStringToObject(root, "model_type", "bert");
    ok = ok && cJSON_AddNumberToObject(root, "num_attention_heads", cfg->num_attention_heads);
    ok = ok && cJSON_AddNumberToObject(root, "num_hidden_layers", cfg->num_hidden_layers);
    ok = ok && cJSON_AddNumberToObject(root, "pad_token_id", cfg->pad_token_id);
    ok = ok && cJSON_AddStringToObject(root, "position_embedding_type", sinusoidal ? "sinusoidal" : "absolute");
    if (ok && cfg->problem_type[0]) ok = cJSON_AddStringToObject(root, "problem_type", cfg->problem_type) != NULL;
    ok = ok && cJSON_AddNumberToObject(root, "type_vocab_size", cfg->type_vocab_size);
    ok = ok && cJSON_AddNumberToObject(root, "vocab_size", cfg->vocab_size);
    char *text = ok ? cJSON_Print(root) : NULL;
    cJSON_Delete(root);
    if (!text) {
        format_error(err, err_len, "%s: out of memory building the config", path);
        return -1;
    }
    size_t len = strlen(text);
    text[len] = '\n';   /* cJSON_Print's '\0' becomes the final newline */
    int rc = atomic_write_file(path, text, len + 1, err, err_len);
    free(text);
    return rc;
}
