/* train_step.h — one optimizer step of training, the same for pretraining
 * (src/train/pretrain.c) and fine-tuning (src/train/finetune.c):
 *
 *   1. zero the gradients;
 *   2. for each of grad_accum micro-batches: forward with dropout on, backward
 *      with the loss scaled by 1/grad_accum, so the gradients add up to the
 *      mean over the micro-batches;
 *   3. [seam: reduce_gradients — data-parallel averaging, see TrainStepHooks];
 *   4. a non-finite loss stops the step with an error naming it;
 *   5. the learning rate from the schedule, lr_at_step(updates so far)
 *      (docs/optimizer.md (OP10)–(OP11));
 *   6. adamw_step: global-norm clipping at adamw.max_grad_norm and the AdamW
 *      update (docs/optimizer.md (OP1)–(OP9)); a non-finite gradient norm stops
 *      the step with an error naming it;
 *   7. [seam: after_update — e.g. refreshing a bf16 copy of the weights].
 *
 * Nothing is allocated by train_step; train_step_init allocates the optimizer
 * state and the parameter segments once. A step is deterministic: the same
 * model, state, batches and dropout keys give bitwise the same parameters for
 * any thread count (tests/test_training_step.c). */
#ifndef BERT_TRAIN_STEP_H
#define BERT_TRAIN_STEP_H

#include <stddef.h>
#include <stdint.h>
#include "core/real.h"
#include "model/model.h"
#include "train/adamw.h"

typedef struct {
    AdamWConfig adamw;          /* β1, β2, ε, weight decay, bias correction and the clip norm
                                 * max_grad_norm; adamw.lr is overwritten every step */
    real peak_lr;               /* the schedule: lr_at_step(step, warmup_steps, total_steps, peak_lr) */
    long warmup_steps, total_steps;
    int grad_accum;             /* micro-batches per optimizer step, >= 1 */
} TrainStepConfig;

/* What one step did; the loops print and record it. */
typedef struct {
    long step;                  /* this update's number, 1-based (adam.step after it) */
    double lr;                  /* the rate applied: the schedule's at step − 1 */
    double grad_norm;           /* global gradient norm before clipping (OP1) */
    double loss, mlm_loss, nsp_loss, cls_loss;   /* Σ over micro-batches of loss / grad_accum (a slice's
                                                 * loss times its share: BertBatch.first_row) */
    long sequences;             /* Σ B over the micro-batches */
    long mlm_predictions, mlm_correct, nsp_correct, cls_correct;   /* Σ over the micro-batches */
} TrainStepStats;

/* Where the two features that extend a step enter. Each hook may be NULL.
 *
 * reduce_gradients runs once per step, after the last micro-batch's backward
 * and before anything looks at the loss or the gradients (the finiteness
 * checks, clipping, AdamW). Data-parallel training sums there
 * (distributed.h DataParallel): each rank's gradient and figures are its
 * batch slice's share of the whole batch's, so the MPI_SUM of the gradients
 * and of the figures in *stats is the whole batch's mean, with no division,
 * so every rank clips by the same norm, applies the same update and takes
 * the same decision when something is not finite (a rank that stopped alone
 * would leave the others waiting in the next collective). Returns 0, or −1
 * with err filled; train_step then returns TRAIN_STEP_HOOK_FAILED with the
 * parameters unchanged.
 *
 * after_update runs once per step, after adamw_step has changed the
 * parameters, and only then (not after a failed step). Mixed precision
 * refreshes its bf16 copy of the weights there, from params[0..n), so the
 * next step's forward reads weights that match the f32 master copy. */
typedef struct {
    int (*reduce_gradients)(void *ctx, real *grads, long n, TrainStepStats *stats, char *err, size_t err_len);
    void *reduce_ctx;           /* reduce_gradients' ctx (data parallelism's) */
    void (*after_update)(void *ctx, const real *params, long n);
    void *update_ctx;           /* after_update's ctx (mixed precision's) */
} TrainStepHooks;

typedef struct {
    BertModel *model;           /* not owned; reserved for the largest micro-batch */
    TrainStepConfig config;
    AdamWState adam;            /* moments, and adam.step: updates applied so far (the step
                                 * counter, from which the rate is derived); a resume loads
                                 * it with trainer_state_load */
    ParamSegment *segments;     /* the model's tensors, with which ones decay */
    int n_segments;
    TrainStepHooks hooks;       /* zeroed by train_step_init: none */
} TrainStep;

/* Supplies micro-batch `micro` (0 .. grad_accum − 1) of the update that has
 * `step` (0-based: updates already applied) before it: fills *batch, whose
 * arrays must stay valid until that micro-batch's backward has run, and
 * *dropout_key, which names its dropout masks. Returns 0, or −1 with err
 * filled (e.g. the data stream failed). */
typedef int (*TrainNextBatch)(void *ctx, long step, int micro, BertBatch *batch, uint64_t *dropout_key,
                              char *err, size_t err_len);

/* Allocates the optimizer state (zeroed, step 0) and the segments of m;
 * copies config. Returns 0, or −1 with err filled (bad config, no memory). */
int train_step_init(TrainStep *ts, BertModel *m, const TrainStepConfig *config, char *err, size_t err_len);
void train_step_free(TrainStep *ts);

enum {
    TRAIN_STEP_OK = 0,
    TRAIN_STEP_BATCH_FAILED = -1,   /* next_batch failed; err is its message */
    TRAIN_STEP_NOT_FINITE = -2,     /* the loss or the gradient norm is NaN or infinite */
    TRAIN_STEP_HOOK_FAILED = -3,    /* reduce_gradients failed; err is its message */
};

/* Mixed precision: after every update, re-round the model's bf16 copy of
 * the weights (bert_use_bf16 must have made it). Installs after_update. */
void train_step_use_bf16(TrainStep *ts);

/* Runs one optimizer step (steps 1–7 above) and fills *stats. On
 * TRAIN_STEP_NOT_FINITE err reads "step N: the loss is not finite (…)" or
 * "step N: the gradient is not finite (…)", N numbered as stats.step; on any
 * error the parameters, the moments and adam.step are as before the call
 * (the gradients are not), so the caller's last checkpoint is still the
 * last good state and nothing NaN reaches the model. */
int train_step(TrainStep *ts, TrainNextBatch next_batch, void *ctx, TrainStepStats *stats, char *err,
               size_t err_len);

#endif
