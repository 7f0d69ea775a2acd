/* test_classify.c — fine-tuning, evaluation and prediction (src/classify.c,
 * src/finetune.c): the report's metrics against numbers worked out by hand,
 * length bucketing, bitwise-exact resume with dropout on, predict agreeing with
 * eval, `predict` on the independent PyTorch reference classifier, and the
 * error paths (file and line in every message). */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "test_util.h"
#include "train/adamw.h"
#include "train/trainer_state.h"
#include "io/run_dir.h"
#include "tmpdir.h"
#include "train/classify.h"
#include "io/fileio.h"
#include "io/safetensors.h"
#include "io/tokenizer_json.h"

#define TRAIN_CSV "tests/data/finetune_train.csv"
#define DEV_CSV "tests/data/finetune_dev.csv"
#define TINY_CONFIG "tests/data/finetune_tiny_config.json"
#define TINY_VOCAB "tests/data/tiny_vocab.txt"
#define REFERENCE_DIR "tests/data/reference_classifier"

/* 3 classes, 10 examples; class 2 is never predicted.
 *   truth:     0 0 0 0 1 1 1 2 2 2
 *   predicted: 0 0 1 0 1 1 0 1 0 1
 * Confusion (rows true): [3 1 0; 1 2 0; 1 2 0]; accuracy 5/10.
 * class 0: P = 3/5, R = 3/4, F1 = 2·0.6·0.75/1.35 = 2/3
 * class 1: P = 2/5, R = 2/3, F1 = 2·0.4·(2/3)/(0.4+2/3) = 0.5
 * class 2: P = 0 (never predicted, zero_division=0), R = 0, F1 = 0
 * macro-F1 = (2/3 + 1/2 + 0)/3 = 7/18. */
START_TEST(report_matches_hand_computed_metrics) {
    int truth[] = { 0, 0, 0, 0, 1, 1, 1, 2, 2, 2 }, pred[] = { 0, 0, 1, 0, 1, 1, 0, 1, 0, 1 };
    ClassifyReport r;
    ck_assert_int_eq(classify_report_compute(&r, truth, pred, 10, 3, 0.25), 0);
    long want_cm[9] = { 3, 1, 0, 1, 2, 0, 1, 2, 0 };
    for (int i = 0; i < 9; i++) ck_assert_int_eq(r.confusion[i], want_cm[i]);
    ck_assert_near(r.accuracy, 0.5, 1e-15);
    ck_assert_near(r.precision[0], 0.6, 1e-15);
    ck_assert_near(r.recall[0], 0.75, 1e-15);
    ck_assert_near(r.f1[0], 2.0 / 3, 1e-15);
    ck_assert_near(r.precision[1], 0.4, 1e-15);
    ck_assert_near(r.recall[1], 2.0 / 3, 1e-15);
    ck_assert_near(r.f1[1], 0.5, 1e-15);
    ck_assert_near(r.precision[2], 0, 0);
    ck_assert_near(r.f1[2], 0, 0);
    ck_assert_near(r.macro_f1, 7.0 / 18, 1e-15);
    ck_assert_int_eq(r.support[0], 4);
    ck_assert_int_eq(r.support[2], 3);
    ck_assert_near(r.loss, 0.25, 0);

    char *names[] = { "neg", "neutral", "pos" };
    LabelMap labels = { names, 3 };
    cJSON *j = classify_report_json(&r, &labels);
    const cJSON *cls = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "per_class"), "neutral");
    ck_assert_near(cJSON_GetObjectItem(cls, "recall")->valuedouble, 2.0 / 3, 1e-15);
    const cJSON *rows = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "confusion_matrix"), "rows_true_cols_predicted");
    ck_assert_int_eq(cJSON_GetArrayItem(cJSON_GetArrayItem(rows, 2), 1)->valueint, 2);
    ck_assert_near(cJSON_GetObjectItem(j, "macro_f1")->valuedouble, 7.0 / 18, 1e-15);
    cJSON_Delete(j);
    classify_report_free(&r);
}
END_TEST

static Tokenizer *tiny_tokenizer(void) {
    char err[512];
    Tokenizer *tok = tokenizer_load(TINY_VOCAB, true, err, sizeof err);
    ck_assert_msg(tok != NULL, "%s", err);
    return tok;
}

static void read_table(CsvTable *t, const char *path) {
    char err[512];
    ck_assert_msg(csv_read(t, path, 0, err, sizeof err) == 0, "%s", err);
}

START_TEST(dataset_tokenizes_pairs_and_labels) {
    char path[64], err[512];
    const char *csv = "a,b,label\nhello world,\"x, y\",1\ncafe,i,0\n";
    write_temp_file(path, csv, strlen(csv), ".csv");
    CsvTable t;
    read_table(&t, path);
    unlink(path);
    Tokenizer *tok = tiny_tokenizer();
    LabelMap labels;
    ck_assert_int_eq(label_map_build(&labels, &t, 2, err, sizeof err), 0);
    ClassifyDataset ds;
    ck_assert_msg(classify_dataset_build(&ds, &t, NULL, 0, tok, 0, 1, 2, &labels, 16, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(ds.n, 2);
    /* [CLS] hello world [SEP] x , y [SEP] = 2 8 11 3 20 9 21 3 */
    int want_ids[] = { 2, 8, 11, 3, 20, 9, 21, 3 }, want_types[] = { 0, 0, 0, 0, 1, 1, 1, 1 };
    ck_assert_int_eq(ds.length[0], 8);
    for (int i = 0; i < 8; i++) {
        ck_assert_int_eq(ds.ids[ds.offset[0] + i], want_ids[i]);
        ck_assert_int_eq(ds.types[ds.offset[0] + i], want_types[i]);
    }
    ck_assert_int_eq(ds.label[0], 1);
    ck_assert_int_eq(ds.label[1], 0);
    ck_assert_int_eq(ds.max_length, 8);
    classify_dataset_free(&ds);
    /* truncation to max_seq_length 6: the longer segment loses tokens */
    ck_assert_int_eq(classify_dataset_build(&ds, &t, NULL, 0, tok, 0, 1, 2, &labels, 6, err, sizeof err), 0);
    ck_assert_int_eq(ds.length[0], 6);
    classify_dataset_free(&ds);
    label_map_free(&labels);
    tokenizer_free(tok);
    csv_free(&t);
}
END_TEST

START_TEST(dataset_errors_name_file_and_line) {
    char path[64], err[512], want[128];
    const char *csv = "text,label\nhello,pos\n   ,neg\n";
    write_temp_file(path, csv, strlen(csv), ".csv");
    CsvTable t;
    read_table(&t, path);
    Tokenizer *tok = tiny_tokenizer();
    LabelMap labels;
    ck_assert_int_eq(label_map_build(&labels, &t, 1, err, sizeof err), 0);
    ClassifyDataset ds;
    ck_assert_int_eq(classify_dataset_build(&ds, &t, NULL, 0, tok, 0, -1, 1, &labels, 16, err, sizeof err), -1);
    snprintf(want, sizeof want, "%s:3: empty text", path);
    ck_assert_msg(strstr(err, want), "'%s' should contain '%s'", err, want);
    csv_free(&t);
    unlink(path);

    /* a dev label never seen in training */
    const char *dev = "text,label\nhello,pos\nworld,meh\n";
    write_temp_file(path, dev, strlen(dev), ".csv");
    read_table(&t, path);
    ck_assert_int_eq(classify_dataset_build(&ds, &t, NULL, 0, tok, 0, -1, 1, &labels, 16, err, sizeof err), -1);
    snprintf(want, sizeof want, "%s:3: label 'meh' never seen in training", path);
    ck_assert_msg(strstr(err, want), "'%s' should contain '%s'", err, want);
    csv_free(&t);
    unlink(path);
    label_map_free(&labels);
    tokenizer_free(tok);
}
END_TEST

START_TEST(bucketing_covers_each_example_once_and_is_seeded) {
    enum { N = 103 };
    int length[N];
    long offset[N];
    for (int i = 0; i < N; i++) { length[i] = 2 + (i * 37) % 40; offset[i] = 0; }
    ClassifyDataset ds = { .n = N, .length = length, .offset = offset, .max_length = 41 };
    BatchPlan a, b, c;
    ck_assert_int_eq(classify_plan_batches(&a, &ds, 8, true, 7), 0);
    ck_assert_int_eq(classify_plan_batches(&b, &ds, 8, true, 7), 0);
    ck_assert_int_eq(classify_plan_batches(&c, &ds, 8, true, 8), 0);
    ck_assert_int_eq(a.n_batches, 13);
    int seen[N] = { 0 };
    bool differs = false;
    long spread_sum = 0;
    for (long k = 0; k < a.n_batches; k++) {
        int lo = 1000, hi = 0;
        for (long i = a.start[k]; i < a.start[k + 1]; i++) {
            seen[a.order[i]]++;
            if (length[a.order[i]] < lo) lo = length[a.order[i]];
            if (length[a.order[i]] > hi) hi = length[a.order[i]];
        }
        spread_sum += hi - lo;
    }
    for (long i = 0; i < N; i++) {
        ck_assert_int_eq(seen[i], 1);
        ck_assert_int_eq(a.order[i], b.order[i]);
        differs |= a.order[i] != c.order[i];
    }
    ck_assert(differs);
    /* sorted into buckets of width 4, a batch spans at most two neighbouring
     * buckets (a spread ≤ 7): far below the 38-token spread of a random batch */
    ck_assert_msg(spread_sum <= 13 * (2 * CLASSIFY_BUCKET_WIDTH - 1), "mean length spread per batch %ld/13", spread_sum);
    /* without shuffle: sorted by length */
    BatchPlan e;
    ck_assert_int_eq(classify_plan_batches(&e, &ds, 8, false, 0), 0);
    for (long i = 1; i < N; i++) ck_assert_int_le(length[e.order[i - 1]], length[e.order[i]]);
    classify_plan_free(&a);
    classify_plan_free(&b);
    classify_plan_free(&c);
    classify_plan_free(&e);
}
END_TEST

START_TEST(padding_cost_counts_token_positions) {
    /* lengths 8, 2, 4, 4 in batches of 2: sorted, the batches are {2,4} and
     * {4,8}: 2·4 + 2·8 = 24 positions for 18 real tokens; fixed at 16: 64. */
    int length[4] = { 8, 2, 4, 4 };
    long offset[4] = { 0 };
    ClassifyDataset ds = { .n = 4, .length = length, .offset = offset, .max_length = 8 };
    BatchPlan plan;
    ck_assert_int_eq(classify_plan_batches(&plan, &ds, 2, false, 0), 0);
    PaddingCost cost = classify_padding_cost(&ds, &plan, 2, 16, 3);
    ck_assert_double_eq_tol(cost.bucketed, 24.0 / 18, 1e-12);
    ck_assert_double_eq_tol(cost.fixed, 64.0 / 18, 1e-12);
    /* sorted batches are the cheapest split: random ones cost at least as much */
    ck_assert(cost.random_batches >= cost.bucketed && cost.random_batches <= 32.0 / 18);
    classify_plan_free(&plan);

    /* the training plan (shuffled buckets) on 103 lengths spread over 2..41 */
    enum { N = 103 };
    int spread[N];
    long offsets[N];
    for (int i = 0; i < N; i++) { spread[i] = 2 + (i * 37) % 40; offsets[i] = 0; }
    ClassifyDataset wide = { .n = N, .length = spread, .offset = offsets, .max_length = 41 };
    ck_assert_int_eq(classify_plan_batches(&plan, &wide, 8, true, 7), 0);
    cost = classify_padding_cost(&wide, &plan, 8, 64, 7);
    ck_assert_msg(cost.bucketed < 1.25 && cost.random_batches > 1.5 && cost.fixed > 2.9,
                  "bucketed %.3f random %.3f fixed %.3f", cost.bucketed, cost.random_batches, cost.fixed);
    classify_plan_free(&plan);
}
END_TEST

typedef struct {
    int calls;
    long batch, n_batches, examples;
    double loss, accuracy;
} SeenProgress;

static void record_progress(void *ctx, long batch, long n_batches, long examples, double loss, double accuracy) {
    SeenProgress *s = ctx;
    s->calls++;
    s->batch = batch;
    s->n_batches = n_batches;
    s->examples = examples;
    s->loss = loss;
    s->accuracy = accuracy;
}

static FinetuneOptions tiny_options(const char *out) {
    FinetuneOptions o = finetune_defaults();
    o.from_scratch = true;
    o.config_path = TINY_CONFIG;
    o.vocab_path = TINY_VOCAB;
    o.train_path = TRAIN_CSV;
    o.dev_path = DEV_CSV;
    o.text_column = "text";
    o.label_column = "label";
    o.out_dir = out;
    o.lr = 3e-3;
    o.epochs = 6;
    o.batch_size = 8;
    o.max_seq_length = 16;
    o.seed = 5;
    o.save_steps = 0;
    return o;
}

static char *slurp(const char *dir, const char *name, size_t *len) {
    char path[256], err[512], *data;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    ck_assert_msg(read_whole_file(path, &data, len, err, sizeof err) == 0, "%s", err);
    return data;
}

static void assert_same_file(const char *dir_a, const char *dir_b, const char *name) {
    size_t la, lb;
    char *a = slurp(dir_a, name, &la), *b = slurp(dir_b, name, &lb);
    ck_assert_msg(la == lb && memcmp(a, b, la) == 0, "%s/%s and %s/%s differ", dir_a, name, dir_b, name);
    free(a);
    free(b);
}

/* Removes a run directory: its flat files and its checkpoint-last/. */
#ifdef BERT_DOUBLE
/* Every tensor of two safetensors files within tol (absolute). */
static void assert_close_tensors(const char *path_a, const char *path_b, double tol) {
    char err[512];
    SafeTensors *a = safetensors_open(path_a, err, sizeof err), *b = safetensors_open(path_b, err, sizeof err);
    ck_assert(a && b);
    ck_assert_int_eq(safetensors_count(a), safetensors_count(b));
    for (int i = 0; i < safetensors_count(a); i++) {
        const SafeTensorInfo *ia = safetensors_info(a, i), *ib = safetensors_find(b, ia->name);
        ck_assert(ib && ib->numel == ia->numel);
        real *x = malloc(sizeof(real) * (size_t)ia->numel), *y = malloc(sizeof(real) * (size_t)ia->numel);
        ck_assert(safetensors_read_real(a, ia->name, x, ia->ndim, ia->shape, err, sizeof err) == 0);
        ck_assert(safetensors_read_real(b, ia->name, y, ia->ndim, ia->shape, err, sizeof err) == 0);
        for (long k = 0; k < ia->numel; k++) ck_assert_near(x[k], y[k], tol);
        free(x);
        free(y);
    }
    safetensors_close(a);
    safetensors_close(b);
}
#endif

static void remove_run(const char *dir) {
    char sub[64];
    ck_assert_int_lt(snprintf(sub, sizeof sub, "%.40s/checkpoint-last", dir), (int)sizeof sub);
    tmpdir_remove(sub);
    tmpdir_remove(dir);
}

/* 30 steps straight vs 13 (stopped mid-epoch) + resume + 17, with dropout 0.1: the same bytes. */
START_TEST(resume_is_bitwise_exact) {
    char straight[64], split[64], err[1024];
    tmpdir_create(straight, "ft-straight");
    tmpdir_create(split, "ft-split");
    FinetuneOptions o = tiny_options(straight);
    FinetuneResult res;
    ck_assert_msg(classify_finetune(&o, &res, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(res.steps, 30);   /* 40 examples / 8 × 6 epochs */
    ck_assert(res.best_epoch >= 1);

    o = tiny_options(split);
    o.stop_at_step = 13;
    ck_assert_msg(classify_finetune(&o, &res, err, sizeof err) == 1, "%s", err);
    ck_assert(res.interrupted);
    ck_assert_int_eq(res.steps, 13);
    o.stop_at_step = 0;
    o.resume = true;
    o.from_scratch = false;
    ck_assert_msg(classify_finetune(&o, &res, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(res.steps, 30);
    /* a fresh run into a directory that holds one is refused */
    o.resume = false;
    o.from_scratch = true;
    ck_assert_int_eq(classify_finetune(&o, &res, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "already holds a run (checkpoint-last); continue it with --resume"), "%s", err);

    char last_a[128], last_b[128];
    snprintf(last_a, sizeof last_a, "%s/checkpoint-last", straight);
    snprintf(last_b, sizeof last_b, "%s/checkpoint-last", split);
    assert_same_file(straight, split, "config.json");
#ifndef BERT_DOUBLE
    assert_same_file(last_a, last_b, "model.safetensors");
    assert_same_file(last_a, last_b, "trainer_state.safetensors");
    assert_same_file(straight, split, "model.safetensors");
    assert_same_file(straight, split, "eval_report.json");
#else
    /* Checkpoints store F32 (as Hugging Face's files do), so the double build
     * resumes from weights and moments rounded to float: equal to float precision. */
    char pa[160], pb[160];
    snprintf(pa, sizeof pa, "%s/model.safetensors", last_a);
    snprintf(pb, sizeof pb, "%s/model.safetensors", last_b);
    assert_close_tensors(pa, pb, 1e-5);
#endif

    /* the saved directory is a Hugging Face classifier with its labels */
    size_t len;
    char *text = slurp(straight, "config.json", &len);
    cJSON *cfg = cJSON_Parse(text);
    free(text);
    ck_assert_str_eq(cJSON_GetArrayItem(cJSON_GetObjectItem(cfg, "architectures"), 0)->valuestring,
                     "BertForSequenceClassification");
    ck_assert_str_eq(cJSON_GetObjectItem(cJSON_GetObjectItem(cfg, "id2label"), "1")->valuestring, "pos");
    ck_assert_int_eq(cJSON_GetObjectItem(cJSON_GetObjectItem(cfg, "label2id"), "neg")->valueint, 0);
    cJSON_Delete(cfg);
    text = slurp(straight, "tokenizer_config.json", &len);
    cfg = cJSON_Parse(text);
    free(text);
    ck_assert(cJSON_IsTrue(cJSON_GetObjectItem(cfg, "do_lower_case")));
    ck_assert_str_eq(cJSON_GetObjectItem(cfg, "tokenizer_class")->valuestring, "BertTokenizer");
    ck_assert_int_eq(cJSON_GetObjectItem(cfg, "model_max_length")->valueint, 32);
    cJSON_Delete(cfg);

    /* the tiny task is learnable: the best dev accuracy beats chance */
    ClassifyReport report;
    LabelMap labels;
    SeenProgress seen = { 0 };
    ClassifyProgress progress = { record_progress, &seen };
    ck_assert_msg(classify_eval_file(straight, DEV_CSV, NULL, NULL, NULL, 4, &progress, &report, &labels,
                                     err, sizeof err) == 0, "%s", err);
    ck_assert_msg(report.accuracy >= 0.75, "dev accuracy %.3f", report.accuracy);
    ck_assert_int_eq(report.n, 12);
    /* the progress callback saw every batch, and its running figures end at the report's */
    ck_assert_int_eq(seen.calls, 1 + 3);   /* batch 0, then each of 3 */
    ck_assert(seen.batch == 3 && seen.n_batches == 3 && seen.examples == 12);
    ck_assert_near(seen.accuracy, report.accuracy, 1e-12);
    ck_assert_near(seen.loss, report.loss, 1e-12);
    /* eval reproduces the report saved with the best epoch */
    text = slurp(straight, "eval_report.json", &len);
    cfg = cJSON_Parse(text);
    free(text);
    ck_assert_near(cJSON_GetObjectItem(cfg, "accuracy")->valuedouble, report.accuracy, 1e-12);
    ck_assert_near(cJSON_GetObjectItem(cfg, "loss")->valuedouble, report.loss, 1e-5);
    cJSON_Delete(cfg);

    /* predict's labels on the dev file give the accuracy eval reports */
    char pred_path[128];
    snprintf(pred_path, sizeof pred_path, "%s/pred.csv", straight);
    ck_assert_msg(classify_predict_file(straight, DEV_CSV, pred_path, NULL, NULL, 5, NULL, err, sizeof err) == 0, "%s", err);
    CsvTable t;
    read_table(&t, pred_path);
    int lab = csv_column(&t, "label"), pl = csv_column(&t, "predicted_label"), p0 = csv_column(&t, "prob_neg"),
        p1 = csv_column(&t, "prob_pos");
    ck_assert(lab == 2 && pl == 3 && p0 == 4 && p1 == 5 && t.n_columns == 6);
    ck_assert_int_eq(t.n_rows, 12);
    long correct = 0;
    for (long i = 0; i < t.n_rows; i++) {
        char **f = t.rows[i].fields;
        correct += strcmp(f[lab], f[pl]) == 0;
        ck_assert_near(atof(f[p0]) + atof(f[p1]), 1, 2e-6);
        ck_assert_str_eq(f[pl], atof(f[p1]) > atof(f[p0]) ? "pos" : "neg");
    }
    ck_assert_near((double)correct / 12, report.accuracy, 1e-12);
    csv_free(&t);
    unlink(pred_path);
    classify_report_free(&report);
    label_map_free(&labels);
    remove_run(straight);
    remove_run(split);
}
END_TEST

/* bert predict on the independent PyTorch classifier: probabilities =
 * softmax(expected.logits) within 1e-4. texts.txt becomes a one-column CSV. */
START_TEST(predict_reproduces_reference_classifier) {
    char dir[64], err[1024], csv_path[128], out_path[128];
    tmpdir_create(dir, "ft-ref");
    snprintf(csv_path, sizeof csv_path, "%s/texts.csv", dir);
    snprintf(out_path, sizeof out_path, "%s/pred.csv", dir);
    char *texts;
    size_t len;
    ck_assert(read_whole_file(REFERENCE_DIR "/texts.txt", &texts, &len, err, sizeof err) == 0);
    FILE *f = fopen(csv_path, "w");
    const char *header = "text";
    csv_write_row(f, &header, 1, ',');
    int n = 0;
    for (char *line = strtok(texts, "\n"); line; line = strtok(NULL, "\n"), n++) {
        const char *field = line;
        csv_write_row(f, &field, 1, ',');
    }
    fclose(f);
    free(texts);
    ck_assert_int_eq(n, 4);
    ck_assert_msg(classify_predict_file(REFERENCE_DIR, csv_path, out_path, "text", NULL, 3, NULL, err, sizeof err) == 0,
                  "%s", err);
    SafeTensors *st = safetensors_open(REFERENCE_DIR "/expected.safetensors", err, sizeof err);
    ck_assert_msg(st != NULL, "%s", err);
    real logits[12];
    int64_t shape[2] = { 4, 3 };
    ck_assert_msg(safetensors_read_real(st, "expected.logits", logits, 2, shape, err, sizeof err) == 0, "%s", err);
    safetensors_close(st);
    CsvTable t;
    read_table(&t, out_path);
    ck_assert_int_eq(t.n_rows, 4);
    const char *names[3] = { "negative", "neutral", "positive" };
    for (int i = 0; i < 4; i++) {
        double z = 0, mx = -1e30;
        for (int k = 0; k < 3; k++) if (logits[i * 3 + k] > mx) mx = logits[i * 3 + k];
        for (int k = 0; k < 3; k++) z += exp((double)logits[i * 3 + k] - mx);
        int best = 0;
        for (int k = 0; k < 3; k++) {
            char col[32];
            snprintf(col, sizeof col, "prob_%s", names[k]);
            int c = csv_column(&t, col);
            ck_assert_int_ge(c, 0);
            double want = exp((double)logits[i * 3 + k] - mx) / z;
            ck_assert_near(atof(t.rows[i].fields[c]), want, 1e-4);
            if (logits[i * 3 + k] > logits[i * 3 + best]) best = k;
        }
        ck_assert_str_eq(t.rows[i].fields[csv_column(&t, "predicted_label")], names[best]);
    }
    csv_free(&t);

    /* The same model directory with tokenizer.json in place of vocab.txt (as
     * a Hugging Face directory may come) predicts the same file, byte for byte. */
    char hf[64], from[256], to[256], out2[128];
    tmpdir_create(hf, "ft-ref-tokjson");
    const char *copied[] = { "config.json", "model.safetensors" };
    for (int i = 0; i < 2; i++) {
        char *bytes;
        size_t n_bytes;
        snprintf(from, sizeof from, "%s/%s", REFERENCE_DIR, copied[i]);
        snprintf(to, sizeof to, "%s/%s", hf, copied[i]);
        ck_assert_msg(read_whole_file(from, &bytes, &n_bytes, err, sizeof err) == 0, "%s", err);
        ck_assert_msg(atomic_write_file(to, bytes, n_bytes, err, sizeof err) == 0, "%s", err);
        free(bytes);
    }
    Tokenizer *tok = tokenizer_load(REFERENCE_DIR "/vocab.txt", true, err, sizeof err);
    ck_assert_msg(tok != NULL, "%s", err);
    ck_assert_msg(tokenizer_json_save(hf, tok, err, sizeof err) == 0, "%s", err);
    tokenizer_free(tok);
    snprintf(out2, sizeof out2, "%s/pred.csv", hf);
    ck_assert_msg(classify_predict_file(hf, csv_path, out2, "text", NULL, 3, NULL, err, sizeof err) == 0, "%s", err);
    char *a, *b;
    size_t la, lb;
    ck_assert(read_whole_file(out_path, &a, &la, err, sizeof err) == 0);
    ck_assert(read_whole_file(out2, &b, &lb, err, sizeof err) == 0);
    ck_assert_msg(la == lb && memcmp(a, b, la) == 0, "predictions differ with tokenizer.json");
    free(a);
    free(b);
    tmpdir_remove(hf);

    unlink(csv_path);
    unlink(out_path);
    tmpdir_remove(dir);
}
END_TEST

static void expect_finetune_error(FinetuneOptions *o, const char *what) {
    char err[1024] = "";
    FinetuneResult res;
    ck_assert_int_eq(classify_finetune(o, &res, err, sizeof err), -1);
    ck_assert_msg(strstr(err, what) != NULL, "error '%s' should contain '%s'", err, what);
}

START_TEST(finetune_errors_are_clear) {
    char out[64], path[64], want[256];
    tmpdir_create(out, "ft-err");
    FinetuneOptions o = tiny_options(out);
    o.text_column = "sentence";
    expect_finetune_error(&o, "no column named 'sentence' (columns: id, text, label)");

    /* a ragged row surfaces with its line */
    const char *ragged = "text,label\nhello,pos\nworld,neg,extra\n";
    write_temp_file(path, ragged, strlen(ragged), ".csv");
    o = tiny_options(out);
    o.train_path = path;
    snprintf(want, sizeof want, "%s:3:", path);
    expect_finetune_error(&o, want);
    unlink(path);

    /* an unterminated quote */
    const char *open_quote = "text,label\nhello,pos\n\"world,neg\n";
    write_temp_file(path, open_quote, strlen(open_quote), ".csv");
    o.train_path = path;
    snprintf(want, sizeof want, "%s:3:", path);
    expect_finetune_error(&o, want);
    unlink(path);

    /* a dev label never seen in training */
    const char *dev = "id,text,label\n1,hello,pos\n2,world,neutral\n";
    write_temp_file(path, dev, strlen(dev), ".csv");
    o = tiny_options(out);
    o.dev_path = path;
    snprintf(want, sizeof want, "%s:3: label 'neutral' never seen in training", path);
    expect_finetune_error(&o, want);
    unlink(path);

    /* --init that is not a BERT checkpoint */
    o = tiny_options(out);
    o.from_scratch = false;
    o.init_dir = "tests/data";
    expect_finetune_error(&o, "tests/data: not a BERT checkpoint (no config.json)");

    /* a classifier with another number of labels (3 vs the 2 of the CSV) */
    o.init_dir = REFERENCE_DIR;
    expect_finetune_error(&o, "its classifier has 3 labels but " TRAIN_CSV " has 2");

    /* text pairs on a model with one token type (no type for the second text) */
    char one_type[64], config[4096];
    char *tiny;
    size_t tiny_len;
    ck_assert(read_whole_file(TINY_CONFIG, &tiny, &tiny_len, want, sizeof want) == 0);
    char *at = strstr(tiny, "\"type_vocab_size\": 2");
    ck_assert_ptr_nonnull(at);
    at[strlen("\"type_vocab_size\": ")] = '1';
    snprintf(config, sizeof config, "%s", tiny);
    free(tiny);
    write_temp_file(one_type, config, strlen(config), ".json");
    o = tiny_options(out);
    o.config_path = one_type;
    o.pair_column = "text";
    snprintf(want, sizeof want, "%s: type_vocab_size 1 has no token type for the second text of a pair (column 'text')",
             one_type);
    expect_finetune_error(&o, want);
    unlink(one_type);

    /* --from-scratch with a vocab.txt that does not match the config */
    o = tiny_options(out);
    o.vocab_path = REFERENCE_DIR "/vocab.txt";
    expect_finetune_error(&o, REFERENCE_DIR "/vocab.txt: 42 tokens, but the model's config.json says vocab_size 23");

    /* a model directory whose vocab.txt has another size than config.json's vocab_size */
    char bad[64], from[160], to[160];
    tmpdir_create(bad, "ft-badvocab");
    const char *files[] = { "config.json", "model.safetensors" };
    for (int i = 0; i < 2; i++) {
        char *data;
        size_t len;
        char err[512];
        snprintf(from, sizeof from, REFERENCE_DIR "/%s", files[i]);
        snprintf(to, sizeof to, "%s/%s", bad, files[i]);
        ck_assert(read_whole_file(from, &data, &len, err, sizeof err) == 0);
        ck_assert(atomic_write_file(to, data, len, err, sizeof err) == 0);
        free(data);
    }
    snprintf(to, sizeof to, "%s/vocab.txt", bad);
    char *data;
    size_t len;
    char err[512];
    ck_assert(read_whole_file(TINY_VOCAB, &data, &len, err, sizeof err) == 0);
    ck_assert(atomic_write_file(to, data, len, err, sizeof err) == 0);
    free(data);
    ck_assert_int_eq(classify_eval_file(bad, DEV_CSV, "text", NULL, "label", 4, NULL, NULL, NULL, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "23 tokens, but") && strstr(err, "vocab_size 42"), "%s", err);
    tmpdir_remove(bad);
    remove_run(out);
}
END_TEST

/* OUT and its run: 300 distinct labels train and save (no limit below
 * BERT_MAX_LABELS, no temporary left); an earlier run is refused without
 * --resume or --overwrite, and --overwrite starts again; a directory another
 * run holds is refused, naming the holder; a damaged trainer state is refused. */
START_TEST(finetune_guards_its_run_directory) {
    char out[64], err[1024], csv[64];
    tmpdir_create(out, "ft-guard");
    size_t cap = 300 * 32, n = (size_t)snprintf(NULL, 0, "text,label\n");
    char *rows = malloc(cap);
    n = (size_t)snprintf(rows, cap, "text,label\n");
    for (int i = 0; i < 300; i++) n += (size_t)snprintf(rows + n, cap - n, "hello world,class%03d\n", i);
    write_temp_file(csv, rows, n, ".csv");
    free(rows);
    FinetuneOptions o = tiny_options(out);
    o.train_path = o.dev_path = csv;
    o.epochs = 1;
    o.batch_size = 64;
    FinetuneResult res;
    ck_assert_msg(classify_finetune(&o, &res, err, sizeof err) == 0, "%s", err);
    char name[256];
    char path[160];
    snprintf(path, sizeof path, "%s/best.tmp", out);
    struct stat st;
    ck_assert_msg(stat(path, &st) != 0, "best.tmp left behind");
    snprintf(path, sizeof path, "%s/config.json", out);
    char *config;
    size_t len;
    ck_assert(read_whole_file(path, &config, &len, err, sizeof err) == 0);
    ck_assert_msg(strstr(config, "\"class299\""), "config.json lacks label 299");
    free(config);

    ck_assert_int_eq(classify_finetune(&o, &res, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "already holds a run (checkpoint-last)") && strstr(err, "--overwrite"), "%s", err);
    o.overwrite = true;
    ck_assert_msg(classify_finetune(&o, &res, err, sizeof err) == 0, "%s", err);

    RunDirLock other;
    ck_assert_msg(run_dir_lock(&other, out, "bert finetune", err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(classify_finetune(&o, &res, err, sizeof err), -1);
    snprintf(name, sizeof name, "pid %ld on ", (long)getpid());
    ck_assert_msg(strstr(err, "is in use by another run") && strstr(err, name), "%s", err);
    run_dir_unlock(&other);

    /* checkpoint-last says epoch 7 of a 1-epoch run */
    char state[160];
    snprintf(state, sizeof state, "%s/checkpoint-last/trainer_state.safetensors", out);
    AdamWState adam;
    SafeTensors *file = safetensors_open(state, err, sizeof err);
    ck_assert_msg(file, "%s", err);
    ck_assert(adamw_state_init(&adam, (long)safetensors_find(file, "adamw.m")->numel) == 0);
    safetensors_close(file);
    static const char *const keys[] = {"step", "epoch", "batch_in_epoch", "best_metric_bits", "best_epoch", "seed",
                                       "train_examples", "batch_size", "epochs"};
    uint64_t values[9], *outputs[9];
    for (int k = 0; k < 9; k++) outputs[k] = &values[k];
    ck_assert_msg(trainer_state_load(state, &adam, keys, outputs, 9, err, sizeof err) == 0, "%s", err);
    values[1] = 7;
    TrainerValues tv = { .count = 0 };
    for (int k = 0; k < 9; k++) trainer_values_set(&tv, keys[k], values[k]);
    ck_assert(trainer_state_save(state, &adam, &tv, err, sizeof err) == 0);
    adamw_state_free(&adam);
    o.overwrite = false;
    o.resume = true;
    o.from_scratch = false;
    ck_assert_int_eq(classify_finetune(&o, &res, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "'epoch' does not fit the run"), "%s", err);
    unlink(csv);
    char command[128];
    snprintf(command, sizeof command, "rm -rf %s", out);
    ck_assert_int_eq(system(command), 0);
}
END_TEST

/* Without --dev: a seeded held-out split (10% of 40 = 4 dev rows). */
START_TEST(held_out_split_without_dev) {
    char out[64], err[1024];
    tmpdir_create(out, "ft-split10");
    FinetuneOptions o = tiny_options(out);
    o.dev_path = NULL;
    o.epochs = 1;
    FinetuneResult res;
    ck_assert_msg(classify_finetune(&o, &res, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(res.steps, 5);   /* 36 training examples / 8 */
    size_t len;
    char *text = slurp(out, "eval_report.json", &len);
    cJSON *rep = cJSON_Parse(text);
    free(text);
    ck_assert_int_eq(cJSON_GetObjectItem(rep, "examples")->valueint, 4);
    cJSON_Delete(rep);
    remove_run(out);
}
END_TEST

Suite *classify_suite(void) {
    Suite *s = suite_create("classify");
    TCase *tc = tcase_create("classify");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, report_matches_hand_computed_metrics);
    tcase_add_test(tc, dataset_tokenizes_pairs_and_labels);
    tcase_add_test(tc, dataset_errors_name_file_and_line);
    tcase_add_test(tc, bucketing_covers_each_example_once_and_is_seeded);
    tcase_add_test(tc, padding_cost_counts_token_positions);
    tcase_add_test(tc, resume_is_bitwise_exact);
    tcase_add_test(tc, predict_reproduces_reference_classifier);
    tcase_add_test(tc, finetune_errors_are_clear);
    tcase_add_test(tc, held_out_split_without_dev);
    tcase_add_test(tc, finetune_guards_its_run_directory);
    suite_add_tcase(s, tc);
    return s;
}
