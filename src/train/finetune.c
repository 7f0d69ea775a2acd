/* finetune.c — the fine-tuning loop of `bert finetune`: BertForSequenceClassification
 * trained by train_step (AdamW, Google's rule) under linear warmup + linear decay, on
 * length-bucketed batches; evaluation after every epoch, the best model kept
 * by accuracy or macro-F1, and checkpoint-last for an exact resume.
 *
 * Exact resume: everything random is a pure function of saved integers —
 * the epoch's batch plan of (seed, epoch), the dropout masks of (seed, global
 * step), the held-out split of seed — and the optimizer moments are saved in
 * trainer_state.safetensors, so N steps straight and N/2 + resume + N/2 give
 * bitwise the same weights. Output layout: docs/finetuning.md. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <time.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "train/classify.h"
#include "train/adamw.h"
#include "io/bert_config.h"
#include "io/checkpoint.h"
#include "io/tokenizer_json.h"
#include "io/fileio.h"
#include "core/rng.h"
#include "io/safetensors.h"
#include "train/trainer_state.h"
#include "train/train_step.h"
#include "io/run_dir.h"
#include "core/gemm.h"

FinetuneOptions finetune_defaults(void) {
    FinetuneOptions o = {
        .dev_fraction = 0.1, .lr = FINETUNE_LR_PRETRAINED, .warmup_fraction = 0.1, .weight_decay = 0.01,
        .epochs = 3, .batch_size = 32, .max_seq_length = 128, .seed = 42,
        .save_steps = 1000, .log_steps = 20, .dropout = -1,
    };
    return o;
}

static double wall_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Dropout masks of global step `step` (1-based) depend only on (seed, step). */
static uint64_t dropout_key_for(uint64_t seed, long step) {
    return splitmix64_mix(seed ^ splitmix64_mix(0xd1b54a32d192ed03ULL * (uint64_t)step));
}

static uint64_t epoch_seed(uint64_t seed, int epoch) {
    return splitmix64_mix(seed + 0x9e3779b97f4a7c15ULL * (uint64_t)(epoch + 1));
}

static bool exists(const char *path) {
    struct stat sb;
    return stat(path, &sb) == 0;
}

static int make_dir(const char *dir, char *err, size_t err_len) {
    if (mkdir(dir, 0777) != 0 && errno != EEXIST) {
        format_error(err, err_len, "%s: cannot create directory: %s", dir, strerror(errno));
        return -1;
    }
    return 0;
}

typedef struct {
    const FinetuneOptions *o;
    BertModel model;
    Tokenizer *tok;
    bool lower_case;
    LabelMap labels;
    CsvTable train_table, dev_table;
    ClassifyDataset train, dev;
    TrainStep ts;               /* the optimizer state; ts.adam.step counts the global steps */
    char vocab_path[4400];
    /* the best dev metric so far (the bits of a double, −1 before any) and its 1-based epoch */
    uint64_t best_bits, best_epoch;
    /* the epoch's batches; the next train_step takes batch `next_batch` of plan */
    BatchPlan plan;
    long next_batch;
    int *batch_buf, max_T;
    const DistContext *dist;    /* o->dist, or `alone` */
    DistContext alone;
    DataParallel data_parallel;
    uint64_t batches_fingerprint; /* of every training batch, compared across ranks at each save */
    RunDirLock lock;            /* rank 0's, on out_dir */
} Run;

static bool is_root(const Run *r) { return dist_is_root(r->dist); }
static int rows_per_rank(const Run *r) { return (int)dist_max_rows(r->dist, r->o->batch_size); }

/* Where a run stands: `batch` batches of epoch `epoch` (0-based) are done.
 * A finished epoch is (epoch + 1, 0). */
typedef struct { uint64_t epoch, batch; } RunPosition;

static int write_model_dir(Run *r, const char *dir, char *err, size_t err_len) {
    const char *const *names = (const char *const *)r->labels.names;
    if (checkpoint_save(&r->model, dir, r->vocab_path, names, err, err_len) != 0) return -1;
    if (checkpoint_save_tokenizer_config(dir, r->lower_case, r->model.config.max_position_embeddings, err,
                                        err_len) != 0 ||
        tokenizer_json_save(dir, r->tok, err, err_len) != 0)
        return -1;
    return classify_write_training_args(dir, r->o->text_column, r->o->pair_column, r->o->label_column,
                                        r->o->max_seq_length, err, err_len);
}

static void run_values(const Run *r, RunPosition at, TrainerValues *tv) {
    memset(tv, 0, sizeof *tv);
    trainer_values_set(tv, "step", (uint64_t)r->ts.adam.step);
    trainer_values_set(tv, "epoch", at.epoch);
    trainer_values_set(tv, "batch_in_epoch", at.batch);
    trainer_values_set(tv, "best_metric_bits", r->best_bits);
    trainer_values_set(tv, "best_epoch", r->best_epoch);
    trainer_values_set(tv, "seed", r->o->seed);
    trainer_values_set(tv, "train_examples", (uint64_t)r->train.n);
    trainer_values_set(tv, "batch_size", (uint64_t)r->o->batch_size);
    trainer_values_set(tv, "epochs", (uint64_t)r->o->epochs);
}

/* OUT/checkpoint-last, written as checkpoint-last.tmp and renamed into place:
 * the model and optimizer as they are, recorded as standing at AT. */
static int save_last(Run *r, RunPosition at, char *err, size_t err_len) {
    char tmp[4096], last[4096], old[4096], path[4200];
    snprintf(tmp, sizeof tmp, "%s/checkpoint-last.tmp", r->o->out_dir);
    snprintf(last, sizeof last, "%s/checkpoint-last", r->o->out_dir);
    snprintf(old, sizeof old, "%s/checkpoint-last.old", r->o->out_dir);
    remove_flat_directory(tmp);
    TrainerValues tv;
    run_values(r, at, &tv);
    snprintf(path, sizeof path, "%s/trainer_state.safetensors", tmp);
    if (make_dir(tmp, err, err_len) != 0 || write_model_dir(r, tmp, err, err_len) != 0 ||
        trainer_state_save(path, &r->ts.adam, &tv, err, err_len) != 0) {
        /* A full disk, say: the half-written directory goes, checkpoint-last stays. */
        remove_flat_directory(tmp);
        return -1;
    }
    remove_flat_directory(old);
    if (exists(last) && rename(last, old) != 0) {
        format_error(err, err_len, "%s: cannot rename to %s: %s", last, old, strerror(errno));
        remove_flat_directory(tmp);
        return -1;
    }
    if (rename(tmp, last) != 0) {
        format_error(err, err_len, "%s: cannot rename to %s: %s", tmp, last, strerror(errno));
        rename(old, last);   /* put the previous one back */
        remove_flat_directory(tmp);
        return -1;
    }
    remove_flat_directory(old);
    return 0;
}

/* The best model into OUT itself: a complete directory is written first
 * (OUT/best.tmp), then its files are renamed into OUT one by one, each rename
 * atomic; eval_report.json goes last, so it never describes newer weights
 * than those present. */
static int save_best(Run *r, const ClassifyReport *report, char *err, size_t err_len) {
    char tmp[4096], from[4200], to[4200];
    snprintf(tmp, sizeof tmp, "%s/best.tmp", r->o->out_dir);
    remove_flat_directory(tmp);
    snprintf(from, sizeof from, "%s/eval_report.json", tmp);
    if (make_dir(tmp, err, err_len) != 0 || write_model_dir(r, tmp, err, err_len) != 0 ||
        classify_write_report(from, report, &r->labels, err, err_len) != 0) {
        remove_flat_directory(tmp);
        return -1;
    }
    const char *names[] = { "config.json", "tokenizer_config.json", "tokenizer.json", "special_tokens_map.json",
                            "training_args.json", "model.safetensors", "eval_report.json" };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        snprintf(from, sizeof from, "%s/%s", tmp, names[i]);
        snprintf(to, sizeof to, "%s/%s", r->o->out_dir, names[i]);
        if (rename(from, to) != 0) {
            format_error(err, err_len, "%s: cannot rename to %s: %s", from, to, strerror(errno));
            remove_flat_directory(tmp);
            return -1;
        }
    }
    remove_flat_directory(tmp);
    return 0;
}

static void record(const FinetuneOptions *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void record(const FinetuneOptions *o, const char *fmt, ...) {
    if (!o->on_record) return;
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    o->on_record(o->ctx, buf);
}

/* The initial model: checkpoint-last (resume), --init DIR, or a random init. */
static int load_model(Run *r, char *err, size_t err_len) {
    const FinetuneOptions *o = r->o;
    int K = r->labels.n_labels;
    char path[4200];
    if (o->resume || o->init_dir) {
        char dir[4000];
        if (o->resume) snprintf(dir, sizeof dir, "%s/checkpoint-last", o->out_dir);
        else snprintf(dir, sizeof dir, "%s", o->init_dir);
        snprintf(path, sizeof path, "%s/config.json", dir);
        if (!exists(path)) {
            format_error(err, err_len, o->resume ? "%s: no checkpoint to resume from (no config.json)"
                                                 : "%s: not a BERT checkpoint (no config.json)", dir);
            return -1;
        }
        snprintf(path, sizeof path, "%s/model.safetensors", dir);
        SafeTensors *st = safetensors_open(path, err, err_len);
        if (!st) return -1;
        const SafeTensorInfo *cls = safetensors_find(st, "classifier.weight");
        if (cls && cls->ndim == 2 && cls->shape[0] != K) {
            format_error(err, err_len,
                         "%s: its classifier has %lld labels but %s has %d; fine-tune from the encoder "
                         "of a checkpoint without a classifier, or use data with the same labels",
                         path, (long long)cls->shape[0], o->train_path, K);
            safetensors_close(st);
            return -1;
        }
        safetensors_close(st);
        int heads = 0;
        if (checkpoint_load(&r->model, dir, BERT_HEADS_CLASSIFIER, K, o->seed, &heads, err, err_len) != 0)
            return -1;
        if (o->log && !(heads & BERT_HEADS_CLASSIFIER))
            fprintf(o->log, "note: %s has no classifier; a new one for %d labels is initialised\n", dir, K);
        if (checkpoint_read_lower_case(dir, &r->lower_case, err, err_len) != 0) return -1;
        r->tok = tokenizer_load_dir(dir, r->lower_case, r->vocab_path, sizeof r->vocab_path, err, err_len);
        if (!r->tok) return -1;
    } else {
        BertConfig cfg;
        if (bert_config_load(&cfg, o->config_path, err, err_len) != 0) return -1;
        if (o->init_scheme) snprintf(cfg.initializer, sizeof cfg.initializer, "%s", o->init_scheme);
        int rc = bert_create(&r->model, &cfg, BERT_HEADS_CLASSIFIER, K, err, err_len);
        bert_config_free(&cfg);
        if (rc != 0) return -1;
        bert_init_weights(&r->model, o->seed);
        r->lower_case = true;
        snprintf(r->vocab_path, sizeof r->vocab_path, "%s", o->vocab_path);
        r->tok = tokenizer_load(r->vocab_path, r->lower_case, err, err_len);
        if (!r->tok) return -1;
    }
    /* --pooling: the classifier's input, kept in the saved config.json (docs/sequence_pooling.md) */
    if (o->pooling)
        snprintf(r->model.config.classifier_pooling, sizeof r->model.config.classifier_pooling, "%s", o->pooling);
    if (tokenizer_vocab_size(r->tok) != r->model.config.vocab_size) {
        format_error(err, err_len, "%s: %d tokens, but the model's config.json says vocab_size %d",
                     r->vocab_path, tokenizer_vocab_size(r->tok), r->model.config.vocab_size);
        return -1;
    }
    if (o->max_seq_length > r->model.config.max_position_embeddings) {
        format_error(err, err_len, "--max-seq-length %d is more than the model's max_position_embeddings %d",
                     o->max_seq_length, r->model.config.max_position_embeddings);
        return -1;
    }
    return 0;
}

/* The training and dev data sets: --dev FILE, or a seeded held-out split. */
static int load_data(Run *r, char *err, size_t err_len) {
    const FinetuneOptions *o = r->o;
    if (csv_read(&r->train_table, o->train_path, 0, err, err_len) != 0) return -1;
    int text = csv_require_column(&r->train_table, o->text_column, err, err_len);
    if (text < 0) return -1;
    int pair = -1;
    if (o->pair_column && (pair = csv_require_column(&r->train_table, o->pair_column, err, err_len)) < 0) return -1;
    int label = csv_require_column(&r->train_table, o->label_column, err, err_len);
    if (label < 0) return -1;
    if (label_map_build(&r->labels, &r->train_table, label, err, err_len) != 0) return -1;
    return 0;
}

static int build_datasets(Run *r, char *err, size_t err_len) {
    const FinetuneOptions *o = r->o;
    const CsvTable *tt = &r->train_table;
    int text = csv_column(tt, o->text_column), label = csv_column(tt, o->label_column);
    int pair = o->pair_column ? csv_column(tt, o->pair_column) : -1;
    int rc = -1;
    if (classify_check_pairs(&r->model, o->init_dir ? o->init_dir : o->config_path, o->pair_column, err,
                             err_len) != 0)
        return -1;
    long *rows = NULL;
    if (o->dev_path) {
        if (classify_dataset_build(&r->train, tt, NULL, 0, r->tok, text, pair, label, &r->labels,
                                   o->max_seq_length, err, err_len) != 0)
            return -1;
        if (csv_read(&r->dev_table, o->dev_path, 0, err, err_len) != 0) return -1;
        const CsvTable *dt = &r->dev_table;
        int dtext = csv_require_column(dt, o->text_column, err, err_len);
        if (dtext < 0) return -1;
        int dpair = -1;
        if (o->pair_column && (dpair = csv_require_column(dt, o->pair_column, err, err_len)) < 0) return -1;
        int dlabel = csv_require_column(dt, o->label_column, err, err_len);
        if (dlabel < 0) return -1;
        if (dt->n_rows == 0) { format_error(err, err_len, "%s: no data rows", dt->path); return -1; }
        return classify_dataset_build(&r->dev, dt, NULL, 0, r->tok, dtext, dpair, dlabel, &r->labels,
                                      o->max_seq_length, err, err_len);
    }
    /* Held-out split: a seeded permutation of the rows; the first dev_fraction go to dev. */
    long n = tt->n_rows, n_dev = (long)(o->dev_fraction * (double)n + 0.5);
    if (n_dev < 1) n_dev = 1;
    if (n - n_dev < 1) {
        format_error(err, err_len, "%s: %ld rows are too few to hold out a dev split (give --dev FILE)", tt->path, n);
        return -1;
    }
    rows = malloc(sizeof(long) * (size_t)n);
    if (!rows) { format_error(err, err_len, "out of memory"); return -1; }
    for (long i = 0; i < n; i++) rows[i] = i;
    Rng rng = rng_seeded(o->seed ^ 0x2545f4914f6cdd1dULL);
    for (long i = n - 1; i > 0; i--) {
        long j = (long)rng_below(&rng, (uint64_t)i + 1), t = rows[i];
        rows[i] = rows[j];
        rows[j] = t;
    }
    if (classify_dataset_build(&r->dev, tt, rows, n_dev, r->tok, text, pair, label, &r->labels, o->max_seq_length,
                               err, err_len) == 0 &&
        classify_dataset_build(&r->train, tt, rows + n_dev, n - n_dev, r->tok, text, pair, label, &r->labels,
                               o->max_seq_length, err, err_len) == 0)
        rc = 0;
    free(rows);
    return rc;
}

/* Each rank predicts its block of the dev examples (dist_rows); the
 * predictions and the loss are summed across ranks, so every rank holds the
 * whole report and takes the same decisions on it. */
static int evaluate(Run *r, ClassifyReport *report, char *err, size_t err_len) {
    int K = r->labels.n_labels;
    long n = r->dev.n, first, count;
    dist_rows(r->dist, n, &first, &count);
    ClassifyDataset mine = r->dev;
    mine.n = count;
    mine.offset += first;
    mine.length += first;
    mine.label += first;
    mine.row += first;
    double *probs = malloc(sizeof(double) * (size_t)(count > 0 ? count : 1) * K);
    int *pred = malloc(sizeof(int) * (size_t)n);
    double *shared = malloc(sizeof(double) * (size_t)(n + 1));
    if (!probs || !pred || !shared) {
        free(probs); free(pred); free(shared);
        format_error(err, err_len, "out of memory");
        return -1;
    }
    double loss = count > 0 ? classify_predict(&r->model, &mine, rows_per_rank(r), probs, pred + first,
                                               r->o->eval_progress) : 0;
    if (r->dist->size > 1) {
        for (long i = 0; i < n; i++) shared[i] = i >= first && i < first + count ? pred[i] : 0;
        shared[n] = loss * (double)count;
        if (dist_sum_doubles(r->dist, shared, (int)(n + 1)) != 0) {
            free(probs); free(pred); free(shared);
            format_error(err, err_len, "summing the dev predictions across %d ranks failed", r->dist->size);
            return -1;
        }
        for (long i = 0; i < n; i++) pred[i] = (int)shared[i];
        loss = n ? shared[n] / (double)n : 0;
    }
    /* A model whose outputs overflowed must not be reported (or kept as the
     * best) on a NaN loss: the run stops, its last checkpoint intact. */
    if (!isfinite(loss)) {
        free(probs); free(pred); free(shared);
        format_error(err, err_len, "step %ld: the dev loss is not finite (%g): the model's outputs overflowed; "
                     "lower --lr", r->ts.adam.step, loss);
        return -1;
    }
    int rc = classify_report_compute(report, r->dev.label, pred, n, K, loss);
    free(probs);
    free(pred);
    free(shared);
    if (rc != 0) format_error(err, err_len, "out of memory");
    return rc;
}

static void free_run(Run *r) {
    run_dir_unlock(&r->lock);
    if (r->model.params_memory) bert_free(&r->model);
    tokenizer_free(r->tok);
    label_map_free(&r->labels);
    classify_dataset_free(&r->train);
    classify_dataset_free(&r->dev);
    csv_free(&r->train_table);
    csv_free(&r->dev_table);
    data_parallel_free(&r->data_parallel);
    train_step_free(&r->ts);
    classify_plan_free(&r->plan);
    free(r->batch_buf);
}


/* Checks the options, loads data and model, reserves the model, copies the
 * vocabulary to OUT, sets up the optimizer step and, with --resume, restores
 * the optimizer state and the position *start from checkpoint-last. */
static int set_up(Run *r, RunPosition *start, char *err, size_t err_len) {
    const FinetuneOptions *o = r->o;
    if (o->dropout >= 1) {
        format_error(err, err_len, "--dropout must be below 1, not %g", o->dropout);
        return -1;
    }
    if (o->batch_size < 1 || o->epochs < 1 || o->max_seq_length < 3 || !(o->lr > 0)) {
        format_error(err, err_len, "--batch-size, --epochs must be >= 1, --max-seq-length >= 3, --lr > 0");
        return -1;
    }
    char found[256];
    if (!o->resume && !o->overwrite && is_root(r) && run_dir_holds_run(o->out_dir, found, sizeof found)) {
        format_error(err, err_len, "%s already holds a run (%s); continue it with --resume %s, start again with "
                     "--overwrite (which deletes its checkpoints, metrics and model), or choose another --out",
                     o->out_dir, found, o->out_dir);
        return -1;
    }
    if (load_data(r, err, err_len) != 0) return -1;
    if (load_model(r, err, err_len) != 0) return -1;
    if (build_datasets(r, err, err_len) != 0) return -1;
    if (r->train.n == 0) { format_error(err, err_len, "%s: no training rows", o->train_path); return -1; }
    r->max_T = r->train.max_length > r->dev.max_length ? r->train.max_length : r->dev.max_length;
    bert_set_training_dropout(&r->model, o->dropout);
    if (o->bf16 && bert_use_bf16(&r->model, err, err_len) != 0) return -1;
    if (bert_reserve(&r->model, rows_per_rank(r), r->max_T, 0, err, err_len) != 0) return -1;

    /* Everything checked: now the run directory is made, locked (one run
     * at a time) and, with --overwrite, emptied of the earlier run. */
    if (is_root(r)) {
        if (run_dir_lock(&r->lock, o->out_dir, "bert finetune", err, err_len) != 0) return -1;
        if (!o->resume && o->overwrite && run_dir_clear(o->out_dir, err, err_len) != 0) return -1;
    }
    /* The vocabulary every saved directory copies: OUT/vocab.txt. */
    char out_vocab[4200];
    snprintf(out_vocab, sizeof out_vocab, "%s/vocab.txt", o->out_dir);
    if (is_root(r) && !o->resume && tokenizer_save_vocab_txt(r->tok, out_vocab, err, err_len) != 0) return -1;
    snprintf(r->vocab_path, sizeof r->vocab_path, "%s", out_vocab);

    long total_steps = (r->train.n + o->batch_size - 1) / o->batch_size * o->epochs;
    TrainStepConfig tc = {
        .adamw = adamw_config_bert(), .peak_lr = (real)o->lr,
        .warmup_steps = (long)(o->warmup_fraction * (double)total_steps), .total_steps = total_steps,
        .grad_accum = 1,
    };
    tc.adamw.weight_decay = (real)o->weight_decay;
    if (train_step_init(&r->ts, &r->model, &tc, err, err_len) != 0) return -1;
    if (data_parallel_attach(&r->data_parallel, r->dist, &r->ts, err, err_len) != 0) return -1;
    if (o->bf16) train_step_use_bf16(&r->ts);

    double neg_one = -1;
    memcpy(&r->best_bits, &neg_one, sizeof neg_one);
    *start = (RunPosition){ 0, 0 };
    if (o->resume) {
        char path[4200];
        snprintf(path, sizeof path, "%s/checkpoint-last/trainer_state.safetensors", o->out_dir);
        uint64_t step, seed, n_train, bs, epochs;
        const char *keys[] = { "step", "epoch", "batch_in_epoch", "best_metric_bits", "best_epoch", "seed",
                               "train_examples", "batch_size", "epochs" };
        uint64_t *outs[] = { &step, &start->epoch, &start->batch, &r->best_bits, &r->best_epoch, &seed,
                             &n_train, &bs, &epochs };
        if (trainer_state_load(path, &r->ts.adam, keys, outs, 9, err, err_len) != 0) return -1;
        if (seed != o->seed || n_train != (uint64_t)r->train.n || bs != (uint64_t)o->batch_size ||
            epochs != (uint64_t)o->epochs) {
            format_error(err, err_len, "%s: the run was started with --seed %llu, --batch-size %llu, --epochs %llu "
                         "and %llu training examples; resume with the same command and data",
                         path, (unsigned long long)seed, (unsigned long long)bs, (unsigned long long)epochs,
                         (unsigned long long)n_train);
            return -1;
        }
        /* Every counter against the run the command describes, so a damaged or
         * edited state is refused rather than trained from. */
        uint64_t per_epoch = (uint64_t)((r->train.n + o->batch_size - 1) / o->batch_size);
        double best;
        memcpy(&best, &r->best_bits, sizeof best);
        const char *bad = NULL;
        if (start->epoch > (uint64_t)o->epochs || (start->epoch == (uint64_t)o->epochs && start->batch != 0))
            bad = "epoch";
        else if (start->batch > per_epoch) bad = "batch_in_epoch";
        else if (step != start->epoch * per_epoch + start->batch) bad = "step";
        else if (r->best_epoch > start->epoch) bad = "best_epoch";
        else if (!(best == -1 || (best >= 0 && best <= 1))) bad = "best_metric_bits";
        if (bad) {
            format_error(err, err_len, "%s: '%s' does not fit the run (step %llu, epoch %llu, batch %llu of %llu "
                         "per epoch, %d epochs, best epoch %llu); the trainer state is damaged",
                         path, bad, (unsigned long long)step, (unsigned long long)start->epoch,
                         (unsigned long long)start->batch, (unsigned long long)per_epoch, o->epochs,
                         (unsigned long long)r->best_epoch);
            return -1;
        }
        if (step != (uint64_t)r->ts.adam.step) {
            format_error(err, err_len, "%s: step %llu disagrees with the optimizer's adamw.step %ld",
                         path, (unsigned long long)step, r->ts.adam.step);
            return -1;
        }
        snprintf(path, sizeof path, "%s/metrics.jsonl", o->out_dir);
        if (is_root(r) && run_dir_truncate_metrics(path, r->ts.adam.step, err, err_len) != 0) return -1;
        if (o->log) fprintf(o->log, "resuming %s at step %llu (epoch %llu)\n", o->out_dir,
                            (unsigned long long)step, (unsigned long long)start->epoch + 1);
    }
    int B = o->batch_size;
    r->batch_buf = malloc(sizeof(int) * ((size_t)B * r->max_T * 3 + (size_t)B));
    if (!r->batch_buf) { format_error(err, err_len, "out of memory"); return -1; }
    if (o->log)
        fprintf(o->log, "%ld training and %ld dev examples, %d labels; %ld steps per epoch, %ld in all "
                "(warmup %ld)\n", r->train.n, r->dev.n, r->labels.n_labels, total_steps / o->epochs, total_steps,
                tc.warmup_steps);
    return 0;
}

/* The shuffled, length-bucketed batches of EPOCH (a function of seed and epoch). */
static int plan_epoch(Run *r, uint64_t epoch, bool first_of_run, char *err, size_t err_len) {
    const FinetuneOptions *o = r->o;
    classify_plan_free(&r->plan);
    if (classify_plan_batches(&r->plan, &r->train, o->batch_size, true, epoch_seed(o->seed, (int)epoch)) != 0) {
        format_error(err, err_len, "out of memory");
        return -1;
    }
    if (o->log && first_of_run && epoch == 0) {
        PaddingCost pad = classify_padding_cost(&r->train, &r->plan, o->batch_size, o->max_seq_length,
                                                epoch_seed(o->seed, 0));
        fprintf(o->log, "length bucketing: %.2f token positions run per real token (random batches: %.2f; "
                "all padded to %d: %.2f)\n", pad.bucketed, pad.random_batches, o->max_seq_length, pad.fixed);
    }
    return 0;
}

/* TrainNextBatch: batch r->next_batch of the epoch's plan, with the dropout
 * masks of global step step + 1. */
static int next_training_batch(void *ctx, long step, int micro, BertBatch *batch, uint64_t *key, char *err,
                               size_t err_len) {
    Run *r = ctx;
    int *buf = r->batch_buf;
    size_t BT = (size_t)r->o->batch_size * r->max_T;
    *batch = classify_make_batch(&r->train, &r->plan, r->next_batch, tokenizer_pad_id(r->tok), buf, buf + BT,
                                 buf + 2 * BT, buf + 3 * BT);
    if (r->dist->size > 1) {
        uint64_t h = dist_fingerprint(r->batches_fingerprint, batch->input_ids,
                                      sizeof(int) * (size_t)batch->B * (size_t)batch->T);
        r->batches_fingerprint = dist_fingerprint(h, batch->class_labels, sizeof(int) * (size_t)batch->B);
        long first, rows;
        dist_rows(r->dist, batch->B, &first, &rows);
        *batch = bert_batch_slice(batch, first, rows);
    }
    *key = dropout_key_for(r->o->seed, step + 1);
    return 0;
}

/* Training figures since the last metrics record, and the run's throughput. */
typedef struct {
    double t_start, loss;
    long examples_done, correct, examples, steps;
} Window;

/* The progress line after every step, a train record every log_steps. */
static void report_step(Run *r, const TrainStepStats *s, RunPosition at, Window *w) {
    const FinetuneOptions *o = r->o;
    w->examples_done += s->sequences;
    w->loss += s->cls_loss;
    w->correct += s->cls_correct;
    w->examples += s->sequences;
    w->steps++;
    double elapsed = wall_seconds() - w->t_start;
    double rate = elapsed > 0 ? (double)w->examples_done / elapsed : 0;
    if (o->on_progress) {
        char fig[256];
        snprintf(fig, sizeof fig, "epoch %llu | loss %.4f | acc %.3f | lr %.2e | %.0f ex/s",
                 (unsigned long long)at.epoch + 1, w->loss / w->steps, (double)w->correct / (double)w->examples,
                 s->lr, rate);
        o->on_progress(o->ctx, s->step, r->ts.config.total_steps, fig);
    }
    if (o->log_steps > 0 && s->step % o->log_steps == 0) {
        record(o, "{\"step\": %ld, \"split\": \"train\", \"epoch\": %.4f, \"loss\": %.6f, \"acc\": %.5f, "
                  "\"lr\": %.6g, \"grad_norm\": %.5g, \"examples_per_s\": %.1f}",
               s->step, (double)at.epoch + (double)at.batch / r->plan.n_batches, w->loss / w->steps,
               (double)w->correct / (double)w->examples, s->lr, s->grad_norm, rate);
        w->loss = 0;
        w->correct = w->examples = w->steps = 0;
    }
}

/* End of EPOCH: evaluate on dev, keep the best model in OUT, and save
 * checkpoint-last as standing at the start of the next epoch. */
static int end_epoch(Run *r, uint64_t epoch, char *err, size_t err_len) {
    const FinetuneOptions *o = r->o;
    ClassifyReport report;
    if (evaluate(r, &report, err, err_len) != 0) return -1;
    double metric = o->metric_macro_f1 ? report.macro_f1 : report.accuracy, best;
    memcpy(&best, &r->best_bits, sizeof best);
    record(o, "{\"step\": %ld, \"split\": \"eval\", \"epoch\": %llu, \"loss\": %.6f, \"accuracy\": %.5f, "
              "\"macro_f1\": %.5f}",
           r->ts.adam.step, (unsigned long long)epoch + 1, report.loss, report.accuracy, report.macro_f1);
    if (o->log) {
        fprintf(o->log, "\nepoch %llu of %d, dev evaluation:\n", (unsigned long long)epoch + 1, o->epochs);
        classify_report_print(o->log, &report, &r->labels);
    }
    int rc = 0;
    if (metric > best) {
        memcpy(&r->best_bits, &metric, sizeof metric);
        r->best_epoch = epoch + 1;
        rc = is_root(r) ? save_best(r, &report, err, err_len) : 0;
        if (rc == 0 && o->log)
            fprintf(o->log, "new best %s %.4f: saved to %s\n", o->metric_macro_f1 ? "macro-F1" : "accuracy",
                    metric, o->out_dir);
    }
    classify_report_free(&report);
    if (rc != 0) return -1;
    return is_root(r) ? save_last(r, (RunPosition){ epoch + 1, 0 }, err, err_len) : 0;
}

/* ---- ranks -------------------------------------------------------------------------- */

/* Every rank must fine-tune the same model on the same rows with the same
 * options: compared once the data and model are loaded. */
static int check_ranks_agree(Run *r, char *err, size_t err_len) {
    const FinetuneOptions *o = r->o;
    const DistContext *d = r->dist;
    if (d->size == 1) return 0;
    int64_t whole[] = {o->epochs, o->batch_size, o->max_seq_length, (int64_t)o->seed, o->metric_macro_f1,
                       o->save_steps, o->stop_at_step, o->resume, o->from_scratch, o->bf16};
    double reals[] = {o->lr, o->warmup_fraction, o->weight_decay, o->dev_fraction, o->dropout};
    uint64_t h = dist_fingerprint(DIST_FINGERPRINT_SEED, whole, sizeof whole);
    h = dist_fingerprint(h, reals, sizeof reals);
    h = dist_fingerprint(h, o->out_dir, strlen(o->out_dir));
    if (dist_check_agreement(d, "the options (seed, batch size, epochs, learning rate, --out)", &h, sizeof h, err,
                             err_len) != 0)
        return -1;
    h = DIST_FINGERPRINT_SEED;
    for (int i = 0; i < tokenizer_vocab_size(r->tok); i++) {
        const char *token = tokenizer_id_to_token(r->tok, i);
        h = dist_fingerprint(h, token, strlen(token) + 1);
    }
    if (dist_check_agreement(d, "the vocabulary", &h, sizeof h, err, err_len) != 0) return -1;
    const ClassifyDataset *sets[2] = {&r->train, &r->dev};
    h = DIST_FINGERPRINT_SEED;
    for (int k = 0; k < 2; k++) {
        const ClassifyDataset *ds = sets[k];
        long tokens = ds->n ? ds->offset[ds->n - 1] + ds->length[ds->n - 1] : 0;
        h = dist_fingerprint(h, &ds->n, sizeof ds->n);
        h = dist_fingerprint(h, ds->ids, sizeof(int) * (size_t)tokens);
        if (ds->label) h = dist_fingerprint(h, ds->label, sizeof(int) * (size_t)ds->n);
    }
    for (int i = 0; i < r->labels.n_labels; i++) h = dist_fingerprint(h, r->labels.names[i], strlen(r->labels.names[i]) + 1);
    if (dist_check_agreement(d, "the data (--train, --dev, the labels)", &h, sizeof h, err, err_len) != 0) return -1;
    h = dist_fingerprint(DIST_FINGERPRINT_SEED, r->model.params_memory, sizeof(real) * (size_t)r->model.num_params);
    h = dist_fingerprint(h, &r->ts.adam.step, sizeof r->ts.adam.step);
    return dist_check_agreement(d, "the model's weights (--init, --config or the checkpoint resumed)", &h, sizeof h,
                                err, err_len);
}



/* A failure on this rank alone after set-up ends the job (distributed.h). */
static void fail_alone(const Run *r, const char *err) { dist_end_job_on_failure(r->dist, "bert finetune", err); }

int classify_finetune(const FinetuneOptions *options, FinetuneResult *result, char *err, size_t err_len) {
    /* Only rank 0 reports: the others run with the reporting switched off. */
    FinetuneOptions quiet = *options;
    Run run = { .o = options, .lock = { .fd = -1 } }, *r = &run;
    r->alone.size = 1;
    r->dist = options->dist ? options->dist : &r->alone;
    if (!is_root(r)) {
        quiet.log = NULL;
        quiet.on_progress = NULL;
        quiet.on_record = NULL;
        quiet.eval_progress = NULL;
        r->o = &quiet;
    }
    const FinetuneOptions *o = r->o;
    memset(result, 0, sizeof *result);
    int status = -1;
    RunPosition start;
    bool failed = set_up(r, &start, err, err_len) != 0, root_failed;
    if (dist_count_failures(r->dist, failed, &root_failed) > 0) {
        /* One message: rank 0's when it failed (every rank usually fails alike). */
        if (!failed || (root_failed && !is_root(r))) {
            if (err_len) err[0] = 0;
            status = -2;
        } else if (!is_root(r)) {
            char mine[1024];
            snprintf(mine, sizeof mine, "%s", err);
            format_error(err, err_len, "rank %d of %d: %s", r->dist->rank, r->dist->size, mine);
        }
        goto done;
    }
    if (check_ranks_agree(r, err, err_len) != 0) {
        if (!is_root(r)) { if (err_len) err[0] = 0; status = -2; }
        goto done;
    }
    if (o->log && r->dist->size > 1)
        fprintf(o->log, "%d ranks, %d examples of each batch per rank at most, %d thread%s each\n", r->dist->size,
                rows_per_rank(r), bert_threads(), bert_threads() == 1 ? "" : "s");

    Window w = { .t_start = wall_seconds() };
    bool stopped = false;
    for (uint64_t epoch = start.epoch; epoch < (uint64_t)o->epochs && !stopped; epoch++) {
        bool first = epoch == start.epoch;
        if (plan_epoch(r, epoch, first && start.batch == 0, err, err_len) != 0) goto done;
        for (long k = first ? (long)start.batch : 0; k < r->plan.n_batches; k++) {
            TrainStepStats s;
            r->next_batch = k;
            int rc = train_step(&r->ts, next_training_batch, r, &s, err, err_len);
            if (rc == TRAIN_STEP_NOT_FINITE) {
                /* Decided on the summed loss and gradient: every rank stops here alike. */
                size_t len = strlen(err);
                snprintf(err + len, err_len - len, "; lower --lr");
                if (!is_root(r)) { err[0] = 0; status = -2; }
                goto done;
            }
            if (rc != TRAIN_STEP_OK) {
                fail_alone(r, err);
                goto done;
            }
            RunPosition at = { epoch, (uint64_t)k + 1 };
            report_step(r, &s, at, &w);
            stopped = dist_any(r->dist, (o->stop && *o->stop) || (o->stop_at_step > 0 && s.step == o->stop_at_step));
            if (stopped || (o->save_steps > 0 && s.step % o->save_steps == 0)) {
                if (dist_check_in_step(r->dist, r->batches_fingerprint, &r->model, err, err_len) != 0) {
                    if (!is_root(r)) { err[0] = 0; status = -2; }
                    goto done;
                }
                if (is_root(r) && save_last(r, at, err, err_len) != 0) {
                    fail_alone(r, err);
                    goto done;
                }
            }
            if (stopped) break;
        }
        if (!stopped && end_epoch(r, epoch, err, err_len) != 0) {
            fail_alone(r, err);
            goto done;
        }
    }
    result->steps = r->ts.adam.step;
    memcpy(&result->best_metric, &r->best_bits, sizeof result->best_metric);
    result->best_epoch = (int)r->best_epoch;
    double elapsed = wall_seconds() - w.t_start;
    result->examples_per_second = elapsed > 0 ? (double)w.examples_done / elapsed : 0;
    result->interrupted = stopped;
    status = stopped ? 1 : 0;
done:
    free_run(r);
    return status;
}
