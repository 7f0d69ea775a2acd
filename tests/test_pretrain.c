/* test_pretrain.c — the pretraining loop end to end on a tiny synthetic
 * corpus: the loss falls, checkpoints are Hugging Face directories, an
 * interrupted and resumed run is bit-for-bit the run that never stopped, and
 * bad inputs give clear errors. */
#define _XOPEN_SOURCE 700
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "test_util.h"
#include "train/pretrain.h"
#include "io/run_dir.h"
#include "io/safetensors.h"
#include "train/trainer_state.h"
#include "train/adamw.h"
#include <math.h>
#include "io/fileio.h"
#include "io/checkpoint.h"
#include "model/model.h"
#include "core/rng.h"

enum { WORDS = 40 };

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
    (void)st; (void)flag; (void)ftw;
    return remove(path);
}
static void remove_tree(const char *dir) { nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS); }

/* A vocab of the specials and WORDS words, a config sized for it, and a
 * corpus of 16 documents whose sentences are one of five 8-word templates
 * (w0…w7, w8…w15, …), so a masked word is predictable from the rest of its
 * sentence. */
static void write_fixture(const char *dir) {
    char path[256], err[256];
    char text[1 << 16];
    int n = snprintf(text, sizeof text, "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\n");
    for (int w = 0; w < WORDS; w++) n += snprintf(text + n, sizeof text - n, "w%d\n", w);
    snprintf(path, sizeof path, "%s/vocab.txt", dir);
    ck_assert(atomic_write_file(path, text, (size_t)n, err, sizeof err) == 0);
    n = snprintf(text, sizeof text,
                 "{\"vocab_size\": %d, \"hidden_size\": 16, \"num_hidden_layers\": 2, \"num_attention_heads\": 2,"
                 " \"intermediate_size\": 32, \"max_position_embeddings\": 32, \"type_vocab_size\": 2,"
                 " \"hidden_act\": \"gelu\", \"hidden_dropout_prob\": 0.1, \"attention_probs_dropout_prob\": 0.1,"
                 " \"initializer_range\": 0.02, \"layer_norm_eps\": 1e-12}\n", WORDS + 5);
    snprintf(path, sizeof path, "%s/config.json", dir);
    ck_assert(atomic_write_file(path, text, (size_t)n, err, sizeof err) == 0);
    Rng rng = rng_seeded(3);
    n = 0;
    for (int doc = 0; doc < 16; doc++) {
        for (int s = 0; s < 8; s++) {
            int start = 8 * (int)rng_below(&rng, WORDS / 8);
            for (int k = 0; k < 8; k++) n += snprintf(text + n, sizeof text - n, "%sw%d", k ? " " : "", start + k);
            n += snprintf(text + n, sizeof text - n, "\n");
        }
        n += snprintf(text + n, sizeof text - n, "\n");
    }
    snprintf(path, sizeof path, "%s/corpus.txt", dir);
    ck_assert(atomic_write_file(path, text, (size_t)n, err, sizeof err) == 0);
}

typedef struct {
    char root[64];
    char vocab[128], config[128], corpus[128];
    const char *corpus_list[1];
} Fixture;

static void fixture_open(Fixture *f) {
    snprintf(f->root, sizeof f->root, "/tmp/bertc-pretrain-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(f->root));
    write_fixture(f->root);
    snprintf(f->vocab, sizeof f->vocab, "%s/vocab.txt", f->root);
    snprintf(f->config, sizeof f->config, "%s/config.json", f->root);
    snprintf(f->corpus, sizeof f->corpus, "%s/corpus.txt", f->root);
    f->corpus_list[0] = f->corpus;
}

static PretrainOptions fixture_options(Fixture *f, const char *out) {
    PretrainOptions o = pretrain_options_default();
    o.config_path = f->config;
    o.vocab_path = f->vocab;
    o.corpus = f->corpus_list;
    o.n_corpus = 1;
    o.out_dir = out;
    o.steps = 8;
    o.batch_size = 4;
    o.max_seq_length = 24;
    o.max_predictions = 4;
    o.lr = 1e-3;
    o.eval_fraction = 0.2;
    o.eval_every = 4;
    o.eval_batches = 2;
    o.save_every = 2;
    o.keep_checkpoints = 2;
    return o;
}

static char *read_file(const char *path, size_t *len) {
    char *data = NULL, err[256];
    ck_assert_msg(read_whole_file(path, &data, len, err, sizeof err) == 0, "%s", err);
    return data;
}

START_TEST(pretrain_resume_is_bit_exact) {
    /* 8 steps straight, against 5 steps, a stop, and a resume for the rest,
     * with dropout on: the final model.safetensors files are byte-identical. */
    Fixture f;
    fixture_open(&f);
    char straight[128], resumed[128], err[512];
    snprintf(straight, sizeof straight, "%s/straight", f.root);
    snprintf(resumed, sizeof resumed, "%s/resumed", f.root);
    PretrainOptions o = fixture_options(&f, straight);
    ck_assert_msg(pretrain_run(&o, err, sizeof err) == PRETRAIN_DONE, "%s", err);
    o = fixture_options(&f, resumed);
    o.stop_at_step = 5;
    ck_assert_msg(pretrain_run(&o, err, sizeof err) == PRETRAIN_STOPPED, "%s", err);
    char path[256];
    snprintf(path, sizeof path, "%s/checkpoint-5/trainer_state.safetensors", resumed);
    struct stat st;
    ck_assert_msg(stat(path, &st) == 0, "no checkpoint at the stop");
    o = fixture_options(&f, resumed);
    o.resume = resumed;
    ck_assert_msg(pretrain_run(&o, err, sizeof err) == PRETRAIN_DONE, "%s", err);
    size_t len_a, len_b;
    char pa[256], pb[256];
    snprintf(pa, sizeof pa, "%s/model.safetensors", straight);
    snprintf(pb, sizeof pb, "%s/model.safetensors", resumed);
    char *a = read_file(pa, &len_a), *b = read_file(pb, &len_b);
    ck_assert_int_eq(len_a, len_b);
#ifndef BERT_DOUBLE
    ck_assert_msg(memcmp(a, b, len_a) == 0, "resumed model differs from the uninterrupted one");
#else
    /* Checkpoints store F32 (what Hugging Face reads), so the double build
     * resumes from rounded parameters and moments: close, not identical. */
    BertModel ma, mb;
    ck_assert_msg(checkpoint_load(&ma, straight, BERT_HEADS_PRETRAINING, 0, 1, NULL, err, sizeof err) == 0, "%s", err);
    ck_assert_msg(checkpoint_load(&mb, resumed, BERT_HEADS_PRETRAINING, 0, 1, NULL, err, sizeof err) == 0, "%s", err);
    for (long i = 0; i < ma.num_params; i++)
        ck_assert_near(ma.params_memory[i], mb.params_memory[i], 1e-5);
    bert_free(&ma);
    bert_free(&mb);
#endif
    free(a);
    free(b);
    /* the metrics of the resumed run have each step once */
    snprintf(pa, sizeof pa, "%s/metrics.jsonl", resumed);
    char *metrics = read_file(pa, &len_a);
    int train_lines = 0;
    for (char *p = metrics; (p = strstr(p, "\"split\": \"train\"")); p++) train_lines++;
    ck_assert_int_eq(train_lines, 8);
    free(metrics);
    /* only the last two checkpoints are kept */
    snprintf(path, sizeof path, "%s/checkpoint-4", straight);
    ck_assert(stat(path, &st) != 0);
    snprintf(path, sizeof path, "%s/checkpoint-6", straight);
    ck_assert(stat(path, &st) == 0);
    remove_tree(f.root);
}
END_TEST

START_TEST(pretrain_learns_and_writes_a_loadable_checkpoint) {
    /* Masked words of template sentences are predictable: after 300 steps the
     * held-out MLM loss is below 0.6 ln V (the floor, not knowing which of a
     * template's hidden words was masked, is about ln 7 ≈ 0.51 ln V), and the
     * run directory loads back as a BertForPreTraining. */
    Fixture f;
    fixture_open(&f);
    char out[128], err[512];
    snprintf(out, sizeof out, "%s/run", f.root);
    PretrainOptions o = fixture_options(&f, out);
    o.steps = 300;
    o.batch_size = 8;
    o.lr = 5e-3;
    o.eval_every = 300;
    o.save_every = 0;
    ck_assert_msg(pretrain_run(&o, err, sizeof err) == PRETRAIN_DONE, "%s", err);
    char path[256];
    size_t len;
    snprintf(path, sizeof path, "%s/metrics.jsonl", out);
    char *metrics = read_file(path, &len);
    char *eval = strstr(metrics, "\"split\": \"eval\"");
    ck_assert_ptr_nonnull(eval);
    double mlm_loss = atof(strstr(eval, "\"mlm_loss\": ") + 12);
    ck_assert_msg(mlm_loss < 0.6 * log(WORDS + 5), "held-out MLM loss %.3f did not fall below 0.6 ln V", mlm_loss);
    /* The context-free floor: the words are near uniform, so about the 10 %
     * of predictions whose token stayed visible (copying it is right) plus
     * 0.8 / WORDS; the trained model, which uses its context, is above it. */
    double mlm_acc = atof(strstr(eval, "\"mlm_acc\": ") + 11);
    const char *floor_field = strstr(eval, "\"mlm_floor_acc\": ");
    ck_assert_msg(floor_field, "no mlm_floor_acc in %s", eval);
    double floor = atof(floor_field + 17);
    ck_assert_msg(floor > 0.02 && floor < 0.3, "context-free floor %.3f", floor);
    ck_assert_msg(mlm_acc > floor, "held-out MLM accuracy %.3f is not above the context-free floor %.3f", mlm_acc,
                  floor);
    /* and the left-word predictor beside it (tests/test_mlm_baselines.c checks its values) */
    const char *left_field = strstr(eval, "\"mlm_left_word_acc\": ");
    ck_assert_msg(left_field, "no mlm_left_word_acc in %s", eval);
    double left_word = atof(left_field + 21);
    ck_assert_msg(left_word > 0 && left_word < 1, "left-word accuracy %.3f", left_word);
    free(metrics);
    BertModel m;
    int heads = 0;
    ck_assert_msg(checkpoint_load(&m, out, BERT_HEADS_PRETRAINING, 0, 1, &heads, err, sizeof err) == 0, "%s", err);
    ck_assert(heads & BERT_HEADS_PRETRAINING);
    ck_assert_int_eq(m.config.vocab_size, WORDS + 5);
    snprintf(path, sizeof path, "%s/vocab.txt", out);
    struct stat st;
    ck_assert(stat(path, &st) == 0);
    bert_free(&m);
    remove_tree(f.root);
}
END_TEST

START_TEST(pretrain_reports_bad_inputs) {
    Fixture f;
    fixture_open(&f);
    char out[128], err[512], path[256];
    snprintf(out, sizeof out, "%s/bad", f.root);
    PretrainOptions o = fixture_options(&f, out);

    /* a vocab that disagrees with the config */
    o.vocab_path = "tests/data/tiny_vocab.txt";
    ck_assert(pretrain_run(&o, err, sizeof err) == PRETRAIN_FAILED);
    ck_assert_msg(strstr(err, "vocab_size") != NULL, "%s", err);
    o.vocab_path = f.vocab;

    /* a missing corpus file */
    const char *missing[1] = { "/nonexistent/corpus.txt" };
    o.corpus = missing;
    ck_assert(pretrain_run(&o, err, sizeof err) == PRETRAIN_FAILED);
    ck_assert_msg(strstr(err, "/nonexistent/corpus.txt") != NULL, "%s", err);

    /* an empty corpus */
    snprintf(path, sizeof path, "%s/empty.txt", f.root);
    ck_assert(atomic_write_file(path, "\n\n", 2, err, sizeof err) == 0);
    const char *empty[1] = { path };
    o.corpus = empty;
    ck_assert(pretrain_run(&o, err, sizeof err) == PRETRAIN_FAILED);
    ck_assert_msg(strstr(err, "empty.txt") != NULL, "%s", err);
    o.corpus = f.corpus_list;
    /* Refused runs leave nothing behind: the directory is made once everything is checked. */
    struct stat st;
    ck_assert_msg(stat(out, &st) != 0, "%s was created by runs that were refused", out);

    /* resuming from a directory with no checkpoint */
    o.resume = f.root;
    ck_assert(pretrain_run(&o, err, sizeof err) == PRETRAIN_FAILED);
    ck_assert_msg(strstr(err, "no checkpoint") != NULL, "%s", err);

    /* resuming with another batch size, and from a truncated checkpoint */
    o = fixture_options(&f, out);
    o.steps = 2;
    ck_assert_msg(pretrain_run(&o, err, sizeof err) == PRETRAIN_DONE, "%s", err);
    o.resume = out;
    o.steps = 4;
    o.batch_size = 3;
    ck_assert(pretrain_run(&o, err, sizeof err) == PRETRAIN_FAILED);
    ck_assert_msg(strstr(err, "batch_size") != NULL, "%s", err);
    o.batch_size = 4;
    snprintf(path, sizeof path, "%s/checkpoint-2/model.safetensors", out);
    ck_assert(truncate(path, 100) == 0);
    ck_assert(pretrain_run(&o, err, sizeof err) == PRETRAIN_FAILED);
    ck_assert_msg(strstr(err, "model.safetensors") != NULL, "%s", err);

    /* masking shares that add up to more than all chosen tokens */
    o = fixture_options(&f, out);
    o.mask_token_prob = 0.9;
    o.random_token_prob = 0.2;
    ck_assert(pretrain_run(&o, err, sizeof err) == PRETRAIN_FAILED);
    ck_assert_msg(strstr(err, "--mask-token-prob 0.9 and --random-token-prob 0.2"), "%s", err);

    /* options out of range, with --overwrite: refused before the earlier run is touched */
    o = fixture_options(&f, out);
    o.overwrite = true;
    o.max_seq_length = 64;   /* > max_position_embeddings 32 */
    ck_assert(pretrain_run(&o, err, sizeof err) == PRETRAIN_FAILED);
    ck_assert_msg(strstr(err, "max_position_embeddings") != NULL, "%s", err);
    snprintf(path, sizeof path, "%s/checkpoint-2", out);
    ck_assert_msg(stat(path, &st) == 0, "a refused --overwrite deleted the earlier run");
    remove_tree(f.root);
}
END_TEST

/* --out naming an earlier run: refused without --resume or --overwrite;
 * --overwrite starts again with one run's metrics; a directory another run
 * holds is refused, naming the holder; a damaged trainer state is refused. */
START_TEST(pretrain_guards_its_run_directory) {
    Fixture f;
    fixture_open(&f);
    char out[128], err[512], path[256];
    snprintf(out, sizeof out, "%s/run", f.root);
    PretrainOptions o = fixture_options(&f, out);
    o.steps = 2;
    ck_assert_msg(pretrain_run(&o, err, sizeof err) == PRETRAIN_DONE, "%s", err);
    ck_assert(pretrain_run(&o, err, sizeof err) == PRETRAIN_FAILED);
    ck_assert_msg(strstr(err, "already holds a run") && strstr(err, "--overwrite") && strstr(err, "--resume"),
                  "%s", err);

    o.overwrite = true;
    o.steps = 4;
    ck_assert_msg(pretrain_run(&o, err, sizeof err) == PRETRAIN_DONE, "%s", err);
    size_t len;
    snprintf(path, sizeof path, "%s/metrics.jsonl", out);
    char *metrics = read_file(path, &len);
    int step_one = 0;
    for (const char *p = metrics; (p = strstr(p, "\"step\": 1,")); p++) step_one++;
    ck_assert_msg(step_one == 1, "metrics.jsonl holds %d records of step 1 (two runs mixed):\n%s", step_one, metrics);
    free(metrics);
    snprintf(path, sizeof path, "%s/checkpoint-2", out);
    struct stat st;
    ck_assert(stat(path, &st) == 0);

    /* Another run holds the directory (a lock taken here stands for it). */
    RunDirLock other;
    ck_assert_msg(run_dir_lock(&other, out, "bert pretrain", err, sizeof err) == 0, "%s", err);
    o.overwrite = false;
    o.resume = out;
    o.steps = 6;
    ck_assert(pretrain_run(&o, err, sizeof err) == PRETRAIN_FAILED);
    char pid[32];
    snprintf(pid, sizeof pid, "pid %ld on ", (long)getpid());
    ck_assert_msg(strstr(err, "is in use by another run") && strstr(err, pid), "%s", err);
    run_dir_unlock(&other);

    /* Tampered trainer states: a negative step, a step past --steps, a
     * stream position inside a line (byte 7 is inside the first line), a
     * NaN moment. Each is the saved state rewritten with one value changed. */
    char state[256];
    snprintf(state, sizeof state, "%s/checkpoint-4/trainer_state.safetensors", out);
    char *original = read_file(state, &len);
    static const char *const keys[] = {
        "batch_size", "grad_accum", "max_seq_length", "max_predictions", "seed", "nsp_weight", "corpus_weights",
        "stream.file", "stream.offset", "stream.epoch", "stream.shard_rng", "stream.next_instance", "stream.rng",
        "steps", "warmup",
    };
    enum { N_KEYS = sizeof keys / sizeof keys[0], OFFSET_KEY = 8 };
    SafeTensors *file = safetensors_open(state, err, sizeof err);
    ck_assert_msg(file, "%s", err);
    long n_params = (long)safetensors_find(file, "adamw.m")->numel;
    safetensors_close(file);
    struct { long step; uint64_t offset; bool nan_moment; const char *expect; } tampered[] = {
        {-5, 0, false, "not a non-negative integer"},
        {99999, 0, false, "past --steps 6"},
        {4, 7, false, "inside a line"},
        {4, 0, true, "the optimizer state is damaged"},
    };
    for (size_t c = 0; c < sizeof tampered / sizeof tampered[0]; c++) {
        AdamWState adam;
        uint64_t values[N_KEYS], *outputs[N_KEYS];
        for (int k = 0; k < N_KEYS; k++) outputs[k] = &values[k];
        ck_assert(adamw_state_init(&adam, n_params) == 0);
        ck_assert(atomic_write_file(state, original, len, err, sizeof err) == 0);
        ck_assert_msg(trainer_state_load(state, &adam, keys, outputs, N_KEYS, err, sizeof err) == 0, "%s", err);
        adam.step = tampered[c].step;
        if (tampered[c].offset) values[OFFSET_KEY] = tampered[c].offset;
        if (tampered[c].nan_moment) adam.v[3] = NAN;
        TrainerValues tv = { .count = 0 };
        for (int k = 0; k < N_KEYS; k++) trainer_values_set(&tv, keys[k], values[k]);
        ck_assert_msg(trainer_state_save(state, &adam, &tv, err, sizeof err) == 0, "%s", err);
        adamw_state_free(&adam);
        snprintf(path, sizeof path, "%s/checkpoint-4", out);
        o.resume = path;
        ck_assert(pretrain_run(&o, err, sizeof err) == PRETRAIN_FAILED);
        ck_assert_msg(strstr(err, tampered[c].expect), "case %zu: %s", c, err);
    }
    ck_assert(atomic_write_file(state, original, len, err, sizeof err) == 0);
    free(original);
    o.resume = out;
    ck_assert_msg(pretrain_run(&o, err, sizeof err) == PRETRAIN_DONE, "%s", err);
    remove_tree(f.root);
}
END_TEST

/* --init DIR: a new run from DIR's weights, config and vocabulary (a new
 * schedule and sequence length), unlike --resume; a directory without
 * pretraining heads (a fine-tuned classifier) gets new ones. */
START_TEST(pretrain_init_starts_a_new_run_from_a_model_directory) {
    Fixture f;
    fixture_open(&f);
    char first[128], second[128], third[128], err[512], path[256];
    snprintf(first, sizeof first, "%s/first", f.root);
    snprintf(second, sizeof second, "%s/second", f.root);
    snprintf(third, sizeof third, "%s/third", f.root);
    PretrainOptions o = fixture_options(&f, first);
    o.steps = 3;
    ck_assert_msg(pretrain_run(&o, err, sizeof err) == PRETRAIN_DONE, "%s", err);

    /* With a vanishing rate and no decay, one step leaves DIR's weights as they were. */
    o = fixture_options(&f, second);
    o.config_path = o.vocab_path = NULL;
    o.init_dir = first;
    o.steps = 1;
    o.lr = 1e-12;
    o.weight_decay = 0;
    o.max_seq_length = 16;   /* another sequence length than the first run's 24 */
    ck_assert_msg(pretrain_run(&o, err, sizeof err) == PRETRAIN_DONE, "%s", err);
    BertModel a, b;
    int heads = 0;
    ck_assert_msg(checkpoint_load(&a, first, BERT_HEADS_PRETRAINING, 0, 1, &heads, err, sizeof err) == 0, "%s", err);
    ck_assert_msg(checkpoint_load(&b, second, BERT_HEADS_PRETRAINING, 0, 1, &heads, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(a.num_params, b.num_params);
    double worst = 0;
    for (long i = 0; i < a.num_params; i++) worst = fmax(worst, fabs((double)a.params_memory[i] - b.params_memory[i]));
    ck_assert_msg(worst < 1e-6, "the --init run did not start from %s (max |Δw| %g)", first, worst);
    bert_free(&a);
    bert_free(&b);
    snprintf(path, sizeof path, "%s/vocab.txt", second);
    struct stat st;
    ck_assert_msg(stat(path, &st) == 0, "the --init run's model has no vocab.txt");

    /* --init with --config is refused; so is a directory that is no model. */
    o.config_path = f.config;
    ck_assert(pretrain_run(&o, err, sizeof err) == PRETRAIN_FAILED);
    ck_assert_msg(strstr(err, "not both"), "%s", err);
    o.config_path = NULL;
    o.init_dir = f.root;   /* holds a config.json but no model.safetensors */
    o.overwrite = true;
    ck_assert(pretrain_run(&o, err, sizeof err) == PRETRAIN_FAILED);
    ck_assert_msg(strstr(err, "model.safetensors"), "%s", err);

    /* A fine-tuned classifier directory: no pretraining heads, new ones made. */
    o = fixture_options(&f, third);
    o.config_path = o.vocab_path = NULL;
    o.init_dir = "tests/data/reference_classifier";
    o.steps = 1;
    o.max_seq_length = 16;
    ck_assert_msg(pretrain_run(&o, err, sizeof err) == PRETRAIN_DONE, "%s", err);
    remove_tree(f.root);
}
END_TEST

static bool metrics_mention(const char *run, const char *text) {
    char path[256];
    size_t len;
    snprintf(path, sizeof path, "%s/metrics.jsonl", run);
    char *metrics = read_file(path, &len);
    bool found = strstr(metrics, text) != NULL;
    free(metrics);
    return found;
}

/* --no-nsp (nsp_weight 0) with the corpus read twice an epoch: masked LM
 * only (the loss is the MLM loss, no NSP figures in the metrics), the model
 * is still a BertForPreTraining checkpoint, a stopped run resumes bit-exact,
 * and resuming with another --nsp-weight or other corpus weights is refused
 * by name. */
START_TEST(pretrain_without_nsp_packs_rows_and_resumes) {
    Fixture f;
    fixture_open(&f);
    char straight[128], resumed[128], err[512];
    snprintf(straight, sizeof straight, "%s/straight", f.root);
    snprintf(resumed, sizeof resumed, "%s/resumed", f.root);
    double weights[1] = {2};
    PretrainOptions o = fixture_options(&f, straight);
    o.nsp_weight = 0;
    o.corpus_weights = weights;
    ck_assert_msg(pretrain_run(&o, err, sizeof err) == PRETRAIN_DONE, "%s", err);
    ck_assert(!metrics_mention(straight, "nsp_"));
    ck_assert(metrics_mention(straight, "\"mlm_floor_acc\""));
    BertModel m;
    int heads = 0;
    ck_assert_msg(checkpoint_load(&m, straight, BERT_HEADS_PRETRAINING, 0, 1, &heads, err, sizeof err) == 0, "%s", err);
    ck_assert(heads & BERT_HEADS_PRETRAINING);
    bert_free(&m);

    o = fixture_options(&f, resumed);
    o.nsp_weight = 0;
    o.corpus_weights = weights;
    o.stop_at_step = 3;
    ck_assert_msg(pretrain_run(&o, err, sizeof err) == PRETRAIN_STOPPED, "%s", err);
    o.stop_at_step = 0;
    o.resume = resumed;
    o.nsp_weight = 1;
    ck_assert(pretrain_run(&o, err, sizeof err) == PRETRAIN_FAILED);
    ck_assert_msg(strstr(err, "--nsp-weight"), "%s", err);
    o.nsp_weight = 0;
    o.corpus_weights = NULL;
    ck_assert(pretrain_run(&o, err, sizeof err) == PRETRAIN_FAILED);
    ck_assert_msg(strstr(err, "corpus weights"), "%s", err);
    o.corpus_weights = weights;
    ck_assert_msg(pretrain_run(&o, err, sizeof err) == PRETRAIN_DONE, "%s", err);
#ifndef BERT_DOUBLE
    char pa[256], pb[256];
    size_t len_a, len_b;
    snprintf(pa, sizeof pa, "%s/model.safetensors", straight);
    snprintf(pb, sizeof pb, "%s/model.safetensors", resumed);
    char *a = read_file(pa, &len_a), *b = read_file(pb, &len_b);
    ck_assert_msg(len_a == len_b && memcmp(a, b, len_a) == 0, "the resumed --no-nsp run differs");
    free(a);
    free(b);
#endif
    /* a weighted NSP loss: the step's loss is mlm + 0.5 nsp */
    o = fixture_options(&f, straight);
    o.overwrite = true;
    o.nsp_weight = 0.5;
    o.steps = 2;
    ck_assert_msg(pretrain_run(&o, err, sizeof err) == PRETRAIN_DONE, "%s", err);
    char path[256];
    snprintf(path, sizeof path, "%s/metrics.jsonl", straight);
    double loss = last_metric(straight, "train", "loss"), mlm = last_metric(straight, "train", "mlm_loss"),
           nsp = last_metric(straight, "train", "nsp_loss");
    ck_assert_msg(fabs(loss - (mlm + 0.5 * nsp)) < 1e-4 * loss, "loss %g, mlm %g, nsp %g", loss, mlm, nsp);
    o.nsp_weight = -1;
    ck_assert(pretrain_run(&o, err, sizeof err) == PRETRAIN_FAILED);
    ck_assert_msg(strstr(err, "--nsp-weight"), "%s", err);
    remove_tree(f.root);
}
END_TEST

/* --time-budget: the steps are fitted to the budget from measured steps
 * (the fitted count is what the run does and what a resumed run keeps); the
 * measurement leaves no trace (a budget run is a plain run of that many
 * steps, bit for bit); a budget too small for one step is refused. */
START_TEST(pretrain_time_budget_fits_the_steps_and_resumes_with_them) {
    Fixture f;
    fixture_open(&f);
    char budget[128], plain[128], err[512];
    snprintf(budget, sizeof budget, "%s/budget", f.root);
    snprintf(plain, sizeof plain, "%s/plain", f.root);
    PretrainOptions o = fixture_options(&f, budget);
    o.time_budget_minutes = 0.03;   /* 1.8 s */
    o.eval_every = 0;
    o.save_every = 0;
    o.stop_at_step = 3;
    ck_assert_msg(pretrain_run(&o, err, sizeof err) == PRETRAIN_STOPPED, "%s", err);
    o.stop_at_step = 0;
    o.resume = budget;
    o.steps = 5;   /* ignored: the budget run's own schedule is resumed */
    ck_assert_msg(pretrain_run(&o, err, sizeof err) == PRETRAIN_DONE, "%s", err);
    long fitted = (long)last_metric(budget, "train", "step");
    ck_assert_msg(fitted > 3, "the budget fitted %ld steps", fitted);
    /* the same number of steps as a plain run, with its warmup: the same model */
    o = fixture_options(&f, plain);
    o.eval_every = 0;
    o.save_every = 0;
    o.steps = fitted;
    ck_assert_msg(pretrain_run(&o, err, sizeof err) == PRETRAIN_DONE, "%s", err);
#ifndef BERT_DOUBLE
    char pa[256], pb[256];
    size_t len_a, len_b;
    snprintf(pa, sizeof pa, "%s/model.safetensors", budget);
    snprintf(pb, sizeof pb, "%s/model.safetensors", plain);
    char *a = read_file(pa, &len_a), *b = read_file(pb, &len_b);
    ck_assert_msg(len_a == len_b && memcmp(a, b, len_a) == 0, "the --time-budget run of %ld steps differs from a "
                  "plain run of %ld steps", fitted, fitted);
    free(a);
    free(b);
#endif
    o = fixture_options(&f, plain);
    o.overwrite = true;
    o.time_budget_minutes = 1e-6;
    ck_assert(pretrain_run(&o, err, sizeof err) == PRETRAIN_FAILED);
    ck_assert_msg(strstr(err, "--time-budget") && strstr(err, "nothing is left"), "%s", err);
    remove_tree(f.root);
}
END_TEST

Suite *pretrain_suite(void) {
    Suite *s = suite_create("pretrain");
    TCase *tc = tcase_create("run");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, pretrain_resume_is_bit_exact);
    tcase_add_test(tc, pretrain_learns_and_writes_a_loadable_checkpoint);
    tcase_add_test(tc, pretrain_reports_bad_inputs);
    tcase_add_test(tc, pretrain_guards_its_run_directory);
    tcase_add_test(tc, pretrain_init_starts_a_new_run_from_a_model_directory);
    tcase_add_test(tc, pretrain_without_nsp_packs_rows_and_resumes);
    tcase_add_test(tc, pretrain_time_budget_fits_the_steps_and_resumes_with_them);
    suite_add_tcase(s, tc);
    return s;
}
