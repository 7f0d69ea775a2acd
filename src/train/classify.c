/* classify.c — sequence classification: data sets from CSV/TSV tables,
 * length-bucketed batches, the evaluation report, and evaluation/prediction
 * with a saved classifier directory. The fine-tuning loop is in finetune.c.
 * Definitions: docs/finetuning.md. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "train/classify.h"
#include "io/checkpoint.h"
#include "io/tokenizer_json.h"
#include "io/fileio.h"
#include "core/intvec.h"
#include "core/rng.h"

/* ---------------------------------------------------------------- data set */

static int grow(void **p, long *cap, long need, size_t elem) {
    if (need <= *cap) return 0;
    long c = *cap ? *cap : 1024;
    while (c < need) c *= 2;
    void *q = realloc(*p, (size_t)c * elem);
    if (!q) return -1;
    *p = q;
    *cap = c;
    return 0;
}

int classify_dataset_build(ClassifyDataset *ds, const CsvTable *table, const long *rows, long n_rows,
                           const Tokenizer *tok, int text_column, int pair_column, int label_column,
                           const LabelMap *labels, int max_seq_length, char *err, size_t err_len) {
    memset(ds, 0, sizeof *ds);
    if (!rows) n_rows = table->n_rows;
    bool labelled = labels && label_column >= 0;
    int *ids_buf = malloc(sizeof(int) * (size_t)max_seq_length * 3);
    ds->offset = malloc(sizeof(long) * (size_t)(n_rows ? n_rows : 1));
    ds->length = malloc(sizeof(int) * (size_t)(n_rows ? n_rows : 1));
    ds->row = malloc(sizeof(long) * (size_t)(n_rows ? n_rows : 1));
    if (labelled) ds->label = malloc(sizeof(int) * (size_t)(n_rows ? n_rows : 1));
    IntVec a = { 0 }, b = { 0 };
    long cap = 0, used = 0;
    if (!ids_buf || !ds->offset || !ds->length || !ds->row || (labelled && !ds->label)) goto oom;
    for (long i = 0; i < n_rows; i++) {
        long r = rows ? rows[i] : i;
        const char *text = csv_text(table, r, text_column, err, err_len);
        if (!text) goto fail;
        intvec_clear(&a);
        intvec_clear(&b);
        if (tokenizer_encode(tok, text, strlen(text), &a, NULL) < 0) goto oom;
        if (pair_column >= 0) {
            const char *pair = csv_text(table, r, pair_column, err, err_len);
            if (!pair) goto fail;
            if (tokenizer_encode(tok, pair, strlen(pair), &b, NULL) < 0) goto oom;
        }
        int *in = ids_buf, *types = ids_buf + max_seq_length, *mask = ids_buf + 2 * max_seq_length;
        int n = tokenizer_build_pair(tok, a.data, (int)a.len, pair_column >= 0 ? b.data : NULL, (int)b.len,
                                     max_seq_length, false, in, types, mask);
        if (n < 0) {
            format_error(err, err_len, "max_seq_length %d is too short for [CLS] text [SEP]%s", max_seq_length,
                         pair_column >= 0 ? " pair [SEP]" : "");
            goto fail;
        }
        if (labelled) {
            ds->label[i] = label_map_row_id(labels, table, r, label_column, err, err_len);
            if (ds->label[i] < 0) goto fail;
        }
        void *p_ids = ds->ids, *p_types = ds->types;
        long cap_types = cap;
        if (grow(&p_ids, &cap, used + n, sizeof(int)) || grow(&p_types, &cap_types, used + n, sizeof(int))) {
            ds->ids = p_ids;
            ds->types = p_types;
            goto oom;
        }
        ds->ids = p_ids;
        ds->types = p_types;
        memcpy(ds->ids + used, in, sizeof(int) * (size_t)n);
        memcpy(ds->types + used, types, sizeof(int) * (size_t)n);
        ds->offset[i] = used;
        ds->length[i] = n;
        ds->row[i] = r;
        if (n > ds->max_length) ds->max_length = n;
        used += n;
        ds->n = i + 1;
    }
    free(ids_buf);
    intvec_free(&a);
    intvec_free(&b);
    return 0;
oom:
    format_error(err, err_len, "%s: out of memory while tokenizing", table->path);
fail:
    free(ids_buf);
    intvec_free(&a);
    intvec_free(&b);
    classify_dataset_free(ds);
    return -1;
}

void classify_dataset_free(ClassifyDataset *ds) {
    free(ds->ids);
    free(ds->types);
    free(ds->offset);
    free(ds->length);
    free(ds->label);
    free(ds->row);
    memset(ds, 0, sizeof *ds);
}

/* ------------------------------------------------------------ bucketing */

/* Stable counting sort of order[n] by key(example). */
static int stable_sort_by(long *order, long n, const int *length, int width, int max_length) {
    int n_keys = max_length / width + 1;
    long *count = calloc((size_t)n_keys + 1, sizeof(long));
    long *out = malloc(sizeof(long) * (size_t)(n ? n : 1));
    if (!count || !out) { free(count); free(out); return -1; }
    for (long i = 0; i < n; i++) count[length[order[i]] / width + 1]++;
    for (int k = 0; k < n_keys; k++) count[k + 1] += count[k];
    for (long i = 0; i < n; i++) out[count[length[order[i]] / width]++] = order[i];
    memcpy(order, out, sizeof(long) * (size_t)n);
    free(count);
    free(out);
    return 0;
}

int classify_plan_batches(BatchPlan *plan, const ClassifyDataset *ds, int batch_size, bool shuffle,
                          uint64_t seed) {
    memset(plan, 0, sizeof *plan);
    long n = ds->n;
    plan->n_batches = (n + batch_size - 1) / batch_size;
    plan->order = malloc(sizeof(long) * (size_t)(n ? n : 1));
    plan->start = malloc(sizeof(long) * (size_t)(plan->n_batches + 1));
    if (!plan->order || !plan->start) { classify_plan_free(plan); return -1; }
    for (long i = 0; i < n; i++) plan->order[i] = i;
    Rng rng = rng_seeded(seed);
    if (shuffle)   /* Fisher–Yates, then the stable sort keeps the shuffle inside each bucket */
        for (long i = n - 1; i > 0; i--) {
            long j = (long)rng_below(&rng, (uint64_t)i + 1), t = plan->order[i];
            plan->order[i] = plan->order[j];
            plan->order[j] = t;
        }
    if (stable_sort_by(plan->order, n, ds->length, shuffle ? CLASSIFY_BUCKET_WIDTH : 1, ds->max_length) != 0) {
        classify_plan_free(plan);
        return -1;
    }
    for (long k = 0; k <= plan->n_batches; k++) plan->start[k] = k * batch_size < n ? k * batch_size : n;
    if (shuffle && plan->n_batches > 1) {
        long nb = plan->n_batches;
        long *perm = malloc(sizeof(long) * (size_t)nb), *order = malloc(sizeof(long) * (size_t)n),
             *start = malloc(sizeof(long) * (size_t)(nb + 1));
        if (!perm || !order || !start) { free(perm); free(order); free(start); classify_plan_free(plan); return -1; }
        for (long k = 0; k < nb; k++) perm[k] = k;
        for (long k = nb - 1; k > 0; k--) {
            long j = (long)rng_below(&rng, (uint64_t)k + 1), t = perm[k];
            perm[k] = perm[j];
            perm[j] = t;
        }
        long pos = 0;
        for (long k = 0; k < nb; k++) {
            start[k] = pos;
            for (long i = plan->start[perm[k]]; i < plan->start[perm[k] + 1]; i++) order[pos++] = plan->order[i];
        }
        start[nb] = pos;
        free(perm);
        free(plan->order);
        free(plan->start);
        plan->order = order;
        plan->start = start;
    }
    return 0;
}

PaddingCost classify_padding_cost(const ClassifyDataset *ds, const BatchPlan *plan, int batch_size,
                                  int fixed_length, uint64_t seed) {
    PaddingCost cost = { 1, 1, 1 };
    double real_tokens = 0, bucketed = 0, random_batches = 0;
    for (long i = 0; i < ds->n; i++) real_tokens += ds->length[i];
    if (ds->n == 0 || real_tokens == 0) return cost;
    for (long k = 0; k < plan->n_batches; k++) {
        int longest = 0;
        for (long i = plan->start[k]; i < plan->start[k + 1]; i++)
            if (ds->length[plan->order[i]] > longest) longest = ds->length[plan->order[i]];
        bucketed += (double)(plan->start[k + 1] - plan->start[k]) * longest;
    }
    /* random batches: a seeded partial Fisher–Yates draws each batch in turn */
    long *order = malloc(sizeof(long) * (size_t)ds->n);
    bool drawn = order != NULL;
    if (drawn) {
        for (long i = 0; i < ds->n; i++) order[i] = i;
        Rng rng = rng_seeded(seed);
        for (long b0 = 0; b0 < ds->n; b0 += batch_size) {
            long b1 = b0 + batch_size < ds->n ? b0 + batch_size : ds->n;
            int longest = 0;
            for (long i = b0; i < b1; i++) {
                long j = i + (long)rng_below(&rng, (uint64_t)(ds->n - i)), t = order[i];
                order[i] = order[j];
                order[j] = t;
                if (ds->length[order[i]] > longest) longest = ds->length[order[i]];
            }
            random_batches += (double)(b1 - b0) * longest;
        }
        free(order);
    }
    cost.bucketed = bucketed / real_tokens;
    cost.random_batches = drawn ? random_batches / real_tokens : NAN;
    cost.fixed = (double)ds->n * fixed_length / real_tokens;
    return cost;
}

void classify_plan_free(BatchPlan *plan) {
    free(plan->order);
    free(plan->start);
    memset(plan, 0, sizeof *plan);
}

BertBatch classify_make_batch(const ClassifyDataset *ds, const BatchPlan *plan, long k, int pad_id,
                              int *input_ids, int *token_type_ids, int *attention_mask, int *labels) {
    int B = (int)(plan->start[k + 1] - plan->start[k]), T = 0;
    for (int b = 0; b < B; b++) {
        int len = ds->length[plan->order[plan->start[k] + b]];
        if (len > T) T = len;
    }
    for (int b = 0; b < B; b++) {
        long e = plan->order[plan->start[k] + b];
        int len = ds->length[e];
        for (int t = 0; t < T; t++) {
            bool real_token = t < len;
            input_ids[b * T + t] = real_token ? ds->ids[ds->offset[e] + t] : pad_id;
            token_type_ids[b * T + t] = real_token ? ds->types[ds->offset[e] + t] : 0;
            attention_mask[b * T + t] = real_token;
        }
        if (labels && ds->label) labels[b] = ds->label[e];
    }
    BertBatch batch = { .B = B, .T = T, .input_ids = input_ids, .token_type_ids = token_type_ids,
                        .attention_mask = attention_mask,
                        .class_labels = (labels && ds->label) ? labels : NULL };
    return batch;
}

double classify_predict(BertModel *m, const ClassifyDataset *ds, int batch_size, double *probs,
                        int *predicted, const ClassifyProgress *progress) {
    BatchPlan plan;
    if (classify_plan_batches(&plan, ds, batch_size, false, 0) != 0) return NAN;
    int T = ds->max_length, K = m->num_labels;
    int *buf = malloc(sizeof(int) * ((size_t)batch_size * T * 3 + (size_t)batch_size));
    if (!buf) { classify_plan_free(&plan); return NAN; }
    double loss_sum = 0;
    long done = 0, correct = 0;
    if (progress && progress->show) progress->show(progress->ctx, 0, plan.n_batches, 0, NAN, NAN);
    for (long k = 0; k < plan.n_batches; k++) {
        BertBatch batch = classify_make_batch(ds, &plan, k, 0, buf, buf + batch_size * T, buf + 2 * batch_size * T,
                                              NULL);
        bert_forward(m, &batch, false, 0);
        for (int b = 0; b < batch.B; b++) {
            long e = plan.order[plan.start[k] + b];
            const real *logits = m->acts.cls_logits + (long)b * K;
            double mx = logits[0], z = 0;
            for (int j = 1; j < K; j++) if (logits[j] > mx) mx = logits[j];
            for (int j = 0; j < K; j++) z += exp((double)logits[j] - mx);
            for (int j = 0; j < K; j++) probs[e * K + j] = exp((double)logits[j] - mx) / z;
            /* −log softmax from the logits, not log(prob), so a tiny probability keeps its precision */
            int best = classify_argmax(probs + e * K, K);
            if (predicted) predicted[e] = best;
            if (ds->label) {
                loss_sum += log(z) + mx - (double)logits[ds->label[e]];
                correct += best == ds->label[e];
            }
        }
        done += batch.B;
        if (progress && progress->show)
            progress->show(progress->ctx, k + 1, plan.n_batches, done,
                           ds->label ? loss_sum / (double)done : NAN,
                           ds->label ? (double)correct / (double)done : NAN);
    }
    free(buf);
    classify_plan_free(&plan);
    return ds->label && ds->n ? loss_sum / (double)ds->n : 0;
}

/* --------------------------------------------------------------- report */

int classify_report_compute(ClassifyReport *r, const int *truth, const int *predicted, long n, int K,
                            double loss) {
    memset(r, 0, sizeof *r);
    r->K = K;
    r->n = n;
    r->loss = loss;
    r->confusion = calloc((size_t)K * K, sizeof(long));
    r->precision = calloc((size_t)K, sizeof(double));
    r->recall = calloc((size_t)K, sizeof(double));
    r->f1 = calloc((size_t)K, sizeof(double));
    r->support = calloc((size_t)K, sizeof(long));
    if (!r->confusion || !r->precision || !r->recall || !r->f1 || !r->support) {
        classify_report_free(r);
        return -1;
    }
    long correct = 0;
    for (long i = 0; i < n; i++) {
        r->confusion[(long)truth[i] * K + predicted[i]]++;
        correct += truth[i] == predicted[i];
    }
    r->accuracy = n ? (double)correct / (double)n : 0;
    double f1_sum = 0;
    for (int k = 0; k < K; k++) {
        long tp = r->confusion[(long)k * K + k], predicted_k = 0, true_k = 0;
        for (int j = 0; j < K; j++) {
            predicted_k += r->confusion[(long)j * K + k];
            true_k += r->confusion[(long)k * K + j];
        }
        r->support[k] = true_k;
        r->precision[k] = predicted_k ? (double)tp / (double)predicted_k : 0;
        r->recall[k] = true_k ? (double)tp / (double)true_k : 0;
        double pr = r->precision[k] + r->recall[k];
        r->f1[k] = pr > 0 ? 2 * r->precision[k] * r->recall[k] / pr : 0;
        f1_sum += r->f1[k];
    }
    r->macro_f1 = f1_sum / K;
    return 0;
}

void classify_report_free(ClassifyReport *r) {
    free(r->confusion);
    free(r->precision);
    free(r->recall);
    free(r->f1);
    free(r->support);
    memset(r, 0, sizeof *r);
}

void classify_report_print(FILE *f, const ClassifyReport *r, const LabelMap *labels) {
    int K = r->K, w = 5;
    for (int k = 0; k < K; k++) {
        int len = (int)strlen(labels->names[k]);
        if (len > w) w = len;
    }
    if (w > 40) w = 40;
    fprintf(f, "examples %ld   loss %.4f   accuracy %.4f   macro-F1 %.4f\n\n", r->n, r->loss, r->accuracy,
            r->macro_f1);
    fprintf(f, "%-*s  precision  recall      f1  support\n", w, "label");
    for (int k = 0; k < K; k++)
        fprintf(f, "%-*.*s  %9.4f  %6.4f  %6.4f  %7ld\n", w, w, labels->names[k], r->precision[k], r->recall[k],
                r->f1[k], r->support[k]);
    fprintf(f, "\nconfusion matrix (rows: true label, columns: predicted label)\n%-*s", w, "");
    for (int k = 0; k < K; k++) fprintf(f, " %*.*s", w, w, labels->names[k]);
    fputc('\n', f);
    for (int t = 0; t < K; t++) {
        fprintf(f, "%-*.*s", w, w, labels->names[t]);
        for (int p = 0; p < K; p++) fprintf(f, " %*ld", w, r->confusion[(long)t * K + p]);
        fputc('\n', f);
    }
}

cJSON *classify_report_json(const ClassifyReport *r, const LabelMap *labels) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "examples", (double)r->n);
    cJSON_AddNumberToObject(o, "loss", r->loss);
    cJSON_AddNumberToObject(o, "accuracy", r->accuracy);
    cJSON_AddNumberToObject(o, "macro_f1", r->macro_f1);
    cJSON *names = cJSON_AddArrayToObject(o, "labels");
    cJSON *per = cJSON_AddObjectToObject(o, "per_class");
    for (int k = 0; k < r->K; k++) {
        cJSON_AddItemToArray(names, cJSON_CreateString(labels->names[k]));
        cJSON *c = cJSON_AddObjectToObject(per, labels->names[k]);
        cJSON_AddNumberToObject(c, "precision", r->precision[k]);
        cJSON_AddNumberToObject(c, "recall", r->recall[k]);
        cJSON_AddNumberToObject(c, "f1", r->f1[k]);
        cJSON_AddNumberToObject(c, "support", (double)r->support[k]);
    }
    cJSON *cm = cJSON_AddObjectToObject(o, "confusion_matrix");
    cJSON_AddItemToObject(cm, "labels", cJSON_Duplicate(names, true));
    cJSON *rows = cJSON_AddArrayToObject(cm, "rows_true_cols_predicted");
    for (int t = 0; t < r->K; t++) {
        cJSON *row = cJSON_CreateArray();
        for (int p = 0; p < r->K; p++) cJSON_AddItemToArray(row, cJSON_CreateNumber((double)r->confusion[(long)t * r->K + p]));
        cJSON_AddItemToArray(rows, row);
    }
    return o;
}

/* ------------------------------------------------------ model directories */

static int write_json(const char *path, cJSON *o, char *err, size_t err_len) {
    char *text = cJSON_Print(o);
    if (!text) { format_error(err, err_len, "%s: out of memory", path); return -1; }
    size_t len = strlen(text);
    text[len] = '\0';
    int rc;
    {
        char *with_newline = malloc(len + 2);
        if (!with_newline) { free(text); format_error(err, err_len, "%s: out of memory", path); return -1; }
        memcpy(with_newline, text, len);
        with_newline[len] = '\n';
        rc = atomic_write_file(path, with_newline, len + 1, err, err_len);
        free(with_newline);
    }
    free(text);
    return rc;
}

int classify_write_training_args(const char *dir, const char *text_column, const char *pair_column,
                                 const char *label_column, int max_seq_length, char *err, size_t err_len) {
    char path[4096];
    snprintf(path, sizeof path, "%s/training_args.json", dir);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "text_column", text_column);
    if (pair_column) cJSON_AddStringToObject(o, "text_pair_column", pair_column);
    else cJSON_AddNullToObject(o, "text_pair_column");
    cJSON_AddStringToObject(o, "label_column", label_column);
    cJSON_AddNumberToObject(o, "max_seq_length", max_seq_length);
    int rc = write_json(path, o, err, err_len);
    cJSON_Delete(o);
    return rc;
}

int classify_write_report(const char *path, const ClassifyReport *r, const LabelMap *labels, char *err,
                          size_t err_len) {
    cJSON *o = classify_report_json(r, labels);
    int rc = write_json(path, o, err, err_len);
    cJSON_Delete(o);
    return rc;
}

static void copy_string_field(char *dst, size_t cap, const cJSON *o, const char *key) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    dst[0] = '\0';
    if (cJSON_IsString(v)) snprintf(dst, cap, "%s", v->valuestring);
}

static bool open_in_bf16;

void classify_set_precision_bf16(bool bf16) { open_in_bf16 = bf16; }

int classifier_open(Classifier *c, const char *dir, char *err, size_t err_len) {
    memset(c, 0, sizeof *c);
    char path[4096];
    struct stat sb;
    snprintf(path, sizeof path, "%s/config.json", dir);
    if (stat(path, &sb) != 0) {
        format_error(err, err_len, "%s: not a model directory (no config.json)", dir);
        return -1;
    }
    int heads = 0;
    /* Both classifier tensors are required: a missing one would silently keep
     * its random initialisation and every prediction would be noise. */
    if (checkpoint_load_requiring(&c->model, dir, BERT_HEADS_CLASSIFIER, 0, 1, BERT_HEADS_CLASSIFIER, &heads, err,
                                  err_len) != 0)
        return -1;
    if (!(heads & BERT_HEADS_CLASSIFIER)) {
        format_error(err, err_len, "%s: has no classifier weights (fine-tune it first with bert finetune)", dir);
        goto fail;
    }
    if (open_in_bf16 && bert_use_bf16(&c->model, err, err_len) != 0) goto fail;
    char *text;
    size_t len;
    if (read_whole_file(path, &text, &len, err, err_len) != 0) goto fail;
    cJSON *config = cJSON_Parse(text);
    free(text);
    int rc = label_map_from_config(&c->labels, config, path, err, err_len);
    cJSON_Delete(config);
    if (rc != 0) goto fail;
    if (c->labels.n_labels != c->model.num_labels) {
        format_error(err, err_len, "%s: id2label has %d labels but the classifier has %d", path,
                     c->labels.n_labels, c->model.num_labels);
        goto fail;
    }
    bool lower_case;
    if (checkpoint_read_lower_case(dir, &lower_case, err, err_len) != 0) goto fail;
    c->tok = tokenizer_load_dir(dir, lower_case, path, sizeof path, err, err_len);
    if (!c->tok) goto fail;
    if (tokenizer_vocab_size(c->tok) != c->model.config.vocab_size) {
        format_error(err, err_len, "%s: %d tokens, but %s/config.json says vocab_size %d", path,
                     tokenizer_vocab_size(c->tok), dir, c->model.config.vocab_size);
        goto fail;
    }
    c->max_seq_length = c->model.config.max_position_embeddings < 128 ? c->model.config.max_position_embeddings
                                                                      : 128;
    snprintf(path, sizeof path, "%s/training_args.json", dir);
    if (stat(path, &sb) == 0) {
        if (read_whole_file(path, &text, &len, err, err_len) != 0) goto fail;
        cJSON *args = cJSON_Parse(text);
        free(text);
        if (!cJSON_IsObject(args)) {
            format_error(err, err_len, "%s: not a JSON object", path);
            cJSON_Delete(args);
            goto fail;
        }
        copy_string_field(c->text_column, sizeof c->text_column, args, "text_column");
        copy_string_field(c->pair_column, sizeof c->pair_column, args, "text_pair_column");
        copy_string_field(c->label_column, sizeof c->label_column, args, "label_column");
        const cJSON *msl = cJSON_GetObjectItemCaseSensitive(args, "max_seq_length");
        if (cJSON_IsNumber(msl) && msl->valueint >= 2 && msl->valueint <= c->model.config.max_position_embeddings)
            c->max_seq_length = msl->valueint;
        cJSON_Delete(args);
    }
    return 0;
fail:
    classifier_close(c);
    return -1;
}

void classifier_close(Classifier *c) {
    if (c->model.params_memory) bert_free(&c->model);
    tokenizer_free(c->tok);
    label_map_free(&c->labels);
    memset(c, 0, sizeof *c);
}

/* Resolves the text (and pair) columns of TABLE: the given names, else those
 * the classifier was trained with. */
static int resolve_columns(const Classifier *c, const CsvTable *table, const char *text_name,
                           const char *pair_name, int *text_column, int *pair_column, char *err, size_t err_len) {
    if (!text_name) text_name = c->text_column[0] ? c->text_column : NULL;
    if (!text_name) {
        format_error(err, err_len, "%s: no --text-column given and the model has no training_args.json naming one",
                     table->path);
        return -1;
    }
    if ((*text_column = csv_require_column(table, text_name, err, err_len)) < 0) return -1;
    *pair_column = -1;
    if (pair_name) {
        if ((*pair_column = csv_require_column(table, pair_name, err, err_len)) < 0) return -1;
    } else if (c->pair_column[0]) {
        if ((*pair_column = csv_require_column(table, c->pair_column, err, err_len)) < 0) return -1;
    }
    return 0;
}

/* A text pair puts its second text in token type 1 (tokenizer_build_input):
 * the model needs type_vocab_size ≥ 2 for it. */
int classify_check_pairs(const BertModel *m, const char *model_name, const char *pair_column, char *err,
                         size_t err_len) {
    if (!pair_column || m->config.type_vocab_size >= 2) return 0;
    format_error(err, err_len, "%s: type_vocab_size %d has no token type for the second text of a pair "
                 "(column '%s'); text pairs need at least 2", model_name, m->config.type_vocab_size, pair_column);
    return -1;
}

int classify_argmax(const double *p, int K) {
    int best = 0;
    for (int k = 1; k < K; k++) if (p[k] > p[best]) best = k;
    return best;
}

/* ------------------------------------------ eval and predict, chunk by chunk */

/* Eval and predict read their input a chunk of rows at a time (CsvReader),
 * predict the chunk and hand it to a consumer before reading the next, so
 * memory is bounded by the chunk, not the file. A row's prediction does not
 * depend on which rows share its batch, so the output is the same for every
 * chunk size. */

/* The caller's progress callback sees the chunks as one pass: batches and
 * examples counted from the start, running loss and accuracy over all rows.
 * Until the last chunk is read the total is not known; it is then given as
 * one more batch than planned so far, so the line does not end early. */
typedef struct {
    const ClassifyProgress *outer;
    bool started, last_chunk;
    long batches_before, examples_before, correct_before;
    double loss_sum_before;
} ChunkedProgress;

static void chunked_progress_show(void *ctx, long batch, long n_batches, long examples, double loss,
                                  double accuracy) {
    ChunkedProgress *cp = ctx;
    long total = cp->batches_before + n_batches + (cp->last_chunk ? 0 : 1);
    if (batch == 0) {
        if (!cp->started) cp->outer->show(cp->outer->ctx, 0, total, 0, NAN, NAN);
        cp->started = true;
        return;
    }
    double all = (double)(cp->examples_before + examples);
    cp->outer->show(cp->outer->ctx, cp->batches_before + batch, total, cp->examples_before + examples,
                    isnan(loss) ? NAN : (cp->loss_sum_before + loss * (double)examples) / all,
                    isnan(accuracy) ? NAN : ((double)cp->correct_before + accuracy * (double)examples) / all);
}

/* What eval and predict do with each predicted chunk. */
typedef struct {
    /* Once, with the first chunk (which may have no rows): columns, output header. */
    int (*begin)(void *ctx, const Classifier *c, const CsvTable *chunk, char *err, size_t err_len);
    /* Every chunk with rows: probs[n,K] and predicted[n] in the chunk's row order. */
    int (*consume)(void *ctx, const Classifier *c, const CsvTable *chunk, const ClassifyDataset *ds,
                   const double *probs, const int *predicted, char *err, size_t err_len);
    void *ctx;
    /* Set by begin: the columns the data set is built from (label -1: none). */
    int text_column, pair_column, label_column;
} ChunkConsumer;

/* The model's outputs must be numbers: finite weights can still overflow to
 * infinity and give NaN probabilities, which eval would print as "loss nan"
 * and predict would write as its answer. */
static int check_outputs_finite(const char *model_dir, const CsvTable *chunk, const ClassifyDataset *ds, int K,
                                const double *probs, double loss, char *err, size_t err_len) {
    for (long i = 0; i < ds->n; i++) {
        bool finite = true;
        for (int k = 0; k < K; k++) finite = finite && isfinite(probs[i * K + k]);
        /* a label given probability 0 makes the loss infinite */
        bool infinite_loss = ds->label && !isfinite(loss) && probs[i * K + ds->label[i]] == 0;
        if (!finite || infinite_loss) {
            format_error(err, err_len, "%s: the model's %s not finite for the row at %s:%ld (NaN or infinity: "
                         "its weights overflow; is the model damaged?)", model_dir,
                         finite ? "loss is" : "outputs are", chunk->path, chunk->rows[ds->row[i]].line);
            return -1;
        }
    }
    if (!isfinite(loss)) {
        format_error(err, err_len, "%s: the model's loss on %s is not finite (is the model damaged?)", model_dir,
                     chunk->path);
        return -1;
    }
    return 0;
}

static int grow_outputs(double **probs, int **predicted, long *cap, long n, int K) {
    if (n <= *cap) return 0;
    double *p = realloc(*probs, sizeof(double) * (size_t)n * (size_t)K);
    if (p) *probs = p;
    int *q = p ? realloc(*predicted, sizeof(int) * (size_t)n) : NULL;
    if (q) *predicted = q;
    if (!p || !q) return -1;
    *cap = n;
    return 0;
}

/* Reads DATA_PATH chunk_rows rows at a time with the classifier in MODEL_DIR
 * and hands each predicted chunk to CONSUMER. */
static int classify_stream(const char *model_dir, const char *data_path, int batch_size, long chunk_rows,
                           const ClassifyProgress *progress, ChunkConsumer *consumer, Classifier *c,
                           double *mean_loss, char *err, size_t err_len) {
    if (chunk_rows <= 0) chunk_rows = CLASSIFY_CHUNK_ROWS;
    CsvReader *reader = NULL;
    CsvTable chunk = { 0 };
    ClassifyDataset ds = { 0 };
    double *probs = NULL;
    int *predicted = NULL, rc = -1, reserved_length = 0, K = c->model.num_labels;
    long cap = 0;
    ChunkedProgress chunked = { .outer = progress };
    ClassifyProgress chunk_progress = { chunked_progress_show, &chunked };
    if (csv_reader_open(&reader, data_path, 0, err, err_len) != 0) goto done;
    for (bool first = true;; first = false) {
        long n = csv_reader_next(reader, &chunk, chunk_rows, err, err_len);
        if (n < 0) goto done;
        if (first && consumer->begin(consumer->ctx, c, &chunk, err, err_len) != 0) goto done;
        if (n == 0) break;
        bool labelled = consumer->label_column >= 0;
        if (classify_dataset_build(&ds, &chunk, NULL, 0, c->tok, consumer->text_column, consumer->pair_column,
                                   consumer->label_column, labelled ? &c->labels : NULL, c->max_seq_length, err,
                                   err_len) != 0)
            goto done;
        if (ds.max_length > reserved_length) {   /* activations for the longest example seen so far */
            if (bert_reserve_inference(&c->model, batch_size, ds.max_length, 0, err, err_len) != 0) goto done;
            reserved_length = ds.max_length;
        }
        if (grow_outputs(&probs, &predicted, &cap, ds.n, K) != 0) {
            format_error(err, err_len, "%s: out of memory", chunk.path);
            goto done;
        }
        chunked.last_chunk = csv_reader_at_end(reader);
        double loss = classify_predict(&c->model, &ds, batch_size, probs, predicted,
                                       progress && progress->show ? &chunk_progress : NULL);
        if (check_outputs_finite(model_dir, &chunk, &ds, K, probs, loss, err, err_len) != 0) goto done;
        if (consumer->consume(consumer->ctx, c, &chunk, &ds, probs, predicted, err, err_len) != 0) goto done;
        chunked.batches_before += (ds.n + batch_size - 1) / batch_size;
        chunked.examples_before += ds.n;
        chunked.loss_sum_before += loss * (double)ds.n;
        for (long i = 0; labelled && i < ds.n; i++) chunked.correct_before += predicted[i] == ds.label[i];
        classify_dataset_free(&ds);
        csv_free(&chunk);
    }
    if (mean_loss) *mean_loss = chunked.examples_before ? chunked.loss_sum_before / (double)chunked.examples_before : 0;
    rc = 0;
done:
    free(probs);
    free(predicted);
    classify_dataset_free(&ds);
    csv_free(&chunk);
    csv_reader_close(reader);
    return rc;
}

/* eval keeps only each row's true and predicted label (8 bytes a row), not
 * its text. */
typedef struct {
    const char *model_dir, *data_path, *text_name, *pair_name, *label_name;
    ChunkConsumer *consumer;
    IntVec truth, predicted;
} EvalPass;

static int eval_begin(void *ctx, const Classifier *c, const CsvTable *chunk, char *err, size_t err_len) {
    EvalPass *e = ctx;
    ChunkConsumer *k = e->consumer;
    if (resolve_columns(c, chunk, e->text_name, e->pair_name, &k->text_column, &k->pair_column, err, err_len) != 0)
        return -1;
    if (k->pair_column >= 0 && classify_check_pairs(&c->model, e->model_dir, chunk->header[k->pair_column], err,
                                                    err_len) != 0)
        return -1;
    const char *label_name = e->label_name ? e->label_name : c->label_column[0] ? c->label_column : NULL;
    if (!label_name) {
        format_error(err, err_len, "%s: no --label-column given and the model has no training_args.json naming one",
                     e->data_path);
        return -1;
    }
    if ((k->label_column = csv_require_column(chunk, label_name, err, err_len)) < 0) return -1;
    return 0;
}

static int eval_consume(void *ctx, const Classifier *c, const CsvTable *chunk, const ClassifyDataset *ds,
                        const double *probs, const int *predicted, char *err, size_t err_len) {
    EvalPass *e = ctx;
    for (long i = 0; i < ds->n; i++) {
        if (!intvec_push(&e->truth, ds->label[i]) || !intvec_push(&e->predicted, predicted[i])) {
            format_error(err, err_len, "%s: out of memory", chunk->path);
            return -1;
        }
    }
    return 0;
}

int classify_eval_file(const char *model_dir, const char *data_path, const char *text_name,
                       const char *pair_name, const char *label_name, int batch_size,
                       const ClassifyProgress *progress, ClassifyReport *report, LabelMap *labels,
                       char *err, size_t err_len) {
    return classify_eval_file_chunked(model_dir, data_path, text_name, pair_name, label_name, batch_size,
                                      CLASSIFY_CHUNK_ROWS, progress, report, labels, err, err_len);
}

int classify_eval_file_chunked(const char *model_dir, const char *data_path, const char *text_name,
                               const char *pair_name, const char *label_name, int batch_size, long chunk_rows,
                               const ClassifyProgress *progress, ClassifyReport *report, LabelMap *labels,
                               char *err, size_t err_len) {
    Classifier c;
    if (classifier_open(&c, model_dir, err, err_len) != 0) return -1;
    ChunkConsumer consumer = { eval_begin, eval_consume, NULL, -1, -1, -1 };
    EvalPass pass = { model_dir, data_path, text_name, pair_name, label_name, &consumer, { 0 }, { 0 } };
    consumer.ctx = &pass;
    int rc = -1;
    double loss = 0;
    if (classify_stream(model_dir, data_path, batch_size, chunk_rows, progress, &consumer, &c, &loss, err,
                        err_len) != 0)
        goto done;
    if (pass.truth.len == 0) {
        format_error(err, err_len, "%s: no data rows", strcmp(data_path, "-") == 0 ? "<stdin>" : data_path);
        goto done;
    }
    if (classify_report_compute(report, pass.truth.data, pass.predicted.data, pass.truth.len, c.model.num_labels,
                                loss) != 0) {
        format_error(err, err_len, "out of memory");
        goto done;
    }
    if (labels) {
        labels->n_labels = c.labels.n_labels;
        labels->names = c.labels.names;
        c.labels.names = NULL;
        c.labels.n_labels = 0;
    }
    rc = 0;
done:
    intvec_free(&pass.truth);
    intvec_free(&pass.predicted);
    classifier_close(&c);
    return rc;
}

/* predict writes each chunk's rows as soon as they are predicted, in input order. */
typedef struct {
    const char *model_dir, *text_name, *pair_name;
    ChunkConsumer *consumer;
    const char *out_name;  /* for messages */
    FILE *out;
    const char **fields;   /* [n_columns + 1 + K] */
    char *numbers;         /* K formatted probabilities, then K column names */
} PredictPass;

enum { PROB_TEXT = 32, PROB_NAME = 300 };

static int predict_begin(void *ctx, const Classifier *c, const CsvTable *chunk, char *err, size_t err_len) {
    PredictPass *pp = ctx;
    ChunkConsumer *k = pp->consumer;
    if (resolve_columns(c, chunk, pp->text_name, pp->pair_name, &k->text_column, &k->pair_column, err, err_len) != 0)
        return -1;
    if (k->pair_column >= 0 && classify_check_pairs(&c->model, pp->model_dir, chunk->header[k->pair_column], err,
                                                    err_len) != 0)
        return -1;
    k->label_column = -1;
    int K = c->model.num_labels, nc = chunk->n_columns;
    pp->fields = malloc(sizeof(char *) * (size_t)(nc + 1 + K));
    pp->numbers = malloc((size_t)K * (PROB_TEXT + PROB_NAME));
    if (!pp->fields || !pp->numbers) { format_error(err, err_len, "out of memory"); return -1; }
    for (int j = 0; j < nc; j++) pp->fields[j] = chunk->header[j];
    pp->fields[nc] = "predicted_label";
    char *name_buf = pp->numbers + (size_t)K * PROB_TEXT;
    for (int i = 0; i < K; i++) {
        snprintf(name_buf + (size_t)i * PROB_NAME, PROB_NAME, "prob_%s", c->labels.names[i]);
        pp->fields[nc + 1 + i] = name_buf + (size_t)i * PROB_NAME;
    }
    csv_write_row(pp->out, pp->fields, nc + 1 + K, chunk->delimiter);
    return 0;
}

static int predict_consume(void *ctx, const Classifier *c, const CsvTable *chunk, const ClassifyDataset *ds,
                           const double *probs, const int *predicted, char *err, size_t err_len) {
    PredictPass *pp = ctx;
    int K = c->model.num_labels, nc = chunk->n_columns;
    for (long i = 0; i < ds->n; i++) {
        const double *p = probs + i * K;
        for (int j = 0; j < nc; j++) pp->fields[j] = chunk->rows[ds->row[i]].fields[j];
        pp->fields[nc] = c->labels.names[predicted[i]];
        for (int k = 0; k < K; k++) {
            snprintf(pp->numbers + (size_t)k * PROB_TEXT, PROB_TEXT, "%.6f", p[k]);
            pp->fields[nc + 1 + k] = pp->numbers + (size_t)k * PROB_TEXT;
        }
        csv_write_row(pp->out, pp->fields, nc + 1 + K, chunk->delimiter);
    }
    if (ferror(pp->out)) {
        format_error(err, err_len, "%s: write error", pp->out_name);
        return -1;
    }
    return 0;
}

int classify_predict_file(const char *model_dir, const char *input_path, const char *output_path,
                          const char *text_name, const char *pair_name, int batch_size,
                          const ClassifyProgress *progress, char *err, size_t err_len) {
    return classify_predict_file_chunked(model_dir, input_path, output_path, text_name, pair_name, batch_size,
                                         CLASSIFY_CHUNK_ROWS, progress, err, err_len);
}

int classify_predict_file_chunked(const char *model_dir, const char *input_path, const char *output_path,
                                  const char *text_name, const char *pair_name, int batch_size, long chunk_rows,
                                  const ClassifyProgress *progress, char *err, size_t err_len) {
    Classifier c;
    if (classifier_open(&c, model_dir, err, err_len) != 0) return -1;
    ChunkConsumer consumer = { predict_begin, predict_consume, NULL, -1, -1, -1 };
    bool to_stdout = strcmp(output_path, "-") == 0;
    PredictPass pass = { model_dir, text_name, pair_name, &consumer, to_stdout ? "<stdout>" : output_path, NULL,
                         NULL, NULL };
    consumer.ctx = &pass;
    int rc = -1;
    AtomicFile af = { 0 };
    /* a file output appears complete or not at all (atomic_write_*) */
    if (to_stdout) pass.out = stdout;
    else if (atomic_write_begin(&af, output_path, err, err_len) != 0) goto done;
    else pass.out = af.fp;
    if (classify_stream(model_dir, input_path, batch_size, chunk_rows, progress, &consumer, &c, NULL, err,
                        err_len) != 0)
        goto done;
    if (to_stdout) {
        if (fflush(stdout) != 0) { format_error(err, err_len, "<stdout>: write error"); goto done; }
    } else {
        pass.out = NULL;
        if (atomic_write_commit(&af, err, err_len) != 0) goto done;
    }
    rc = 0;
done:
    if (pass.out && !to_stdout) atomic_write_abort(&af);
    free(pass.fields);
    free(pass.numbers);
    classifier_close(&c);
    return rc;
}
