/* cmd_finetune.c — `bert finetune`: fine-tunes BertForSequenceClassification on
 * a CSV/TSV file (src/finetune.c does the work). SIGINT/SIGTERM stop after
 * the current step, save OUT/checkpoint-last and exit 130/143. */
#include <signal.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include "commands.h"
#include "options.h"
#include "train/progress.h"
#include "train/classify.h"
#include "core/gemm.h"

static volatile sig_atomic_t stop_signal = 0;
static void on_signal(int sig) { stop_signal = sig; }

static bool progress_started = false;
static void show_progress(void *ctx, long step, long total, const char *figures) {
    Progress *p = ctx;
    if (!progress_started) {
        p->first_step = step - 1;
        p->start_time = now_seconds();
        progress_started = true;
    }
    p->total_steps = total;
    progress_show(p, step, figures);
}

/* OUT/metrics.jsonl is opened at the first record, once the run has been
 * checked and OUT made and locked (classify_finetune), so a refused run
 * leaves nothing behind. */
static const char *metrics_path_for_records = NULL;
static void record_metrics(void *ctx, const char *json) {
    Progress *p = ctx;
    if (!p->metrics && metrics_path_for_records) {
        p->metrics = fopen(metrics_path_for_records, "a");
        if (!p->metrics) fprintf(stderr, "bert finetune: warning: %s: cannot open for appending; "
                                         "no metrics are recorded\n", metrics_path_for_records);
        metrics_path_for_records = NULL;
    }
    progress_record(p, json);
}

static const char summary[] =
    "Fine-tunes BERT for sequence classification (BertForSequenceClassification) on a CSV/TSV file\n"
    "with a header row, from --init DIR (a Hugging Face BERT directory or a bert.c pretraining\n"
    "checkpoint; MLM/NSP heads are dropped, a new classifier is initialised) or --from-scratch.\n"
    "Labels come from the training file's label column. After every epoch the dev set is evaluated.\n\n"
    "Output (docs/finetuning.md):\n"
    "  OUT/                   the best model by --metric, a Hugging Face directory: config.json\n"
    "                         (id2label, label2id), model.safetensors, vocab.txt, tokenizer_config.json,\n"
    "                         training_args.json, eval_report.json (its dev evaluation)\n"
    "  OUT/checkpoint-last/   the latest model + trainer_state.safetensors, for --resume OUT\n"
    "  OUT/metrics.jsonl      train and eval records (bert plot OUT draws them)\n"
    "To resume, run the same command again with --resume OUT.\n"
    "Exit status: 0 when done; 130 (SIGINT) or 143 (SIGTERM) when a signal stopped it after the\n"
    "current step, with checkpoint-last saved; 1 on an error; 2 on wrong options.";

int cmd_finetune(int argc, char **argv) {
    FinetuneOptions o = finetune_defaults();
    const char *init = NULL, *config = NULL, *vocab = NULL, *train = NULL, *dev = NULL, *text = NULL,
               *pair = NULL, *label = NULL, *out = NULL, *resume = NULL, *metric = "accuracy", *precision = "fp32",
               *pooling = NULL, *init_scheme = NULL;
    bool from_scratch = false, overwrite = false;
    long epochs = o.epochs, batch = o.batch_size, msl = o.max_seq_length, seed = (long)o.seed,
         threads = 0, save_steps = o.save_steps, log_steps = o.log_steps;
    double lr = 0, warmup = o.warmup_fraction, wd = o.weight_decay, dev_fraction = o.dev_fraction;
    Option options[] = {
        { "--init", OPT_STRING, &init, "model directory to start from (HF BERT or bert.c checkpoint)", false, 0, 0 },
        { "--from-scratch", OPT_FLAG, &from_scratch, "random initialisation instead (needs --config, --vocab)", false, 0, 0 },
        { "--config", OPT_STRING, &config, "config.json for --from-scratch", false, 0, 0 },
        { "--vocab", OPT_STRING, &vocab, "vocab.txt for --from-scratch (uncased)", false, 0, 0 },
        { "--train", OPT_STRING, &train, "training CSV/TSV (.tsv/.tab: tab-separated)", true, 0, 0 },
        { "--dev", OPT_STRING, &dev, "dev CSV/TSV (default: hold out --dev-fraction of --train)", false, 0, 0 },
        { "--dev-fraction", OPT_REAL, &dev_fraction, "seeded held-out fraction without --dev", false, 0, 0 },
        { "--text-column", OPT_STRING, &text, "column with the text", true, 0, 0 },
        { "--text-pair-column", OPT_STRING, &pair, "second text: [CLS] A [SEP] B [SEP]", false, 0, 0 },
        { "--label-column", OPT_STRING, &label, "column with the label", true, 0, 0 },
        { "--out", OPT_STRING, &out, "output directory", false, 0, 0 },
        { "--resume", OPT_STRING, &resume, "continue the run in this directory (from checkpoint-last)", false, 0, 0 },
        { "--pooling", OPT_STRING, &pooling, "classifier input: cls (pooler on [CLS], BERT), mean or max over the tokens (default: the model's, cls)", false, 0, 0 },
        { "--init-scheme", OPT_STRING, &init_scheme, "with --from-scratch: bert (truncated normal), xavier_uniform, xavier_normal, he_normal, lecun_normal (default: the config's, bert)", false, 0, 0 },
        { "--dropout", OPT_REAL, &o.dropout, "dropout while fine-tuning (-1: the model config's); config.json keeps the config's value", false, 0, 0 },
        { "--precision", OPT_STRING, &precision, PRECISION_HELP, false, 0, 0 },
        { "--overwrite", OPT_FLAG, &overwrite, "--out holds an earlier run: delete its checkpoints, metrics and model and start again", false, 0, 0 },
        { "--lr", OPT_REAL, &lr, "peak learning rate (0: 2e-5 from --init, BERT's; 2e-4 with --from-scratch, measured in docs/finetuning.md)", false, 0, 0 },
        { "--warmup", OPT_REAL, &warmup, "fraction of steps with linear warmup", false, 0, 0 },
        { "--weight-decay", OPT_REAL, &wd, "AdamW weight decay", false, 0, 0 },
        { "--epochs", OPT_INT, &epochs, "passes over the training data", false, 1, INT_MAX },
        { "--batch-size", OPT_INT, &batch, "examples per step", false, 1, INT_MAX },
        { "--max-seq-length", OPT_INT, &msl, "tokens per example, [CLS] and [SEP] included", false, 3, INT_MAX },
        { "--metric", OPT_STRING, &metric, "keeps the best model by accuracy or macro_f1", false, 0, 0 },
        { "--seed", OPT_INT, &seed, "seed for data order, dropout, init and held-out split", false, 0, LONG_MAX },
        { "--save-steps", OPT_INT, &save_steps, "also save checkpoint-last every N steps (0: epoch ends)", false, 0, INT_MAX },
        { "--log-steps", OPT_INT, &log_steps, "a train record in metrics.jsonl every N steps", false, 0, INT_MAX },
        { "--threads", OPT_INT, &threads, "threads (0: all cores)", false, 0, MAX_THREADS },
    };
    int n_opt = sizeof options / sizeof options[0];
    int status = options_parse("finetune", summary, options, n_opt, argc, argv);
    if (status) return status == 1 ? 0 : status;
    if (resume && out && strcmp(resume, out) != 0) {
        fprintf(stderr, "bert finetune: --resume %s and --out %s name different directories\n", resume, out);
        return 2;
    }
    if (!out) out = resume;
    if (parse_precision("finetune", precision, &o.bf16) != 0) return 2;
    if (resume && overwrite) {
        fprintf(stderr, "bert finetune: --resume continues the run in %s and --overwrite deletes it: give one\n", out);
        return 2;
    }
    if (!out) { fprintf(stderr, "bert finetune: give --out DIR (see bert finetune --help)\n"); return 2; }
    if (!resume && !from_scratch == !init) {
        fprintf(stderr, "bert finetune: give exactly one of --init DIR and --from-scratch (see bert finetune --help)\n");
        return 2;
    }
    if (from_scratch && (!config || !vocab)) {
        fprintf(stderr, "bert finetune: --from-scratch needs --config FILE and --vocab FILE\n");
        return 2;
    }
    ClassifierPooling pooling_kind;
    if (pooling && bert_parse_pooling(pooling, &pooling_kind) != 0) {
        fprintf(stderr, "bert finetune: --pooling must be cls, mean or max, not '%s'\n", pooling);
        return 2;
    }
    InitScheme scheme;
    if (init_scheme && bert_parse_init_scheme(init_scheme, &scheme) != 0) {
        fprintf(stderr, "bert finetune: --init-scheme must be bert, xavier_uniform, xavier_normal, he_normal or "
                        "lecun_normal, not '%s'\n", init_scheme);
        return 2;
    }
    if (init_scheme && !from_scratch) {
        fprintf(stderr, "bert finetune: --init-scheme goes with --from-scratch (an --init model is already trained; "
                        "its new classifier takes BERT's initialisation)\n");
        return 2;
    }
    if (strcmp(metric, "accuracy") != 0 && strcmp(metric, "macro_f1") != 0) {
        fprintf(stderr, "bert finetune: --metric must be accuracy or macro_f1, not '%s'\n", metric);
        return 2;
    }
    if (lr == 0) lr = from_scratch ? FINETUNE_LR_SCRATCH : FINETUNE_LR_PRETRAINED;
    if (epochs < 1 || batch < 1 || msl < 3 || !(lr > 0) || threads < 0 || warmup < 0 || warmup > 1 ||
        !(dev_fraction > 0 && dev_fraction < 1)) {
        fprintf(stderr, "bert finetune: need --epochs, --batch-size >= 1, --max-seq-length >= 3, --lr > 0, "
                        "--warmup in [0,1], --dev-fraction in (0,1), --threads >= 0\n");
        return 2;
    }
    char err[1024], metrics_path[4200];
    DistContext dist;
    if (dist_init(&dist, NULL, NULL, err, sizeof err) != 0) {
        fprintf(stderr, "bert finetune: %s\n", err);
        return 1;
    }
    o.dist = &dist;
    bool root = dist_is_root(&dist);
    bert_runtime_init((int)threads);
    o.init_dir = resume ? NULL : init;
    o.from_scratch = !resume && from_scratch;
    o.config_path = config;
    o.vocab_path = vocab;
    o.train_path = train;
    o.dev_path = dev;
    o.dev_fraction = dev_fraction;
    o.text_column = text;
    o.pair_column = pair;
    o.label_column = label;
    o.out_dir = out;
    o.resume = resume != NULL;
    o.overwrite = overwrite;
    o.pooling = pooling;
    o.init_scheme = init_scheme;
    o.lr = lr;
    o.warmup_fraction = warmup;
    o.weight_decay = wd;
    o.epochs = (int)epochs;
    o.batch_size = (int)batch;
    o.max_seq_length = (int)msl;
    o.seed = (uint64_t)seed;
    o.metric_macro_f1 = strcmp(metric, "macro_f1") == 0;
    o.save_steps = save_steps;
    o.log_steps = log_steps;
    o.stop = &stop_signal;
    o.log = stdout;

    /* Rank 0 alone writes OUT and reports. */
    snprintf(metrics_path, sizeof metrics_path, "%s/metrics.jsonl", out);
    if (root) metrics_path_for_records = metrics_path;
    Progress progress;
    progress_open(&progress, NULL, 0, 1, NULL, 0);
    o.on_progress = show_progress;
    o.on_record = record_metrics;
    o.ctx = &progress;
    Progress dev_line;
    progress_open_line(&dev_line, "dev batch");
    ClassifyProgress dev_progress = { progress_show_evaluation, &dev_line };
    o.eval_progress = &dev_progress;
    struct sigaction sa = { 0 };
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    FinetuneResult result;
    int rc = classify_finetune(&o, &result, err, sizeof err);
    if (root) progress_done(&progress);
    progress_close(&progress);
    dist_finalize(&dist);
    if (rc == -2) return 1;   /* another rank failed and said why */
    if (rc < 0) { fprintf(stderr, "bert finetune: %s\n", err); return 1; }
    if (!root) return rc == 1 ? (stop_signal == SIGTERM ? 143 : 130) : 0;
    if (rc == 1) {
        fprintf(stderr, "bert finetune: stopped after step %ld; %s/checkpoint-last is saved. To continue, run "
                        "the same command with --resume %s\n", result.steps, out, out);
        return stop_signal == SIGTERM ? 143 : 130;
    }
    printf("done: %ld steps, %.1f examples/s; best dev %s %.4f (epoch %d), model in %s\n", result.steps,
           result.examples_per_second, metric, result.best_metric, result.best_epoch, out);
    return 0;
}
