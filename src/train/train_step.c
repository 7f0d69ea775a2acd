/* train_step.c — one optimizer step (gradient accumulation, clipping, the
 * learning-rate schedule, AdamW, the finiteness checks), shared by the
 * pretraining and fine-tuning loops. The order of the stages and the seams
 * for data-parallel and mixed-precision training: include/train/train_step.h. */
#include <stdlib.h>
#include <string.h>
#include "train/train_step.h"
#include "train/lr_schedule.h"
#include "io/fileio.h"

int train_step_init(TrainStep *ts, BertModel *m, const TrainStepConfig *config, char *err, size_t err_len) {
    memset(ts, 0, sizeof *ts);
    if (config->grad_accum < 1) {
        format_error(err, err_len, "gradient accumulation must be at least 1 micro-batch, not %d", config->grad_accum);
        return -1;
    }
    ts->model = m;
    ts->config = *config;
    ts->segments = malloc(sizeof(ParamSegment) * (size_t)(m->num_tensors > 0 ? m->num_tensors : 1));
    if (!ts->segments || adamw_state_init(&ts->adam, m->num_params) != 0) {
        free(ts->segments);
        ts->segments = NULL;
        format_error(err, err_len, "out of memory for the optimizer state of %ld parameters", m->num_params);
        return -1;
    }
    ts->n_segments = bert_param_segments(m, ts->segments);
    if (adamw_check_segments(ts->segments, ts->n_segments, m->num_params, err, err_len) != 0) {
        train_step_free(ts);
        return -1;
    }
    return 0;
}

void train_step_free(TrainStep *ts) {
    adamw_state_free(&ts->adam);
    free(ts->segments);
    ts->segments = NULL;
    ts->n_segments = 0;
}

int train_step(TrainStep *ts, TrainNextBatch next_batch, void *ctx, TrainStepStats *stats, char *err,
               size_t err_len) {
    BertModel *m = ts->model;
    int accum = ts->config.grad_accum;
    long step = ts->adam.step;
    memset(stats, 0, sizeof *stats);
    stats->step = step + 1;

    bert_zero_grad(m);
    for (int micro = 0; micro < accum; micro++) {
        BertBatch batch;
        uint64_t dropout_key = 0;
        if (next_batch(ctx, step, micro, &batch, &dropout_key, err, err_len) != 0) return TRAIN_STEP_BATCH_FAILED;
        /* A rank's slice of a batch smaller than the ranks can be empty: it
         * adds nothing, but still takes part in reduce_gradients. */
        if (batch.B == 0) continue;
        /* Every id inside the model's tables, before any is looked up. */
        char why[256];
        if (bert_check_batch(m, &batch, why, sizeof why) != 0) {
            format_error(err, err_len, "step %ld, micro-batch %d: %s", step + 1, micro, why);
            return TRAIN_STEP_BATCH_FAILED;
        }
        bert_forward(m, &batch, true, dropout_key);
        /* The mean over micro-batches: each one's gradient is scaled by 1/accum. */
        bert_backward(m, (real)(1.0 / accum));
        /* A slice's losses count by its share of the whole batch, as its
         * gradient does (model.h BertBatch.first_row), so the ranks' figures
         * sum to the whole batch's. A whole batch has shares 1. */
        double sequence_share = batch.whole_rows > 0 ? (double)batch.B / (double)batch.whole_rows : 1.0;
        double mlm_share = batch.whole_predictions > 0 ? (double)m->M / (double)batch.whole_predictions : 1.0;
        stats->mlm_loss += m->mlm_loss * mlm_share / accum;
        stats->nsp_loss += m->nsp_loss * sequence_share / accum;
        stats->cls_loss += m->cls_loss * sequence_share / accum;
        stats->loss += (m->mlm_loss * mlm_share + m->nsp_loss_weight * m->nsp_loss * sequence_share +
                        m->cls_loss * sequence_share) / accum;
        stats->sequences += batch.B;
        stats->mlm_predictions += m->M;
        stats->mlm_correct += m->mlm_correct;
        stats->nsp_correct += m->nsp_correct;
        stats->cls_correct += m->cls_correct;
    }

    /* Seam (a): data-parallel gradient averaging, between the last backward
     * and everything that reads the gradients or the loss. */
    if (ts->hooks.reduce_gradients &&
        ts->hooks.reduce_gradients(ts->hooks.reduce_ctx, m->grads_memory, m->num_params, stats, err, err_len) != 0)
        return TRAIN_STEP_HOOK_FAILED;

    if (!isfinite(stats->loss)) {
        format_error(err, err_len, "step %ld: the loss is not finite (%g)", stats->step, stats->loss);
        return TRAIN_STEP_NOT_FINITE;
    }
    ts->config.adamw.lr = lr_at_step(step, ts->config.warmup_steps, ts->config.total_steps, ts->config.peak_lr);
    stats->lr = (double)ts->config.adamw.lr;
    /* Clipping by the global norm happens inside adamw_step, on the fly;
     * a non-finite norm leaves parameters, moments and step untouched. */
    stats->grad_norm = adamw_step(&ts->adam, m->params_memory, m->grads_memory, ts->segments, ts->n_segments,
                                  &ts->config.adamw);
    if (!isfinite(stats->grad_norm)) {
        format_error(err, err_len, "step %ld: the gradient is not finite (global norm %g, loss %g)", stats->step,
                     stats->grad_norm, stats->loss);
        return TRAIN_STEP_NOT_FINITE;
    }

    /* Seam (b): whatever derives from the updated weights (a bf16 copy). */
    if (ts->hooks.after_update) ts->hooks.after_update(ts->hooks.update_ctx, m->params_memory, m->num_params);
    return TRAIN_STEP_OK;
}

static void refresh_bf16_weights(void *ctx, const real *params, long n) {
    (void)params;
    (void)n;
    bert_refresh_bf16(ctx);
}

void train_step_use_bf16(TrainStep *ts) {
    ts->hooks.after_update = refresh_bf16_weights;
    ts->hooks.update_ctx = ts->model;
}
