/* classify.h — sequence classification with BERT (BertForSequenceClassification):
 * data sets built from a CSV/TSV table, length-bucketed batches, the evaluation
 * report (accuracy, macro-F1, per-class figures, confusion matrix), the
 * fine-tuning loop with exact resume, and evaluation/prediction with a saved
 * model directory. The `bert finetune|eval|predict` commands are thin wrappers
 * (train/cmd_finetune.c …). Definitions and layout: docs/finetuning.md. */
#ifndef BERT_CLASSIFY_H
#define BERT_CLASSIFY_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <cJSON.h>
#include "data/csv.h"
#include "data/label_map.h"
#include "model/model.h"
#include "data/tokenizer.h"
#include "train/distributed.h"

/* Examples tokenized once up front: example i is ids[offset[i] .. offset[i]+length[i])
 * (already [CLS] a [SEP] (b [SEP]), truncated to max_seq_length) with its segment ids. */
typedef struct {
    long n;
    int *ids, *types;  /* concatenated tokens of every example */
    long *offset;      /* [n] */
    int *length;       /* [n] real tokens, 2..max_seq_length */
    int *label;        /* [n] label id, or NULL for unlabelled data */
    long *row;         /* [n] 0-based data row of the table it came from */
    int max_length;    /* longest example */
} ClassifyDataset;

/* Tokenizes rows[0..n_rows) of TABLE (all rows when rows == NULL). pair_column
 * < 0: single sentences. label_column < 0 or labels == NULL: no labels.
 * Errors ("FILE:LINE: ...") for an empty text or a label not in LABELS. */
int classify_dataset_build(ClassifyDataset *ds, const CsvTable *table, const long *rows, long n_rows,
                           const Tokenizer *tok, int text_column, int pair_column, int label_column,
                           const LabelMap *labels, int max_seq_length, char *err, size_t err_len);
void classify_dataset_free(ClassifyDataset *ds);

/* Length bucketing: examples are shuffled, stably sorted by length bucket
 * (length / CLASSIFY_BUCKET_WIDTH), cut into batches of batch_size in that
 * order, and the batch order is shuffled. Each batch is padded only to its own
 * longest example. Without shuffle (evaluation): sorted by length, in order.
 * order[n] lists example indices; batch k is order[start[k] .. start[k+1]). */
#define CLASSIFY_BUCKET_WIDTH 4
typedef struct {
    long *order;
    long *start;       /* [n_batches + 1] */
    long n_batches;
} BatchPlan;

int classify_plan_batches(BatchPlan *plan, const ClassifyDataset *ds, int batch_size, bool shuffle,
                          uint64_t seed);
void classify_plan_free(BatchPlan *plan);

/* What padding costs: token positions the model runs (Σ over batches of
 * B · longest length) per real token, for PLAN, and for comparison for the
 * same examples in seeded random batches of batch_size padded to their longest
 * (no bucketing) and all padded to fixed_length (a fixed-shape input, as
 * Google's run_classifier). */
typedef struct {
    double bucketed, random_batches, fixed;
} PaddingCost;
PaddingCost classify_padding_cost(const ClassifyDataset *ds, const BatchPlan *plan, int batch_size,
                                  int fixed_length, uint64_t seed);

/* Fills the arrays (each at least B·T ints, and labels B ints when the data set
 * has labels) with batch k of PLAN, padded to the batch's longest example.
 * Returns the batch; its pointers are the arrays passed. */
BertBatch classify_make_batch(const ClassifyDataset *ds, const BatchPlan *plan, long k, int pad_id,
                              int *input_ids, int *token_type_ids, int *attention_mask, int *labels);

/* Told before the first batch of an evaluation or prediction pass (batch 0)
 * and after every batch: batches done and in all, examples done, and for
 * labelled data the running mean loss and accuracy (NAN without labels or
 * before any batch). For a progress line. */
typedef struct {
    void (*show)(void *ctx, long batch, long n_batches, long examples, double loss, double accuracy);
    void *ctx;
} ClassifyProgress;

/* Runs the model (eval mode) over every example; probs[n,K] = softmax(logits)
 * and predicted[n] = classify_argmax of them (predicted may be NULL), in
 * example order. Returns the mean cross-entropy over the examples when the
 * data set has labels (0 otherwise). The model must be reserved for
 * batch_size × ds->max_length. progress may be NULL. */
double classify_predict(BertModel *m, const ClassifyDataset *ds, int batch_size, double *probs,
                        int *predicted, const ClassifyProgress *progress);

/* The evaluation report. Definitions (docs/finetuning.md):
 *   accuracy = Σ_k C[k][k] / n, with C[t][p] the confusion matrix (rows true, columns predicted)
 *   precision_k = C[k][k] / Σ_t C[t][k]  (0 when class k is never predicted: sklearn's zero_division=0)
 *   recall_k    = C[k][k] / Σ_p C[k][p]  (0 when class k never occurs)
 *   f1_k        = 2·P·R / (P + R)        (0 when P + R = 0)
 *   macro_f1    = mean of f1_k over all K classes of the model. */
typedef struct {
    int K;
    long n;
    double loss, accuracy, macro_f1;
    long *confusion;   /* [K,K] */
    double *precision, *recall, *f1;   /* [K] */
    long *support;     /* [K] true examples of each class */
} ClassifyReport;

int classify_report_compute(ClassifyReport *r, const int *truth, const int *predicted, long n, int K,
                            double loss);
void classify_report_free(ClassifyReport *r);
/* Human-readable table with label names. */
void classify_report_print(FILE *f, const ClassifyReport *r, const LabelMap *labels);
/* {"loss", "accuracy", "macro_f1", "examples", "labels": [...], "per_class": {label: {precision,
 *  recall, f1, support}}, "confusion_matrix": {"labels": [...], "rows_true_cols_predicted": [[...]]}} */
cJSON *classify_report_json(const ClassifyReport *r, const LabelMap *labels);

/* Index of the largest of p[K] (the first on a tie). */
int classify_argmax(const double *p, int K);

/* Model-directory helpers shared by fine-tuning, eval and predict (the
 * tokenizer_config.json ones are in checkpoint.h).
 * DIR/training_args.json: the columns and max_seq_length eval/predict default to. */
int classify_write_training_args(const char *dir, const char *text_column, const char *pair_column,
                                 const char *label_column, int max_seq_length, char *err, size_t err_len);
/* classify_report_json written atomically to PATH. */
int classify_write_report(const char *path, const ClassifyReport *r, const LabelMap *labels, char *err,
                          size_t err_len);

/* A saved classifier directory opened for evaluation or prediction (both
 * classifier tensors must be in model.safetensors, and no weight may be NaN
 * or infinite: checkpoint_load_requiring): the model,
 * its tokenizer (do_lower_case from tokenizer_config.json, else uncased), the
 * labels from config.json and the columns and max_seq_length it was trained
 * with (training_args.json, when present). */
typedef struct {
    BertModel model;
    Tokenizer *tok;
    LabelMap labels;
    char text_column[128], pair_column[128], label_column[128];  /* "" if unknown */
    int max_seq_length;
} Classifier;

int classifier_open(Classifier *c, const char *dir, char *err, size_t err_len);

/* The precision classifier_open sets up the model in (and so the eval and
 * predict functions): false f32 (the default), true --precision bf16
 * (bert_use_bf16; classifier_open then fails without AVX512-BF16). */
void classify_set_precision_bf16(bool bf16);
void classifier_close(Classifier *c);

/* Text pairs need a second token type: refuses (naming model_name and the
 * column) when pair_column is set and the model's type_vocab_size is below 2. */
int classify_check_pairs(const BertModel *m, const char *model_name, const char *pair_column, char *err,
                         size_t err_len);

/* Eval and predict stream their input: CLASSIFY_CHUNK_ROWS rows are read,
 * predicted and reported or written before the next ones are read, so memory
 * does not grow with the file (eval keeps 8 bytes a row: the true and the
 * predicted label). A row's prediction does not depend on the chunk size.
 * The model's outputs must be finite: NaN or infinite probabilities (or loss)
 * are an error naming the model and the row's FILE:LINE. */
#define CLASSIFY_CHUNK_ROWS 4096

/* `bert eval`: the report of the classifier in DIR on a labelled file (columns
 * NULL = those of training). */
int classify_eval_file(const char *model_dir, const char *data_path, const char *text_column,
                       const char *pair_column, const char *label_column, int batch_size,
                       const ClassifyProgress *progress, ClassifyReport *report, LabelMap *labels,
                       char *err, size_t err_len);
/* The same, chunk_rows rows at a time (≤ 0: CLASSIFY_CHUNK_ROWS). */
int classify_eval_file_chunked(const char *model_dir, const char *data_path, const char *text_column,
                               const char *pair_column, const char *label_column, int batch_size, long chunk_rows,
                               const ClassifyProgress *progress, ClassifyReport *report, LabelMap *labels,
                               char *err, size_t err_len);

/* `bert predict`: writes the input columns, predicted_label and prob_<label>
 * per class, as CSV/TSV with the input's delimiter ("-" = stdin/stdout). A
 * file is written atomically; on stdout the rows of the chunks before an
 * error have already been written. */
int classify_predict_file(const char *model_dir, const char *input_path, const char *output_path,
                          const char *text_column, const char *pair_column, int batch_size,
                          const ClassifyProgress *progress, char *err, size_t err_len);
/* The same, chunk_rows rows at a time (≤ 0: CLASSIFY_CHUNK_ROWS). */
int classify_predict_file_chunked(const char *model_dir, const char *input_path, const char *output_path,
                                  const char *text_column, const char *pair_column, int batch_size, long chunk_rows,
                                  const ClassifyProgress *progress, char *err, size_t err_len);

/* Fine-tuning. */
typedef struct {
    const char *init_dir;          /* HF BERT or bert.c checkpoint; or NULL with from_scratch */
    bool from_scratch;
    const char *config_path, *vocab_path;   /* with from_scratch */
    const char *train_path, *dev_path;      /* dev NULL: a seeded held-out split */
    double dev_fraction;                    /* 0.1 */
    const char *text_column, *pair_column, *label_column;  /* pair NULL: single sentences */
    const char *out_dir;
    bool resume;                   /* continue from out_dir/checkpoint-last */
    bool bf16;                     /* --precision bf16: matrix products in bf16 (docs/bf16.md) */
    double dropout;                /* ≥ 0: train with this dropout, not the config's; < 0: the config's */
    const char *pooling;           /* --pooling cls|mean|max: what the classifier reads (saved as
                                    * config.json classifier_pooling); NULL: the model config's */
    const char *init_scheme;       /* --init-scheme (with from_scratch): config.json initializer;
                                    * NULL: the config's (BERT's truncated normal) */
    bool overwrite;                /* out_dir may hold an earlier run: delete its checkpoints, metrics and
                                    * model first (else that is refused) */
    double lr, warmup_fraction, weight_decay;   /* FINETUNE_LR_PRETRAINED, 0.1, 0.01 */
    int epochs, batch_size, max_seq_length;     /* 3, 32, 128 */
    uint64_t seed;
    bool metric_macro_f1;          /* best checkpoint by macro-F1 (else accuracy) */
    long save_steps;               /* also save checkpoint-last every N steps (0: epoch ends only) */
    long log_steps;                /* a train metrics record every N steps */
    long stop_at_step;             /* > 0: behave as if interrupted after this global step */
    volatile sig_atomic_t *stop;   /* set (by a signal handler) to stop after the current step */
    /* Reporting (may be NULL): the progress line and metrics.jsonl records. */
    void (*on_progress)(void *ctx, long step, long total_steps, const char *figures);
    void (*on_record)(void *ctx, const char *json_object);
    void *ctx;
    const ClassifyProgress *eval_progress;   /* the dev evaluations' progress (may be NULL) */
    FILE *log;                     /* notes and the per-epoch report (NULL: silent) */
    const DistContext *dist;       /* the ranks of a data-parallel job (docs/distributed.md); NULL: one
                                    * process. Rank 0 alone reports and writes OUT. */
} FinetuneOptions;

/* The default peak learning rates (docs/finetuning.md, "Learning rate"):
 * BERT's for a pretrained model, and for random initialisation the rate
 * measured best on the demo task, where BERT's 2e-5 barely leaves chance. */
#define FINETUNE_LR_PRETRAINED 2e-5
#define FINETUNE_LR_SCRATCH 2e-4

/* Default values as listed above. */
FinetuneOptions finetune_defaults(void);

typedef struct {
    long steps;                 /* global steps done */
    double best_metric;
    int best_epoch;             /* 1-based; 0 if never evaluated */
    double examples_per_second;
    bool interrupted;
} FinetuneResult;

/* Runs the whole fine-tuning. Returns 0 when finished, 1 when stopped early
 * (by *stop or stop_at_step; checkpoint-last is saved), −1 on error, −2 when
 * another rank failed and said why (err is empty). With o->dist of P > 1
 * ranks every rank calls it: each trains on its rows of every batch
 * (dist_rows) and evaluates its share of the dev examples; a failure after
 * set-up on one rank alone ends the job (dist_abort) after printing err. */
int classify_finetune(const FinetuneOptions *o, FinetuneResult *result, char *err, size_t err_len);

#endif
