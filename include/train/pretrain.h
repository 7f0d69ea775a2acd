/* pretrain.h — `bert pretrain` as a library function: masked-LM +
 * next-sentence pretraining of a BertForPreTraining on text files, with
 * AdamW as BERT's, periodic held-out evaluation, checkpoints in Hugging Face
 * layout and exact resume. The command in train/cmd_pretrain.c only parses
 * flags into PretrainOptions. Described in docs/pretraining.md. */
#ifndef BERT_PRETRAIN_H
#define BERT_PRETRAIN_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include "train/distributed.h"

typedef struct {
    const char *config_path;          /* model config (HF BertConfig JSON) */
    const char *vocab_path;           /* vocab.txt; its size must equal the config's vocab_size */
    const char *init_dir;             /* instead of config and vocab: start from this bert.c or Hugging
                                       * Face BERT directory's weights, config and vocabulary (continued or
                                       * task-adaptive pretraining: a new run, unlike resume) */
    bool cased;                       /* do not lowercase (a cased vocab) */
    const char *const *corpus;        /* training text files */
    int n_corpus;
    const double *corpus_weights;     /* [n_corpus] reads of each file per epoch (2.5: twice, then its
                                       * first half), or NULL: once each (docs/pretraining.md) */
    const char *const *eval_corpus;   /* held-out text files; NULL: the last eval_fraction of documents */
    int n_eval_corpus;
    bool prose, chapters;             /* corpus format (docs/pretraining_data.md) */
    const char *out_dir;              /* the run directory */
    const char *resume;               /* a run directory or one of its checkpoint-N directories, or NULL */
    bool overwrite;                   /* out_dir may hold an earlier run: delete its checkpoints,
                                       * metrics and model first (else that is refused) */
    long steps;                       /* optimizer steps in total */
    int batch_size, grad_accum;       /* sequences per micro-batch; micro-batches per step */
    double lr;                        /* peak learning rate */
    long warmup;                      /* warmup steps; < 0: 10% of steps */
    int max_seq_length, max_predictions;   /* max_predictions 0: ⌈max_seq_length · masked_lm_prob⌉ */
    double masked_lm_prob, short_seq_prob, eval_fraction;
    double mask_token_prob, random_token_prob;   /* 80/10/10: [MASK], a random token, (the rest) unchanged */
    bool whole_word_mask;
    double nsp_weight;                /* the next-sentence loss's weight (1 as BERT); 0: no NSP, and rows
                                       * are packed full from contiguous text (FULL-SENTENCES) */
    double time_budget_minutes;       /* > 0: --steps is fitted to this wall-clock budget from the
                                       * measured step time (warmup 10% unless given); saved, so a
                                       * resumed run keeps the same schedule */
    double weight_decay, max_grad_norm;
    bool bias_correction;
    uint64_t seed;
    long save_every, eval_every;      /* 0: only at the end */
    int eval_batches;
    int keep_checkpoints;             /* the last K checkpoint-N directories are kept */
    FILE *log;                        /* progress line and messages; NULL for silence */
    long stop_at_step;                /* > 0: save a checkpoint and stop when this step is reached */
    volatile sig_atomic_t *stop;      /* set (by a signal handler) to save and stop after this step */
    bool bf16;                        /* --precision bf16: matrix products in bf16 (docs/bf16.md) */
    double dropout;                   /* ≥ 0: train with this dropout, not the config's (which
                                       * checkpoints keep); < 0: the config's */
    const DistContext *dist;          /* the ranks of a data-parallel job (docs/distributed.md);
                                       * NULL: one process */
} PretrainOptions;

/* Google's defaults (batch 32, lr 1e-4, T 128, P 20, 0.15, 0.1, wd 0.01,
 * clip 1.0, no bias correction) and bert.c's (seed 12345, eval 1%, keep 3). */
PretrainOptions pretrain_options_default(void);

/* Outcome of a run. */
typedef enum {
    PRETRAIN_DONE = 0, PRETRAIN_STOPPED = 1, PRETRAIN_FAILED = -1,
    PRETRAIN_FAILED_ELSEWHERE = -2,   /* another rank failed to set up and has said why; err is empty */
} PretrainResult;

/* Runs (or resumes) pretraining. On PRETRAIN_FAILED err says what and where.
 * With opt->dist of P > 1 ranks, every rank calls it: each trains on its
 * rows of every global batch of opt->batch_size (dist_rows), the gradients
 * are summed before the one AdamW step, and rank 0 alone writes the run
 * directory, the metrics and the progress line. A failure after set-up on
 * one rank alone ends the job (dist_abort) after printing err to stderr. */
PretrainResult pretrain_run(const PretrainOptions *opt, char *err, size_t err_len);

#endif
