/* cmd_pretrain.c — `bert pretrain`: flags → PretrainOptions → pretrain_run().
 * SIGINT/SIGTERM ask the run to save a checkpoint after the current step and
 * stop; a second signal stops at once. */
#include <limits.h>
#include <stdio.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "commands.h"
#include "options.h"
#include "train/pretrain.h"
#include "core/gemm.h"

static volatile sig_atomic_t stop_requested = 0;

static void on_signal(int sig) {
    if (stop_requested) {
        signal(sig, SIG_DFL);
        raise(sig);
    }
    stop_requested = sig;
}

/* --corpus FILE[:WEIGHT]: a name that is not a file but ends in :NUMBER is
 * FILE and its weight. Fills paths[i] (a copy when split) and weights[i];
 * returns whether any weight is not 1, or -1 after a message. */
static int split_corpus_weights(const StringList *corpus, const char **paths, char **copies, double *weights) {
    int weighted = 0;
    for (int i = 0; i < corpus->count; i++) {
        const char *item = corpus->items[i];
        paths[i] = item;
        weights[i] = 1;
        const char *colon = strrchr(item, ':');
        if (access(item, F_OK) == 0 || !colon || colon == item || colon[1] == 0) continue;
        char *end;
        double w = strtod(colon + 1, &end);
        if (*end != 0) continue;   /* not a weight: the name is a path, which opening will check */
        if (!(w > 0 && w <= 1000)) {
            fprintf(stderr, "bert pretrain: --corpus %s: the weight %s must be a number above 0 and at most 1000\n",
                    item, colon + 1);
            return -1;
        }
        copies[i] = strndup(item, (size_t)(colon - item));
        if (!copies[i]) { fprintf(stderr, "bert pretrain: out of memory\n"); return -1; }
        paths[i] = copies[i];
        weights[i] = w;
        if (w != 1) weighted = 1;
    }
    return weighted;
}

int cmd_pretrain(int argc, char **argv) {
    PretrainOptions o = pretrain_options_default();
    const char *config = NULL, *vocab = NULL, *out = NULL, *resume = NULL, *precision = "fp32", *init = NULL;
    StringList corpus = { 0 }, eval_corpus = { 0 };
    long batch = o.batch_size, accum = o.grad_accum, seq = o.max_seq_length, preds = o.max_predictions;
    long seed = (long)o.seed, eval_batches = o.eval_batches, keep = o.keep_checkpoints, threads = 0;
    bool cased = false, prose = false, chapters = false, wwm = false, bias_correction = false, quiet = false,
         overwrite = false, no_nsp = false;
    Option options[] = {
        { "--config", OPT_STRING, &config, "model config, Hugging Face BertConfig JSON (configs/*.json)", false, 0, 0 },
        { "--vocab", OPT_STRING, &vocab, "vocab.txt (e.g. from bert vocab); its size must match the config", false, 0, 0 },
        { "--corpus", OPT_STRINGS, &corpus, "training text files; FILE:W reads FILE W times per epoch (e.g. task.txt:3, or 0.5 for its first half)", false, 0, 0 },
        { "--out", OPT_STRING, &out, "run directory: the model (HF layout), checkpoint-N/, metrics.jsonl", false, 0, 0 },
        { "--init", OPT_STRING, &init, "start a new run from this bert.c or Hugging Face BERT directory (its weights, config and vocab; instead of --config and --vocab)", false, 0, 0 },
        { "--resume", OPT_STRING, &resume, "continue a run: its directory or one checkpoint-N in it", false, 0, 0 },
        { "--overwrite", OPT_FLAG, &overwrite, "--out holds an earlier run: delete its checkpoints, metrics and model and start again", false, 0, 0 },
        { "--steps", OPT_INT, &o.steps, "optimizer steps", false, 1, INT_MAX },
        { "--time-budget", OPT_REAL, &o.time_budget_minutes, "minutes of wall-clock time: fit --steps (and the 10% warmup) to it from the measured step time (0: off)", false, 0, 0 },
        { "--batch-size", OPT_INT, &batch, "sequences per micro-batch", false, 1, INT_MAX },
        { "--grad-accum", OPT_INT, &accum, "micro-batches per optimizer step", false, 1, INT_MAX },
        { "--lr", OPT_REAL, &o.lr, "peak learning rate", false, 0, 0 },
        { "--warmup", OPT_INT, &o.warmup, "linear warmup steps (-1: 10% of --steps)", false, -1, INT_MAX },
        { "--max-seq-length", OPT_INT, &seq, "tokens per sequence", false, 8, INT_MAX },
        { "--max-predictions", OPT_INT, &preds, "masked tokens per sequence at most (0: ⌈max-seq-length × mask-prob⌉, 20 for 128 × 0.15)", false, 1, INT_MAX },
        { "--mask-prob", OPT_REAL, &o.masked_lm_prob, "share of tokens chosen for prediction", false, 0, 0 },
        { "--mask-token-prob", OPT_REAL, &o.mask_token_prob, "of the chosen tokens, the share replaced by [MASK]", false, 0, 0 },
        { "--random-token-prob", OPT_REAL, &o.random_token_prob, "of the chosen tokens, the share replaced by a random token (the rest stay as they are)", false, 0, 0 },
        { "--short-seq-prob", OPT_REAL, &o.short_seq_prob, "share of shorter sequences", false, 0, 0 },
        { "--whole-word-mask", OPT_FLAG, &wwm, "mask all pieces of a word together", false, 0, 0 },
        { "--nsp-weight", OPT_REAL, &o.nsp_weight, "weight of the next-sentence loss (0: no NSP, as --no-nsp)", false, 0, 0 },
        { "--no-nsp", OPT_FLAG, &no_nsp, "masked LM only: rows packed full from contiguous text, a [SEP] between documents (RoBERTa's FULL-SENTENCES)", false, 0, 0 },
        { "--prose", OPT_FLAG, &prose, "corpus is wrapped prose (books): join lines, split sentences", false, 0, 0 },
        { "--chapters", OPT_FLAG, &chapters, "with --prose: each chapter is a document", false, 0, 0 },
        { "--cased", OPT_FLAG, &cased, "do not lowercase (for a cased vocab)", false, 0, 0 },
        { "--eval-corpus", OPT_STRINGS, &eval_corpus, "held-out text files (default: last --eval-fraction of documents)", false, 0, 0 },
        { "--eval-fraction", OPT_REAL, &o.eval_fraction, "share of documents held out when no --eval-corpus", false, 0, 0 },
        { "--eval-every", OPT_INT, &o.eval_every, "steps between held-out evaluations (0: at the end)", false, 0, INT_MAX },
        { "--eval-batches", OPT_INT, &eval_batches, "held-out batches per evaluation", false, 1, INT_MAX },
        { "--save-every", OPT_INT, &o.save_every, "steps between checkpoints (0: at the end)", false, 0, INT_MAX },
        { "--keep", OPT_INT, &keep, "checkpoints kept", false, 1, INT_MAX },
        { "--weight-decay", OPT_REAL, &o.weight_decay, "AdamW decoupled weight decay", false, 0, 0 },
        { "--max-grad-norm", OPT_REAL, &o.max_grad_norm, "global gradient-norm clip (0: off)", false, 0, 0 },
        { "--bias-correction", OPT_FLAG, &bias_correction, "Adam bias correction (off in Google's BERT optimizer)", false, 0, 0 },
        { "--stop-at", OPT_INT, &o.stop_at_step, "save a checkpoint and stop at this step, exit status 128 (0: run to --steps)", false, 0, INT_MAX },
        { "--seed", OPT_INT, &seed, "seed for initialisation, data order, masking and dropout", false, 0, LONG_MAX },
        { "--dropout", OPT_REAL, &o.dropout, "dropout while pretraining, e.g. 0 (-1: the config's); config.json keeps the config's value for fine-tuning", false, 0, 0 },
        { "--precision", OPT_STRING, &precision, PRECISION_HELP, false, 0, 0 },
        { "--threads", OPT_INT, &threads, "threads (0: all cores, divided among the ranks mpirun starts on a machine)", false, 0, MAX_THREADS },
        { "--quiet", OPT_FLAG, &quiet, "no progress line", false, 0, 0 },
    };
    int n = sizeof options / sizeof options[0];
    int status = options_parse("pretrain", "Pretrains a BERT (masked LM + next sentence) on text files.\n"
                               "Exit status: 0 when --steps are done; 128 when it stopped at --stop-at; 128+N when\n"
                               "signal N (SIGINT 2, SIGTERM 15) stopped it; in both cases after saving a checkpoint\n"
                               "to continue from with --resume. 1 on an error, 2 on wrong options.",
                               options, n, argc, argv);
    if (status) { options_free(options, n); return status == 1 ? 0 : status; }
    if (init && (config || vocab)) {
        fprintf(stderr, "bert pretrain: --init %s brings its config and vocabulary: give --init or --config and "
                        "--vocab, not both\n", init);
        options_free(options, n);
        return 2;
    }
    bool have_model = init || (config && vocab);
    if (!resume && (!have_model || !corpus.count || !out)) {
        fprintf(stderr, "bert pretrain: need --config and --vocab (or --init DIR), --corpus and --out "
                        "(or --resume RUN_DIR) (see bert pretrain --help)\n");
        options_free(options, n);
        return 2;
    }
    if (parse_precision("pretrain", precision, &o.bf16) != 0) {
        options_free(options, n);
        return 2;
    }
    if (resume && overwrite) {
        fprintf(stderr, "bert pretrain: --resume continues the run in %s and --overwrite deletes it: give one\n", resume);
        options_free(options, n);
        return 2;
    }
    if (resume && (!have_model || !corpus.count)) {
        fprintf(stderr, "bert pretrain: --resume needs the run's --config and --vocab (or --init) and --corpus again\n");
        options_free(options, n);
        return 2;
    }
    if (no_nsp) {
        if (o.nsp_weight != 1 && o.nsp_weight != 0) {
            fprintf(stderr, "bert pretrain: --no-nsp and --nsp-weight %g disagree: give one\n", o.nsp_weight);
            options_free(options, n);
            return 2;
        }
        o.nsp_weight = 0;
    }
    const char **corpus_paths = calloc((size_t)corpus.count + 1, sizeof *corpus_paths);
    char **corpus_copies = calloc((size_t)corpus.count + 1, sizeof *corpus_copies);
    double *weights = calloc((size_t)corpus.count + 1, sizeof *weights);
    int weighted = corpus_paths && corpus_copies && weights ? split_corpus_weights(&corpus, corpus_paths,
                                                                                   corpus_copies, weights) : -1;
    if (weighted < 0) {
        for (int i = 0; corpus_copies && i < corpus.count; i++) free(corpus_copies[i]);
        free(corpus_paths);
        free(corpus_copies);
        free(weights);
        options_free(options, n);
        return 2;
    }
    o.config_path = config;
    o.init_dir = init;
    o.vocab_path = vocab;
    o.corpus = corpus_paths;
    o.n_corpus = corpus.count;
    o.corpus_weights = weighted ? weights : NULL;
    o.eval_corpus = eval_corpus.count ? eval_corpus.items : NULL;
    o.n_eval_corpus = eval_corpus.count;
    o.out_dir = out ? out : resume;
    o.resume = resume;
    o.overwrite = overwrite;
    o.batch_size = (int)batch;
    o.grad_accum = (int)accum;
    o.max_seq_length = (int)seq;
    o.max_predictions = (int)preds;
    o.eval_batches = (int)eval_batches;
    o.keep_checkpoints = (int)keep;
    o.seed = (uint64_t)seed;
    o.cased = cased;
    o.prose = prose;
    o.chapters = chapters;
    o.whole_word_mask = wwm;
    o.bias_correction = bias_correction;
    o.log = quiet ? NULL : stderr;
    o.stop = &stop_requested;

    char err[1024];
    DistContext dist;
    if (dist_init(&dist, NULL, NULL, err, sizeof err) != 0) {
        fprintf(stderr, "bert pretrain: %s\n", err);
        for (int i = 0; i < corpus.count; i++) free(corpus_copies[i]);
        free(corpus_paths);
        free(corpus_copies);
        free(weights);
        options_free(options, n);
        return 1;
    }
    o.dist = &dist;
    bert_runtime_init((int)threads);
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    PretrainResult result = pretrain_run(&o, err, sizeof err);
    for (int i = 0; i < corpus.count; i++) free(corpus_copies[i]);
    free(corpus_paths);
    free(corpus_copies);
    free(weights);
    options_free(options, n);
    dist_finalize(&dist);
    if (result == PRETRAIN_FAILED_ELSEWHERE) return 1;
    if (result == PRETRAIN_FAILED) {
        fprintf(stderr, "bert pretrain: %s\n", err);
        return 1;
    }
    if (result == PRETRAIN_STOPPED) return 128 + (int)stop_requested;
    return 0;
}
