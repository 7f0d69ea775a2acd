/* pretrain.c — the pretraining loop: data stream → train_step
 * (BertForPreTraining, AdamW; train/train_step.h), with held-out
 * evaluation, metrics, checkpoints and exact resume.
 *
 * Exactness of resume rests on three things, all saved in a checkpoint:
 * the parameters and Adam moments (bit-exact F32 in the float build), the
 * data stream's position and RNG states, and the step count, from which the
 * learning rate and every dropout key are derived (never from wall time). */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/stat.h>
#include <cJSON.h>
#include "train/pretrain.h"
#include "io/bert_config.h"
#include "io/checkpoint.h"
#include "io/tokenizer_json.h"
#include "data/corpus.h"
#include "io/fileio.h"
#include "model/model.h"
#include "data/pretrain_data.h"
#include "data/mlm_baselines.h"
#include "train/progress.h"
#include "core/rng.h"
#include "data/tokenizer.h"
#include "train/trainer_state.h"
#include "train/train_step.h"
#include "layers/cross_entropy.h"
#include "io/run_dir.h"
#include "core/gemm.h"

PretrainOptions pretrain_options_default(void) {
    PretrainOptions o = {
        .steps = 10000, .batch_size = 32, .grad_accum = 1, .lr = 1e-4, .warmup = -1,
        .max_seq_length = 128, .max_predictions = 0, .masked_lm_prob = 0.15, .short_seq_prob = 0.1,
        .mask_token_prob = 0.8, .random_token_prob = 0.1, .dropout = -1, .nsp_weight = 1,
        .eval_fraction = 0.01, .weight_decay = 0.01, .max_grad_norm = 1.0, .bias_correction = false,
        .seed = 12345, .save_every = 1000, .eval_every = 500, .eval_batches = 20, .keep_checkpoints = 3,
    };
    return o;
}

/* Counts the invalid UTF-8 bytes the tokenizer drops, to warn once. */
typedef struct {
    const Tokenizer *tok;
    long invalid_bytes;
} EncodeContext;

static long encode_text(void *ctx, const char *text, size_t len, IntVec *ids) {
    EncodeContext *c = ctx;
    long invalid = 0;
    long n = tokenizer_encode(c->tok, text, len, ids, &invalid);
    c->invalid_bytes += invalid;
    return n;
}

typedef struct {
    const PretrainOptions *opt;
    PretrainOptions *resolved;  /* the same options, writable: --time-budget fills in steps and warmup */
    BertConfig config;
    Tokenizer *tok;
    EncodeContext encode;
    bool *is_continuation;
    TokenSource source;
    PretrainStream *train, *eval;
    PretrainStreamState eval_start;
    PretrainBatch batch;
    BertModel model;
    TrainStep ts;               /* the optimizer state and its step counter */
    Progress progress;
    const DistContext *dist;    /* opt->dist, or `alone` */
    DistContext alone;          /* one process: rank 0 of 1 */
    DataParallel data_parallel; /* the gradient sum across ranks (train_step's seam) */
    uint64_t batches_fingerprint; /* of every training batch drawn, compared across ranks at each save */
    RunDirLock lock;            /* rank 0's, on out_dir */
    double started;             /* now_seconds() when the run began (--time-budget counts from it) */
    double mlm_floor;           /* held-out MLM accuracy without context, and with only the */
    double mlm_left_word;       /* word to the left (mlm_baselines_of_heldout) */
    /* The model's config and vocabulary: the options', or --init DIR's. */
    char config_path[4200], vocab_path[4200];
    bool lower_case;
} Run;

static bool is_root(const Run *r) { return dist_is_root(r->dist); }

/* Each micro-batch's dropout masks come from its own key, a function of the
 * seed and the position in the run only. */
static uint64_t dropout_key(const Run *r, long step, int micro) {
    uint64_t index = (uint64_t)step * (uint64_t)r->opt->grad_accum + (uint64_t)micro + 1;
    return splitmix64_mix(r->opt->seed ^ (0xd1b54a32d192ed03ULL * index));
}

/* This rank's rows of the whole batch b (all of them for one process). */
static BertBatch rank_slice(const Run *r, BertBatch whole) {
    if (r->dist->size == 1) return whole;
    long first, rows;
    dist_rows(r->dist, whole.B, &first, &rows);
    return bert_batch_slice(&whole, first, rows);
}

static bool uses_nsp(const PretrainOptions *o) { return o->nsp_weight > 0; }

static BertBatch as_model_batch(const Run *r, const PretrainBatch *b) {
    BertBatch x = {
        .B = b->batch_size, .T = b->max_seq_length, .input_ids = b->input_ids,
        .token_type_ids = b->token_type_ids, .attention_mask = b->attention_mask,
        .P = b->max_predictions, .mlm_positions = b->mlm_positions, .mlm_labels = b->mlm_labels,
        .nsp_labels = uses_nsp(r->opt) ? b->nsp_labels : NULL,
    };
    return x;
}

static void say(const Run *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(const Run *r, const char *fmt, ...) {
    if (!r->opt->log || !is_root(r)) return;
    va_list args;
    va_start(args, fmt);
    vfprintf(r->opt->log, fmt, args);
    va_end(args);
    fflush(r->opt->log);
}

/* ---- directories ---------------------------------------------------------------- */

static bool file_exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0;
}

static void sync_directory(const char *dir) {
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    if (fd >= 0) { fsync(fd); close(fd); }
}

/* Steps of the checkpoint-N directories in dir, ascending; returns how many. */
static int list_checkpoints(const char *dir, long *steps, int max) {
    DIR *d = opendir(dir);
    if (!d) return 0;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) && n < max) {
        char *end;
        if (strncmp(e->d_name, "checkpoint-", 11) != 0) continue;
        long step = strtol(e->d_name + 11, &end, 10);
        if (*end == 0 && end != e->d_name + 11) steps[n++] = step;
    }
    closedir(d);
    for (int i = 1; i < n; i++)
        for (int j = i; j > 0 && steps[j - 1] > steps[j]; j--) { long t = steps[j]; steps[j] = steps[j - 1]; steps[j - 1] = t; }
    return n;
}

/* `--resume` takes a checkpoint directory or a run directory (its newest checkpoint). */
static int resolve_resume(const char *path, char *checkpoint, size_t len, char *err, size_t err_len) {
    char state[4096];
    snprintf(state, sizeof state, "%s/trainer_state.safetensors", path);
    if (file_exists(state)) {
        snprintf(checkpoint, len, "%s", path);
        return 0;
    }
    long steps[4096];
    int n = list_checkpoints(path, steps, 4096);
    if (n == 0) {
        snprintf(err, err_len, "%s: no checkpoint to resume from (no trainer_state.safetensors and no checkpoint-N directory)", path);
        return -1;
    }
    snprintf(checkpoint, len, "%s/checkpoint-%ld", path, steps[n - 1]);
    return 0;
}

/* ---- checkpoints ---------------------------------------------------------------- */

/* The run settings a resumed run must share with the run it continues (the
 * first N_SAME_KEYS), where its data stream is, and the schedule a
 * --time-budget run fitted (taken back when it resumes). */
static const char *const resume_keys[] = {
    "batch_size", "grad_accum", "max_seq_length", "max_predictions", "seed", "nsp_weight", "corpus_weights",
    "stream.file", "stream.offset", "stream.epoch", "stream.shard_rng", "stream.next_instance", "stream.rng",
    "steps", "warmup",
};
enum { N_RESUME_KEYS = sizeof resume_keys / sizeof resume_keys[0], N_SAME_KEYS = 7, STREAM_KEY = 7,
       STEPS_KEY = 13 };

static uint64_t double_bits(double x) {
    uint64_t bits;
    memcpy(&bits, &x, sizeof bits);
    return bits;
}

/* One number for the corpus weights: 0 when there are none. */
static uint64_t weights_fingerprint(const PretrainOptions *o) {
    return o->corpus_weights ? dist_fingerprint(DIST_FINGERPRINT_SEED, o->corpus_weights,
                                                sizeof(double) * (size_t)o->n_corpus) : 0;
}

static long warmup_steps(const PretrainOptions *o) { return o->warmup >= 0 ? o->warmup : o->steps / 10; }

static void resume_values(const Run *r, uint64_t values[N_RESUME_KEYS]) {
    const PretrainOptions *o = r->opt;
    PretrainStreamState s = pretrain_stream_state(r->train);
    uint64_t v[N_RESUME_KEYS] = {
        (uint64_t)o->batch_size, (uint64_t)o->grad_accum, (uint64_t)o->max_seq_length,
        (uint64_t)o->max_predictions, o->seed, double_bits(o->nsp_weight), weights_fingerprint(o),
        (uint64_t)s.file, (uint64_t)s.offset, (uint64_t)s.epoch, s.shard_rng, (uint64_t)s.next_instance, s.rng,
        (uint64_t)o->steps, (uint64_t)warmup_steps(o),
    };
    memcpy(values, v, sizeof v);
}

static int write_model_directory(Run *r, const char *dir, char *err, size_t err_len) {
    if (checkpoint_save(&r->model, dir, r->vocab_path, NULL, err, err_len) != 0) return -1;
    if (checkpoint_save_tokenizer_config(dir, r->lower_case, r->config.max_position_embeddings, err, err_len) != 0)
        return -1;
    return tokenizer_json_save(dir, r->tok, err, err_len);
}

/* Writes OUT/checkpoint-STEP (complete, or not at all: it is assembled in a
 * temporary directory and renamed), prunes old ones, and refreshes the model
 * in OUT itself so OUT is always a loadable Hugging Face directory. The
 * optimizer state saved with it must be the state after update STEP. */
static int save_checkpoint(Run *r, long step, char *err, size_t err_len) {
    const char *out = r->opt->out_dir;
    char final_dir[4096], tmp_dir[4096], path[4200];
    snprintf(final_dir, sizeof final_dir, "%s/checkpoint-%ld", out, step);
    snprintf(tmp_dir, sizeof tmp_dir, "%s/.checkpoint-%ld.tmp", out, step);
    remove_flat_directory(tmp_dir);
    uint64_t values[N_RESUME_KEYS];
    resume_values(r, values);
    TrainerValues tv = { .count = 0 };
    for (int i = 0; i < N_RESUME_KEYS; i++) trainer_values_set(&tv, resume_keys[i], values[i]);
    snprintf(path, sizeof path, "%s/trainer_state.safetensors", tmp_dir);
    if (write_model_directory(r, tmp_dir, err, err_len) != 0 ||
        trainer_state_save(path, &r->ts.adam, &tv, err, err_len) != 0) {
        /* A full disk, say: the half-written directory goes, the last complete checkpoint stays. */
        remove_flat_directory(tmp_dir);
        return -1;
    }
    sync_directory(tmp_dir);
    if (file_exists(final_dir)) remove_flat_directory(final_dir);
    if (rename(tmp_dir, final_dir) != 0) {
        snprintf(err, err_len, "%s: cannot rename to %s: %s", tmp_dir, final_dir, strerror(errno));
        remove_flat_directory(tmp_dir);
        return -1;
    }
    sync_directory(out);
    long steps[4096];
    int n = list_checkpoints(out, steps, 4096);
    for (int i = 0; i + r->opt->keep_checkpoints < n; i++) {
        snprintf(path, sizeof path, "%s/checkpoint-%ld", out, steps[i]);
        remove_flat_directory(path);
    }
    return write_model_directory(r, out, err, err_len);
}

/* ---- evaluation ----------------------------------------------------------------- */

typedef struct {
    double mlm_loss, mlm_acc, nsp_loss, nsp_acc;
} EvalFigures;

/* The held-out MLM accuracies of the predictors without a model
 * (data/mlm_baselines.h): the context-free floor and the left-word
 * predictor, under the run's own masking, on the held-out batches the
 * evaluation reads. Reads them twice, rewinding before and after. */
static int mlm_baselines_of_heldout(Run *r, double *context_free, double *left_word, char *err, size_t err_len) {
    int special[3] = {tokenizer_cls_id(r->tok), tokenizer_sep_id(r->tok), tokenizer_pad_id(r->tok)};
    MlmBaselines mb;
    int status = -1;
    if (mlm_baselines_init(&mb, tokenizer_vocab_size(r->tok), tokenizer_mask_id(r->tok), special, 3) != 0) {
        snprintf(err, err_len, "out of memory");
        goto done;
    }
    for (int pass = 0; pass < 2; pass++) {   /* 0: count the text before masking; 1: score */
        if (pretrain_stream_restore(r->eval, &r->eval_start, err, err_len) != 0) goto done;
        /* the held-out documents (of the first shard: held-out text is small) */
        if (pass == 0 && mlm_baselines_count_pairs(&mb, pretrain_stream_shard(r->eval)) != 0) {
            snprintf(err, err_len, "out of memory");
            goto done;
        }
        if (pass == 1) mlm_baselines_fit(&mb);
        for (int i = 0; i < r->opt->eval_batches; i++) {
            if (pretrain_next_batch(r->eval, &r->batch) != 0) {
                snprintf(err, err_len, "held-out data: %s", pretrain_stream_error(r->eval));
                goto done;
            }
            if (pass == 1) mlm_baselines_score(&mb, &r->batch);
            else if (mlm_baselines_count(&mb, &r->batch) != 0) { snprintf(err, err_len, "out of memory"); goto done; }
        }
    }
    *context_free = mlm_baselines_context_free(&mb);
    *left_word = mlm_baselines_left_word(&mb);
    status = pretrain_stream_restore(r->eval, &r->eval_start, err, err_len);
done:
    mlm_baselines_free(&mb);
    return status;
}

/* The same held-out batches every time (the stream is rewound to its start),
 * dropout off. Losses are means over all masked tokens and all sequences. */
static int evaluate(Run *r, EvalFigures *f, char *err, size_t err_len) {
    if (pretrain_stream_restore(r->eval, &r->eval_start, err, err_len) != 0) return -1;
    double mlm_sum = 0, nsp_sum = 0;
    long predictions = 0, mlm_correct = 0, sequences = 0, nsp_correct = 0;
    for (int i = 0; i < r->opt->eval_batches; i++) {
        if (pretrain_next_batch(r->eval, &r->batch) != 0) {
            snprintf(err, err_len, "held-out data: %s", pretrain_stream_error(r->eval));
            return -1;
        }
        BertBatch b = rank_slice(r, as_model_batch(r, &r->batch));
        char why[256];
        if (bert_check_batch(&r->model, &b, why, sizeof why) != 0) {
            snprintf(err, err_len, "held-out data: %s", why);
            return -1;
        }
        if (b.B == 0) continue;
        bert_forward(&r->model, &b, false, 0);
        mlm_sum += r->model.mlm_loss * r->model.M;
        predictions += r->model.M;
        mlm_correct += r->model.mlm_correct;
        nsp_sum += r->model.nsp_loss * b.B;
        sequences += b.B;
        nsp_correct += r->model.nsp_correct;
    }
    /* Each rank evaluated its rows: the figures of all are the sums. */
    double sums[6] = {mlm_sum, (double)predictions, (double)mlm_correct, nsp_sum, (double)sequences,
                      (double)nsp_correct};
    if (dist_sum_doubles(r->dist, sums, 6) != 0) {
        snprintf(err, err_len, "summing the held-out figures across %d ranks failed", r->dist->size);
        return -1;
    }
    mlm_sum = sums[0], predictions = (long)sums[1], mlm_correct = (long)sums[2];
    nsp_sum = sums[3], sequences = (long)sums[4], nsp_correct = (long)sums[5];
    f->mlm_loss = predictions ? mlm_sum / predictions : 0;
    f->mlm_acc = predictions ? (double)mlm_correct / predictions : 0;
    f->nsp_loss = sequences ? nsp_sum / sequences : 0;
    f->nsp_acc = sequences ? (double)nsp_correct / sequences : 0;
    return 0;
}

/* ---- set-up --------------------------------------------------------------------- */

static int open_data(Run *r, char *err, size_t err_len) {
    const PretrainOptions *o = r->opt;
    int V = tokenizer_vocab_size(r->tok);
    r->is_continuation = calloc((size_t)V, sizeof(bool));
    if (!r->is_continuation) { snprintf(err, err_len, "out of memory"); return -1; }
    for (int i = 0; i < V; i++) r->is_continuation[i] = tokenizer_is_continuation(r->tok, i);
    r->encode.tok = r->tok;
    r->source = (TokenSource){
        .ctx = &r->encode, .encode = encode_text, .vocab_size = V,
        .cls_id = tokenizer_cls_id(r->tok), .sep_id = tokenizer_sep_id(r->tok),
        .mask_id = tokenizer_mask_id(r->tok), .pad_id = tokenizer_pad_id(r->tok),
        .is_continuation = r->is_continuation,
    };
    PretrainConfig pc = pretrain_config_default();
    pc.max_seq_length = o->max_seq_length;
    pc.max_predictions_per_seq = o->max_predictions;
    pc.masked_lm_prob = o->masked_lm_prob;
    pc.mask_token_prob = o->mask_token_prob;
    pc.random_token_prob = o->random_token_prob;
    pc.short_seq_prob = o->short_seq_prob;
    pc.whole_word_mask = o->whole_word_mask;
    pc.batch_size = o->batch_size;
    pc.seed = o->seed;
    pc.eval_fraction = o->eval_corpus ? 0 : o->eval_fraction;
    pc.full_sentences = !uses_nsp(o);
    pc.file_weights = o->corpus_weights;
    CorpusOptions co = { .mode = o->prose ? CORPUS_PROSE : CORPUS_LINES, .chapters = o->chapters };
    char eval_err[512] = "";
    if (o->eval_corpus) {
        r->train = pretrain_stream_open(o->corpus, o->n_corpus, &co, &r->source, &pc, PRETRAIN_ALL, err, err_len);
        if (!r->train) return -1;
        r->eval = pretrain_stream_open(o->eval_corpus, o->n_eval_corpus, &co, &r->source, &pc, PRETRAIN_ALL, err, err_len);
        if (!r->eval) return -1;
    } else {
        bool held_out = o->eval_fraction > 0;
        r->train = pretrain_stream_open(o->corpus, o->n_corpus, &co, &r->source, &pc,
                                        held_out ? PRETRAIN_TRAIN : PRETRAIN_ALL, err, err_len);
        if (!r->train) return -1;
        if (held_out) {
            /* A corpus of one document has nothing to hold out: train without evaluation. */
            r->eval = pretrain_stream_open(o->corpus, o->n_corpus, &co, &r->source, &pc, PRETRAIN_HELDOUT,
                                           eval_err, sizeof eval_err);
            if (!r->eval) say(r, "bert pretrain: no held-out evaluation: %s\n", eval_err);
        }
    }
    if (r->eval) r->eval_start = pretrain_stream_state(r->eval);
    if (pretrain_batch_alloc(&r->batch, o->batch_size, o->max_seq_length, o->max_predictions) != 0) {
        snprintf(err, err_len, "out of memory for a batch of %d × %d", o->batch_size, o->max_seq_length);
        return -1;
    }
    return 0;
}

static int check_options(const PretrainOptions *o, char *err, size_t err_len) {
    if (o->init_dir && (o->config_path || o->vocab_path))
        snprintf(err, err_len, "--init %s brings its own config.json and vocabulary: give --init or --config and "
                 "--vocab, not both", o->init_dir);
    else if ((!o->init_dir && (!o->config_path || !o->vocab_path)) || !o->corpus || o->n_corpus < 1 || !o->out_dir)
        snprintf(err, err_len, "need a config and a vocab (or --init DIR), at least one corpus file and an output "
                 "directory");
    else if (o->steps < 1) snprintf(err, err_len, "--steps must be at least 1, not %ld", o->steps);
    else if (o->batch_size < 1 || o->grad_accum < 1)
        snprintf(err, err_len, "--batch-size and --grad-accum must be at least 1");
    else if (!(o->lr > 0)) snprintf(err, err_len, "--lr must be positive, not %g", o->lr);
    else if (o->max_seq_length < 8) snprintf(err, err_len, "--max-seq-length must be at least 8, not %d", o->max_seq_length);
    else if (o->max_predictions < 1) snprintf(err, err_len, "--max-predictions must be at least 1");
    else if (o->dropout >= 1) snprintf(err, err_len, "--dropout must be below 1, not %g", o->dropout);
    else if (!(o->masked_lm_prob > 0 && o->masked_lm_prob <= 1))
        snprintf(err, err_len, "--mask-prob must be in (0, 1], not %g", o->masked_lm_prob);
    else if (!(o->mask_token_prob >= 0 && o->random_token_prob >= 0 &&
               o->mask_token_prob + o->random_token_prob <= 1 + 1e-12))
        snprintf(err, err_len, "--mask-token-prob %g and --random-token-prob %g must be ≥ 0 with a sum ≤ 1 "
                 "(the rest of the chosen tokens stay as they are)", o->mask_token_prob, o->random_token_prob);
    else if (!(o->nsp_weight >= 0 && o->nsp_weight <= 1e6))
        snprintf(err, err_len, "--nsp-weight must be a number from 0 (no next-sentence task) up, not %g", o->nsp_weight);
    else if (!(o->time_budget_minutes >= 0 && o->time_budget_minutes <= 1e7))
        snprintf(err, err_len, "--time-budget must be a positive number of minutes, not %g", o->time_budget_minutes);
    else if (o->keep_checkpoints < 1) snprintf(err, err_len, "--keep must be at least 1");
    else if (o->warmup > o->steps) snprintf(err, err_len, "--warmup %ld exceeds --steps %ld", o->warmup, o->steps);
    else if (o->eval_every > 0 && o->eval_batches < 1) snprintf(err, err_len, "--eval-batches must be at least 1");
    else return 0;
    return -1;
}

static int next_training_batch(void *ctx, long step, int micro, BertBatch *batch, uint64_t *key, char *err,
                               size_t err_len);

/* --time-budget (docs/pretraining.md, "A wall-clock budget"): the schedule
 * is fitted once, before the first step, to the time the budget leaves after
 * set-up: steps = ⌊left / (step time + evaluation time per step)⌋, warmup 10%
 * of them unless --warmup was given. The step time is measured on three real
 * optimizer steps (after one to warm up) on the run's own first batches;
 * then the weights, the optimizer and the data stream are put back, so the
 * run is the one a plain --steps N run would be. Evaluation is timed on one
 * held-out batch. Checkpoint writing is not counted. */
static int fit_schedule_to_budget(Run *r, char *err, size_t err_len) {
    PretrainOptions *o = r->resolved;
    enum { WARM_UP = 1, TIMED = 3 };
    size_t bytes = sizeof(real) * (size_t)r->model.num_params;
    real *saved_params = malloc(bytes);
    if (!saved_params) { snprintf(err, err_len, "out of memory for --time-budget's measurement"); return -1; }
    memcpy(saved_params, r->model.params_memory, bytes);
    PretrainStreamState saved_stream = pretrain_stream_state(r->train);
    uint64_t saved_fingerprint = r->batches_fingerprint;
    double t_step = 0;
    int rc = 0;
    for (int i = 0; i < WARM_UP + TIMED && rc == 0; i++) {
        double t0 = now_seconds();
        TrainStepStats stats;
        rc = train_step(&r->ts, next_training_batch, r, &stats, err, err_len);
        if (i >= WARM_UP) t_step += (now_seconds() - t0) / TIMED;
    }
    memcpy(r->model.params_memory, saved_params, bytes);
    free(saved_params);
    if (r->model.params_bf16) bert_refresh_bf16(&r->model);
    bert_zero_grad(&r->model);
    memset(r->ts.adam.m, 0, bytes);
    memset(r->ts.adam.v, 0, bytes);
    r->ts.adam.step = 0;
    r->batches_fingerprint = saved_fingerprint;
    if (rc != TRAIN_STEP_OK) {
        size_t len = strlen(err);
        snprintf(err + len, err_len - len, " (while timing steps for --time-budget)");
        return -1;
    }
    if (pretrain_stream_restore(r->train, &saved_stream, err, err_len) != 0) return -1;
    double t_eval_batch = 0;
    if (r->eval) {
        if (pretrain_next_batch(r->eval, &r->batch) != 0) {
            snprintf(err, err_len, "held-out data: %s", pretrain_stream_error(r->eval));
            return -1;
        }
        BertBatch whole = as_model_batch(r, &r->batch);
        BertBatch mine = rank_slice(r, whole);
        double t0 = now_seconds();
        if (mine.B > 0) bert_forward(&r->model, &mine, false, 0);
        t_eval_batch = now_seconds() - t0;
        if (pretrain_stream_restore(r->eval, &r->eval_start, err, err_len) != 0) return -1;
    }
    /* every rank fits the same schedule: the ranks' mean times */
    double times[2] = {t_step, t_eval_batch};
    if (dist_sum_doubles(r->dist, times, 2) != 0) { snprintf(err, err_len, "--time-budget: MPI failed"); return -1; }
    t_step = times[0] / r->dist->size;
    t_eval_batch = times[1] / r->dist->size;
    double t_eval = r->eval ? o->eval_batches * t_eval_batch : 0;
    double left = 60 * o->time_budget_minutes - (now_seconds() - r->started) - t_eval;   /* the final evaluation */
    double per_step = t_step + (r->eval && o->eval_every > 0 ? t_eval / (double)o->eval_every : 0);
    double fitted = per_step > 0 ? floor(left / per_step) : 0;
    if (fitted < 1) {
        snprintf(err, err_len, "--time-budget %g minutes: nothing is left for training after %.1f s of set-up "
                 "(a step takes %.3f s)", o->time_budget_minutes, now_seconds() - r->started, t_step);
        return -1;
    }
    if (fitted > INT32_MAX) fitted = INT32_MAX;
    o->steps = (long)fitted;
    if (o->warmup > o->steps) {
        snprintf(err, err_len, "--warmup %ld exceeds the %ld steps --time-budget %g fits (%.3f s a step)",
                 o->warmup, o->steps, o->time_budget_minutes, t_step);
        return -1;
    }
    r->ts.config.total_steps = o->steps;
    r->ts.config.warmup_steps = warmup_steps(o);
    say(r, "bert pretrain: --time-budget %g min: %.3f s a step (measured), %.3f s an evaluation batch → %ld steps, "
        "warmup %ld\n", o->time_budget_minutes, t_step, t_eval_batch, o->steps, warmup_steps(o));
    return 0;
}

static int set_up(Run *r, char *err, size_t err_len) {
    const PretrainOptions *o = r->opt;
    if (check_options(o, err, err_len) != 0) return -1;
    char found[256];
    if (!o->resume && !o->overwrite && is_root(r) && run_dir_holds_run(o->out_dir, found, sizeof found)) {
        snprintf(err, err_len, "%s already holds a run (%s); continue it with --resume %s, or start again with "
                 "--overwrite (which deletes its checkpoints, metrics and model)", o->out_dir, found, o->out_dir);
        return -1;
    }
    if (o->init_dir) {
        /* Continued pretraining: DIR's config, vocabulary and casing; its weights below. */
        snprintf(r->config_path, sizeof r->config_path, "%s/config.json", o->init_dir);
        if (checkpoint_read_lower_case(o->init_dir, &r->lower_case, err, err_len) != 0) return -1;
        if (o->cased && r->lower_case) {
            snprintf(err, err_len, "--cased, but %s is uncased (its tokenizer_config.json): its vocabulary was "
                     "built for lowercased text", o->init_dir);
            return -1;
        }
        if (bert_config_load(&r->config, r->config_path, err, err_len) != 0) return -1;
        r->tok = tokenizer_load_dir(o->init_dir, r->lower_case, r->vocab_path, sizeof r->vocab_path, err, err_len);
    } else {
        snprintf(r->config_path, sizeof r->config_path, "%s", o->config_path);
        snprintf(r->vocab_path, sizeof r->vocab_path, "%s", o->vocab_path);
        r->lower_case = !o->cased;
        if (bert_config_load(&r->config, r->config_path, err, err_len) != 0) return -1;
        r->tok = tokenizer_load(r->vocab_path, r->lower_case, err, err_len);
    }
    if (!r->tok) return -1;
    if (tokenizer_vocab_size(r->tok) != r->config.vocab_size) {
        snprintf(err, err_len, "%s has %d tokens but %s says vocab_size %d: make them agree",
                 r->vocab_path, tokenizer_vocab_size(r->tok), r->config_path, r->config.vocab_size);
        return -1;
    }
    if (uses_nsp(o) && r->config.type_vocab_size < 2) {
        snprintf(err, err_len, "%s: type_vocab_size %d: pretraining builds sentence pairs ([CLS] A [SEP] B [SEP]), "
                 "whose second segment is token type 1; it must be at least 2 (or pretrain with --no-nsp)", r->config_path,
                 r->config.type_vocab_size);
        return -1;
    }
    if (o->max_seq_length > r->config.max_position_embeddings) {
        snprintf(err, err_len, "--max-seq-length %d exceeds max_position_embeddings %d in %s",
                 o->max_seq_length, r->config.max_position_embeddings, r->config_path);
        return -1;
    }
    char checkpoint_dir[4096] = "";
    if (o->resume && resolve_resume(o->resume, checkpoint_dir, sizeof checkpoint_dir, err, err_len) != 0) return -1;
    if (open_data(r, err, err_len) != 0) return -1;

    if (o->resume) {
        int heads = 0;
        if (checkpoint_load(&r->model, checkpoint_dir, BERT_HEADS_PRETRAINING, 0, o->seed, &heads, err, err_len) != 0)
            return -1;
        if (r->model.num_params == 0 || r->model.config.hidden_size != r->config.hidden_size ||
            r->model.config.num_hidden_layers != r->config.num_hidden_layers ||
            r->model.config.vocab_size != r->config.vocab_size) {
            snprintf(err, err_len, "%s: the checkpoint's config differs from %s", checkpoint_dir, r->config_path);
            return -1;
        }
    } else if (o->init_dir) {
        /* A Hugging Face BertModel directory has no pretraining heads: new
         * ones are initialised from the seed (checkpoint_load). */
        int heads = 0;
        if (checkpoint_load(&r->model, o->init_dir, BERT_HEADS_PRETRAINING, 0, o->seed, &heads, err, err_len) != 0)
            return -1;
        say(r, "bert pretrain: starting from the weights in %s%s\n", o->init_dir,
            heads & BERT_HEADS_PRETRAINING ? "" : " (it has no masked-LM and next-sentence heads: new ones are "
                                                  "initialised)");
    } else {
        if (bert_create(&r->model, &r->config, BERT_HEADS_PRETRAINING, 0, err, err_len) != 0) return -1;
        bert_init_weights(&r->model, o->seed);
    }
    bert_set_training_dropout(&r->model, o->dropout);
    r->model.nsp_loss_weight = o->nsp_weight;
    if (o->bf16 && bert_use_bf16(&r->model, err, err_len) != 0) return -1;
    int rows = (int)dist_max_rows(r->dist, o->batch_size);
    if (bert_reserve(&r->model, rows, o->max_seq_length, o->max_predictions, err, err_len) != 0) return -1;
    TrainStepConfig tc = {
        .adamw = adamw_config_bert(), .peak_lr = (real)o->lr,
        .warmup_steps = warmup_steps(o), .total_steps = o->steps,
        .grad_accum = o->grad_accum,
    };
    tc.adamw.weight_decay = (real)o->weight_decay;
    tc.adamw.max_grad_norm = (real)o->max_grad_norm;
    tc.adamw.bias_correction = o->bias_correction;
    if (train_step_init(&r->ts, &r->model, &tc, err, err_len) != 0) return -1;
    if (data_parallel_attach(&r->data_parallel, r->dist, &r->ts, err, err_len) != 0) return -1;
    if (o->bf16) train_step_use_bf16(&r->ts);

    /* Everything checked: now the run directory is made, locked (one run
     * at a time) and, with --overwrite, emptied of the earlier run. */
    if (is_root(r)) {
        if (run_dir_lock(&r->lock, o->out_dir, "bert pretrain", err, err_len) != 0) return -1;
        if (!o->resume && o->overwrite && run_dir_clear(o->out_dir, err, err_len) != 0) return -1;
    }
    if (o->resume) {
        char path[4200];
        snprintf(path, sizeof path, "%s/trainer_state.safetensors", checkpoint_dir);
        uint64_t saved[N_RESUME_KEYS], ours[N_RESUME_KEYS];
        uint64_t *outputs[N_RESUME_KEYS];
        for (int i = 0; i < N_RESUME_KEYS; i++) outputs[i] = &saved[i];
        if (trainer_state_load(path, &r->ts.adam, resume_keys, outputs, N_RESUME_KEYS, err, err_len) != 0) return -1;
        resume_values(r, ours);
        for (int i = 0; i < N_SAME_KEYS; i++)
            if (saved[i] != ours[i]) {
                if (i == 5 || i == 6)
                    snprintf(err, err_len, "%s: %s differs from the run being resumed (%s): resume with the same "
                             "settings", path, i == 5 ? "--nsp-weight (or --no-nsp)" : "the --corpus weights",
                             resume_keys[i]);
                else
                    snprintf(err, err_len, "%s: %s was %llu in the run being resumed, now %llu: resume with the "
                             "same settings", path, resume_keys[i], (unsigned long long)saved[i],
                             (unsigned long long)ours[i]);
                return -1;
            }
        const uint64_t *st = saved + STREAM_KEY;
        PretrainStreamState s = {
            .file = (int64_t)st[0], .offset = (int64_t)st[1], .epoch = (int64_t)st[2],
            .shard_rng = st[3], .next_instance = (int64_t)st[4], .rng = st[5],
        };
        if (o->time_budget_minutes > 0) {
            /* the schedule the budget was fitted to, not a new fit */
            if (saved[STEPS_KEY] < 1 || saved[STEPS_KEY] > (uint64_t)INT32_MAX ||
                saved[STEPS_KEY + 1] > saved[STEPS_KEY]) {
                snprintf(err, err_len, "%s: steps %llu and warmup %llu saved by the run are not a schedule", path,
                         (unsigned long long)saved[STEPS_KEY], (unsigned long long)saved[STEPS_KEY + 1]);
                return -1;
            }
            r->resolved->steps = (long)saved[STEPS_KEY];
            r->resolved->warmup = (long)saved[STEPS_KEY + 1];
            r->ts.config.total_steps = r->resolved->steps;
            r->ts.config.warmup_steps = r->resolved->warmup;
        }
        if (r->ts.adam.step > o->steps) {
            snprintf(err, err_len, "%s: the run being resumed is at step %ld, past --steps %ld", path,
                     r->ts.adam.step, o->steps);
            return -1;
        }
        if (pretrain_stream_restore(r->train, &s, err, err_len) != 0) return -1;
        snprintf(path, sizeof path, "%s/metrics.jsonl", o->out_dir);
        if (is_root(r) && run_dir_truncate_metrics(path, r->ts.adam.step, err, err_len) != 0) return -1;
        say(r, "bert pretrain: resuming from %s at step %ld\n", checkpoint_dir, r->ts.adam.step);
    } else if (o->time_budget_minutes > 0 && fit_schedule_to_budget(r, err, err_len) != 0) return -1;
    char metrics[4200];
    snprintf(metrics, sizeof metrics, "%s/metrics.jsonl", o->out_dir);
    return progress_open(&r->progress, is_root(r) ? metrics : NULL, r->ts.adam.step, o->steps, err, err_len);
}

/* ---- ranks -------------------------------------------------------------------------- */

static uint64_t fingerprint_string(uint64_t h, const char *text) {
    return dist_fingerprint(h, text ? text : "", text ? strlen(text) + 1 : 1);
}

/* Every rank must train the same model on the same data with the same
 * options, or the averaged gradient means nothing: compared at the start. */
static int check_ranks_agree(Run *r, char *err, size_t err_len) {
    const PretrainOptions *o = r->opt;
    const DistContext *d = r->dist;
    if (d->size == 1) return 0;
    int64_t whole[] = {
        o->steps, o->batch_size, o->grad_accum, o->warmup, o->max_seq_length, o->max_predictions,
        o->save_every, o->eval_every, o->eval_batches, o->keep_checkpoints, o->stop_at_step,
        o->whole_word_mask, o->bias_correction, o->prose, o->chapters, o->cased, (int64_t)o->seed, o->bf16,
    };
    double reals[] = {o->lr, o->masked_lm_prob, o->mask_token_prob, o->random_token_prob, o->short_seq_prob,
                      o->eval_fraction, o->dropout, o->weight_decay,
                      o->max_grad_norm, o->nsp_weight, o->time_budget_minutes, (double)weights_fingerprint(o)};
    uint64_t h = dist_fingerprint(DIST_FINGERPRINT_SEED, whole, sizeof whole);
    h = dist_fingerprint(h, reals, sizeof reals);
    h = fingerprint_string(h, o->out_dir);
    if (dist_check_agreement(d, "the options (seed, batch size, steps, learning rate, masking, --out)", &h,
                             sizeof h, err, err_len) != 0)
        return -1;
    h = DIST_FINGERPRINT_SEED;
    for (int i = 0; i < tokenizer_vocab_size(r->tok); i++) h = fingerprint_string(h, tokenizer_id_to_token(r->tok, i));
    if (dist_check_agreement(d, "the vocabulary (--vocab)", &h, sizeof h, err, err_len) != 0) return -1;
    int64_t data[] = {pretrain_stream_num_documents(r->train), r->eval ? pretrain_stream_num_documents(r->eval) : -1};
    h = dist_fingerprint(DIST_FINGERPRINT_SEED, data, sizeof data);
    PretrainStreamState at = pretrain_stream_state(r->train);
    h = dist_fingerprint(h, &at, sizeof at);
    for (int i = 0; i < o->n_corpus; i++) {
        struct stat st;
        int64_t size = stat(o->corpus[i], &st) == 0 ? (int64_t)st.st_size : -1;
        h = dist_fingerprint(h, &size, sizeof size);
    }
    if (dist_check_agreement(d, "the training data (--corpus: its files, documents and position)", &h, sizeof h,
                             err, err_len) != 0)
        return -1;
    h = dist_fingerprint(DIST_FINGERPRINT_SEED, r->model.params_memory, sizeof(real) * (size_t)r->model.num_params);
    h = dist_fingerprint(h, &r->ts.adam.step, sizeof r->ts.adam.step);
    return dist_check_agreement(d, "the model's weights (--config, the initialisation or the checkpoint resumed)",
                                &h, sizeof h, err, err_len);
}


static void tear_down(Run *r) {
    progress_close(&r->progress);
    run_dir_unlock(&r->lock);
    data_parallel_free(&r->data_parallel);
    train_step_free(&r->ts);
    bert_free(&r->model);
    pretrain_batch_free(&r->batch);
    if (r->train) pretrain_stream_close(r->train);
    if (r->eval) pretrain_stream_close(r->eval);
    free(r->is_continuation);
    if (r->tok) tokenizer_free(r->tok);
    bert_config_free(&r->config);
}

/* ---- the loop --------------------------------------------------------------------- */

/* TrainNextBatch over the training stream: every micro-batch in turn fills
 * the one PretrainBatch. */
static int next_training_batch(void *ctx, long step, int micro, BertBatch *batch, uint64_t *key, char *err,
                               size_t err_len) {
    Run *r = ctx;
    if (pretrain_next_batch(r->train, &r->batch) != 0) {
        snprintf(err, err_len, "training data: %s", pretrain_stream_error(r->train));
        return -1;
    }
    BertBatch whole = as_model_batch(r, &r->batch);
    if (r->dist->size > 1) {
        size_t BT = (size_t)whole.B * (size_t)whole.T, BP = (size_t)whole.B * (size_t)whole.P;
        uint64_t h = dist_fingerprint(r->batches_fingerprint, whole.input_ids, sizeof(int) * BT);
        h = dist_fingerprint(h, whole.mlm_labels, sizeof(int) * BP);
        r->batches_fingerprint = dist_fingerprint(h, whole.nsp_labels, sizeof(int) * (size_t)whole.B);
    }
    *batch = rank_slice(r, whole);
    *key = dropout_key(r, step, micro);
    return 0;
}

/* The step's metrics record and progress line. */
static void report_step(Run *r, const TrainStepStats *s, double seconds, double window_start) {
    const PretrainOptions *o = r->opt;
    double tokens_per_s = (double)o->grad_accum * o->batch_size * o->max_seq_length / seconds;
    double mlm_acc = s->mlm_predictions ? (double)s->mlm_correct / s->mlm_predictions : 0;
    double nsp_acc = s->sequences ? (double)s->nsp_correct / s->sequences : 0;
    char record[512], figures[256], nsp[128] = "";
    bool with_nsp = uses_nsp(o);
    if (with_nsp) snprintf(nsp, sizeof nsp, ", \"nsp_loss\": %.6g, \"nsp_acc\": %.4g", s->nsp_loss, nsp_acc);
    snprintf(record, sizeof record,
             "{\"split\": \"train\", \"step\": %ld, \"loss\": %.6g, \"mlm_loss\": %.6g, \"mlm_acc\": %.4g%s, "
             "\"lr\": %.6g, \"grad_norm\": %.6g, \"tokens_per_s\": %.1f}",
             s->step, s->loss, s->mlm_loss, mlm_acc, nsp, s->lr, s->grad_norm, tokens_per_s);
    if (r->dist->size > 1) {
        /* The gradient sum's share of the step (docs/distributed.md). */
        size_t len = strlen(record) - 1;
        snprintf(record + len, sizeof record - len, ", \"ranks\": %d, \"allreduce_ms\": %.2f}", r->dist->size,
                 1e3 * r->data_parallel.last_reduce_seconds);
    }
    progress_record(&r->progress, record);
    double elapsed = now_seconds() - window_start;
    if (with_nsp) snprintf(nsp, sizeof nsp, " | nsp %.3f acc %.2f", s->nsp_loss, nsp_acc);
    snprintf(figures, sizeof figures, "loss %.3f | mlm %.3f acc %.3f%s | lr %.2e | %.0f tok/s",
             s->loss, s->mlm_loss, mlm_acc, nsp, s->lr,
             (double)(s->step - r->progress.first_step) * o->grad_accum * o->batch_size * o->max_seq_length /
                 (elapsed > 0 ? elapsed : 1));
    if (o->log && is_root(r)) progress_show(&r->progress, s->step, figures);
}

/* Held-out evaluation after update STEP: its metrics record and log line. */
static int report_evaluation(Run *r, long step, char *err, size_t err_len) {
    EvalFigures f;
    if (evaluate(r, &f, err, err_len) != 0) return -1;
    char record[512], nsp[128] = "";
    bool with_nsp = uses_nsp(r->opt);
    if (with_nsp) snprintf(nsp, sizeof nsp, ", \"nsp_loss\": %.6g, \"nsp_acc\": %.4g", f.nsp_loss, f.nsp_acc);
    snprintf(record, sizeof record,
             "{\"split\": \"eval\", \"step\": %ld, \"mlm_loss\": %.6g, \"mlm_acc\": %.4g%s, \"mlm_floor_acc\": %.4g, "
             "\"mlm_left_word_acc\": %.4g}",
             step, f.mlm_loss, f.mlm_acc, nsp, r->mlm_floor, r->mlm_left_word);
    progress_record(&r->progress, record);
    if (r->opt->log && is_root(r)) {
        progress_done(&r->progress);
        if (with_nsp) snprintf(nsp, sizeof nsp, " | nsp loss %.4f acc %.4f", f.nsp_loss, f.nsp_acc);
        fprintf(r->opt->log, "held-out at step %ld: mlm loss %.4f acc %.4f (context-free floor %.4f, left word "
                "%.4f)%s\n", step, f.mlm_loss, f.mlm_acc, r->mlm_floor, r->mlm_left_word, nsp);
    }
    return 0;
}


/* A failure on this rank alone after set-up ends the job (distributed.h). */
static void fail_alone(const Run *r, const char *err) { dist_end_job_on_failure(r->dist, "bert pretrain", err); }

PretrainResult pretrain_run(const PretrainOptions *options, char *err, size_t err_len) {
    Run run, *r = &run;
    memset(r, 0, sizeof *r);
    /* The options as run: derived defaults filled in. */
    PretrainOptions resolved = *options;
    if (resolved.max_predictions == 0)   /* Google's 20 for T = 128 at 0.15 */
        resolved.max_predictions = (int)ceil(resolved.max_seq_length * resolved.masked_lm_prob - 1e-9);
    if (resolved.max_predictions < 1) resolved.max_predictions = 1;
    const PretrainOptions *opt = &resolved;
    r->opt = opt;
    r->resolved = &resolved;
    r->started = now_seconds();
    r->lock.fd = -1;
    r->alone.size = 1;
    r->dist = opt->dist ? opt->dist : &r->alone;
    PretrainResult result = PRETRAIN_FAILED;
    bool failed = set_up(r, err, err_len) != 0;
    bool root_failed;
    if (dist_count_failures(r->dist, failed, &root_failed) > 0) {
        /* One message: rank 0's when it failed (every rank usually fails alike). */
        if (!failed || (root_failed && !is_root(r))) {
            if (err_len) err[0] = 0;
            result = PRETRAIN_FAILED_ELSEWHERE;
        } else if (!is_root(r)) {
            size_t len = strlen(err);
            char mine[1024];
            snprintf(mine, sizeof mine, "%.*s", (int)len, err);
            snprintf(err, err_len, "rank %d of %d: %s", r->dist->rank, r->dist->size, mine);
        }
        goto done;
    }
    if (check_ranks_agree(r, err, err_len) != 0) {
        if (!is_root(r)) { if (err_len) err[0] = 0; result = PRETRAIN_FAILED_ELSEWHERE; }
        goto done;
    }

    const PretrainOptions *o = opt;
    say(r, "bert pretrain: %ld parameters, %ld training documents, batch %d × %d (× %d accumulated), %ld steps\n",
        r->model.num_params, pretrain_stream_num_documents(r->train), o->batch_size, o->max_seq_length,
        o->grad_accum, o->steps);
    if (!uses_nsp(o))
        say(r, "bert pretrain: masked LM only (no next-sentence task): each row is packed full from contiguous "
            "text, a [SEP] between documents\n");
    if (r->eval) {
        if (mlm_baselines_of_heldout(r, &r->mlm_floor, &r->mlm_left_word, err, err_len) != 0) goto done;
        say(r, "bert pretrain: held-out MLM accuracy without context (the most frequent token at [MASK], the "
            "visible token elsewhere): %.4f; a model at this floor has not yet used context. Seeing only the "
            "token to the left of each [MASK]: %.4f\n", r->mlm_floor, r->mlm_left_word);
    }
    if (r->dist->size > 1)
        say(r, "bert pretrain: %d ranks, %ld sequences of each batch per rank at most, %d thread%s each\n",
            r->dist->size, dist_max_rows(r->dist, o->batch_size), bert_threads(), bert_threads() == 1 ? "" : "s");
    double window_start = now_seconds();
    while (r->ts.adam.step < o->steps) {
        double t0 = now_seconds();
        TrainStepStats s;
        int rc = train_step(&r->ts, next_training_batch, r, &s, err, err_len);
        if (rc == TRAIN_STEP_NOT_FINITE) {
            /* Decided on the summed loss and gradient: every rank stops here alike. */
            size_t len = strlen(err);
            snprintf(err + len, err_len - len, "; lower --lr or check the data");
            if (!is_root(r)) { err[0] = 0; result = PRETRAIN_FAILED_ELSEWHERE; }
            goto done;
        }
        if (rc != TRAIN_STEP_OK) {
            fail_alone(r, err);
            goto done;
        }
        report_step(r, &s, now_seconds() - t0, window_start);

        bool last = s.step == o->steps;
        bool stopping = dist_any(r->dist, (o->stop && *o->stop) || (o->stop_at_step > 0 && s.step >= o->stop_at_step));
        if (r->eval && ((o->eval_every > 0 && s.step % o->eval_every == 0) || last))
            if (report_evaluation(r, s.step, err, err_len) != 0) {
                fail_alone(r, err);
                goto done;
            }
        if ((o->save_every > 0 && s.step % o->save_every == 0) || last || stopping) {
            if (dist_check_in_step(r->dist, r->batches_fingerprint, &r->model, err, err_len) != 0) {
                if (!is_root(r)) { err[0] = 0; result = PRETRAIN_FAILED_ELSEWHERE; }
                goto done;
            }
            if (is_root(r) && save_checkpoint(r, s.step, err, err_len) != 0) {
                fail_alone(r, err);
                goto done;
            }
        }
        if (stopping && !last) {
            if (o->log && is_root(r)) {
                progress_done(&r->progress);
                fprintf(o->log, "bert pretrain: stopped at step %ld; checkpoint saved in %s/checkpoint-%ld; "
                        "continue with --resume %s\n", s.step, o->out_dir, s.step, o->out_dir);
            }
            result = PRETRAIN_STOPPED;
            goto done;
        }
    }
    if (o->log && is_root(r)) {
        progress_done(&r->progress);
        if (r->encode.invalid_bytes)
            fprintf(o->log, "bert pretrain: warning: %ld invalid UTF-8 bytes in the corpus were dropped\n",
                    r->encode.invalid_bytes);
        fprintf(o->log, "bert pretrain: done; the model is in %s (Hugging Face layout), metrics in %s/metrics.jsonl\n",
                o->out_dir, o->out_dir);
    }
    result = PRETRAIN_DONE;
done:
    tear_down(r);
    return result;
}
