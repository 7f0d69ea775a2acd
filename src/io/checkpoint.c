/* checkpoint.c — saving a BertModel as a Hugging Face model directory and
 * loading one (bert.c's own or a published BERT), tolerant of the naming
 * variants found in published checkpoints. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <sys/stat.h>
#include "core/real.h"
#include "io/checkpoint.h"
#include "io/safetensors.h"
#include "io/fileio.h"
#include <cJSON.h>

static int copy_file(const char *from, const char *to, char *err, size_t err_len) {
    char *data = NULL;
    size_t len = 0;
    if (read_whole_file(from, &data, &len, err, err_len) != 0) return -1;
    int rc = atomic_write_file(to, data, len, err, err_len);
    free(data);
    return rc;
}

int checkpoint_save(const BertModel *m, const char *dir, const char *vocab_path,
                    const char *const *id2label, char *err, size_t err_len) {
    if (m->f32_product_weights_released) {
        snprintf(err, err_len, "%s: a model set up for bf16 inference holds no f32 weights to save", dir);
        return -1;
    }
    if (make_directory_path(dir, err, err_len) != 0) return -1;
    char path[4096];

    BertConfig cfg = m->config;
    if (m->trains_with_other_dropout) {   /* --dropout is the run's, not the model's */
        cfg.hidden_dropout_prob = m->config_hidden_dropout;
        cfg.attention_probs_dropout_prob = m->config_attention_dropout;
    }
    char **label_names = NULL;
    /* Without a classifier, config.json carries transformers' default labels
     * (LABEL_0, LABEL_1), as a model saved by transformers would. */
    BertConfig defaults;
    bert_config_defaults(&defaults);
    cfg.num_labels = defaults.num_labels;
    cfg.id2label = defaults.id2label;
    if ((m->heads & BERT_HEADS_CLASSIFIER) && id2label) {
        label_names = malloc(sizeof(char *) * (size_t)m->num_labels);
        if (!label_names) {
            snprintf(err, err_len, "%s: out of memory for %d label names", dir, m->num_labels);
            bert_config_free(&defaults);
            return -1;
        }
        for (int i = 0; i < m->num_labels; i++) label_names[i] = (char *)id2label[i];
        cfg.num_labels = m->num_labels;
        cfg.id2label = label_names;
    }
    const char *architecture = (m->heads & BERT_HEADS_CLASSIFIER) ? "BertForSequenceClassification"
                             : (m->heads & BERT_HEADS_PRETRAINING) ? "BertForPreTraining" : "BertModel";
    snprintf(path, sizeof path, "%s/config.json", dir);
    int saved = bert_config_save(&cfg, architecture, path, err, err_len);
    bert_config_free(&defaults);
    free(label_names);
    if (saved != 0) return -1;

    SafeTensorsWriter *w = safetensors_writer_new();
    if (!w) { snprintf(err, err_len, "out of memory"); return -1; }
    for (int i = 0; i < m->num_tensors; i++) {
        const ParamTensor *t = &m->tensors[i];
        safetensors_writer_add_real(w, t->name, m->params_memory + t->offset, t->ndim, t->shape);
    }
    /* transformers refuses safetensors files whose metadata lacks a framework */
    safetensors_writer_set_metadata(w, "format", "pt");
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    int rc = safetensors_writer_write(w, path, err, err_len);
    safetensors_writer_free(w);
    if (rc != 0) return -1;

    if (vocab_path) {
        snprintf(path, sizeof path, "%s/vocab.txt", dir);
        if (strcmp(vocab_path, path) != 0 && copy_file(vocab_path, path, err, err_len) != 0) return -1;
    }
    return 0;
}

int checkpoint_save_tokenizer_config(const char *dir, bool lower_case, int model_max_length,
                                     char *err, size_t err_len) {
    char path[4096];
    snprintf(path, sizeof path, "%s/tokenizer_config.json", dir);
    cJSON *json = cJSON_CreateObject();
    cJSON_AddBoolToObject(json, "do_lower_case", lower_case);
    cJSON_AddStringToObject(json, "tokenizer_class", "BertTokenizer");
    cJSON_AddNumberToObject(json, "model_max_length", model_max_length);
    char *text = cJSON_Print(json);
    cJSON_Delete(json);
    if (!text) { snprintf(err, err_len, "%s: out of memory", path); return -1; }
    int rc = atomic_write_file(path, text, strlen(text), err, err_len);
    free(text);
    return rc;
}

int checkpoint_read_lower_case(const char *dir, bool *lower_case, char *err, size_t err_len) {
    char path[4096];
    snprintf(path, sizeof path, "%s/tokenizer_config.json", dir);
    *lower_case = true;
    struct stat sb;
    if (stat(path, &sb) != 0) return 0;   /* absent: uncased, like bert-base-uncased */
    char *text;
    size_t len;
    if (read_whole_file(path, &text, &len, err, err_len) != 0) return -1;
    cJSON *o = cJSON_Parse(text);
    free(text);
    if (!cJSON_IsObject(o)) {
        format_error(err, err_len, "%s: not a JSON object", path);
        cJSON_Delete(o);
        return -1;
    }
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, "do_lower_case");
    if (v && !cJSON_IsBool(v)) {
        format_error(err, err_len, "%s: do_lower_case must be true or false", path);
        cJSON_Delete(o);
        return -1;
    }
    if (v) *lower_case = cJSON_IsTrue(v);
    cJSON_Delete(o);
    return 0;
}

/* ---- loading ----------------------------------------------------------------- */

/* The names a tensor may have in a published checkpoint: its own, with
 * LayerNorm's TF-era gamma/beta, and without the "bert." prefix that a bare
 * BertModel's state dict lacks. Returns the first present in the file. */
static const char *find_in_file(const SafeTensors *st, const char *name, char *buf, size_t len) {
    const char *prefix_free = strncmp(name, "bert.", 5) == 0 ? name + 5 : NULL;
    for (int variant = 0; variant < 4; variant++) {
        const char *base = variant < 2 ? name : prefix_free;
        if (!base) continue;
        snprintf(buf, len, "%s", base);
        if (variant % 2 == 1) {
            char *ln = strstr(buf, "LayerNorm.");
            if (!ln) continue;
            char *field = ln + strlen("LayerNorm.");
            if (strcmp(field, "weight") == 0) strcpy(field, "gamma");
            else if (strcmp(field, "bias") == 0) strcpy(field, "beta");
            else continue;
        }
        if (safetensors_find(st, buf)) return buf;
    }
    return NULL;
}

static bool is_head_tensor(const char *name) {
    return strncmp(name, "cls.", 4) == 0 || strncmp(name, "classifier.", 11) == 0 ||
           strncmp(name, "bert.pooler.", 12) == 0;
}

/* Tensors a BERT checkpoint may carry that bert.c does not need. */
static bool is_ignorable(const char *name) {
    return strstr(name, "position_ids") != NULL || strncmp(name, "cls.predictions.decoder.", 24) == 0;
}

/* A NaN or infinity in the weights makes every output NaN; eval and predict
 * would print "loss nan" and NaN probabilities. Returns the index of the
 * first non-finite element of x[n], or -1. */
static long first_non_finite(const real *x, long n) {
    for (long i = 0; i < n; i++)
        if (!isfinite(x[i])) return i;
    return -1;
}

int checkpoint_load(BertModel *m, const char *dir, int heads, int num_labels, uint64_t init_seed,
                    int *loaded_heads, char *err, size_t err_len) {
    return checkpoint_load_requiring(m, dir, heads, num_labels, init_seed, 0, loaded_heads, err, err_len);
}

int checkpoint_load_requiring(BertModel *m, const char *dir, int heads, int num_labels, uint64_t init_seed,
                              int required_heads, int *loaded_heads, char *err, size_t err_len) {
    char path[4096], name_buf[160];
    BertConfig cfg;
    snprintf(path, sizeof path, "%s/config.json", dir);
    if (bert_config_load(&cfg, path, err, err_len) != 0) return -1;
    if (num_labels == 0) num_labels = cfg.num_labels;
    int rc = bert_create(m, &cfg, heads, num_labels, err, err_len);
    bert_config_free(&cfg);
    if (rc != 0) return -1;
    bert_init_weights(m, init_seed);

    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    SafeTensors *st = safetensors_open(path, err, err_len);
    if (!st) { bert_free(m); return -1; }

    int found_heads = 0;
    bool *used = calloc((size_t)safetensors_count(st) + 1, sizeof(bool));
    for (int i = 0; i < m->num_tensors; i++) {
        const ParamTensor *t = &m->tensors[i];
        const char *file_name = find_in_file(st, t->name, name_buf, sizeof name_buf);
        if (!file_name) {
            bool classifier = strncmp(t->name, "classifier.", 11) == 0, pretraining = strncmp(t->name, "cls.", 4) == 0;
            bool required = !is_ignorable(t->name) && ((classifier && (required_heads & BERT_HEADS_CLASSIFIER)) ||
                                                       (pretraining && (required_heads & BERT_HEADS_PRETRAINING)));
            if (required) {
                /* a head left at its random initialisation gives confident nonsense */
                snprintf(err, err_len, "%s: tensor %s is missing, so the model has no trained %s head "
                         "(%s it with bert %s first)", path, t->name, classifier ? "classifier" : "pretraining",
                         classifier ? "fine-tune" : "pretrain", classifier ? "finetune" : "pretrain");
                goto fail;
            }
            if (is_head_tensor(t->name)) continue;  /* keeps its initialisation */
            snprintf(err, err_len, "%s: tensor %s is missing (is this a BERT checkpoint of this config?)",
                     path, t->name);
            goto fail;
        }
        if (safetensors_read_real(st, file_name, m->params_memory + t->offset, t->ndim, t->shape,
                                  err, err_len) != 0)
            goto fail;
        long bad = first_non_finite(m->params_memory + t->offset, t->count);
        if (bad >= 0) {
            real v = m->params_memory[t->offset + bad];
            snprintf(err, err_len, "%s: tensor %s holds %s at element %ld; the model is damaged (a run that diverged?)",
                     path, file_name, isnan(v) ? "NaN" : v > 0 ? "+inf" : "-inf", bad);
            goto fail;
        }
        if (strncmp(t->name, "cls.", 4) == 0) found_heads |= BERT_HEADS_PRETRAINING;
        if (strncmp(t->name, "classifier.", 11) == 0) found_heads |= BERT_HEADS_CLASSIFIER;
        for (int k = 0; k < safetensors_count(st); k++)
            if (strcmp(safetensors_info(st, k)->name, file_name) == 0) used[k] = true;
    }
    /* A tensor of the encoder that this config has no place for means the
     * config and the weights disagree (e.g. more layers than num_hidden_layers). */
    for (int k = 0; k < safetensors_count(st); k++) {
        const char *name = safetensors_info(st, k)->name;
        if (used[k] || is_ignorable(name) || is_head_tensor(name)) continue;
        snprintf(err, err_len, "%s: tensor %s does not belong to a BERT with the config in %s/config.json",
                 path, name, dir);
        goto fail;
    }
    free(used);
    safetensors_close(st);
    if (loaded_heads) *loaded_heads = found_heads;
    return 0;
fail:
    free(used);
    safetensors_close(st);
    bert_free(m);
    return -1;
}
