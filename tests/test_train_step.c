/* test_train_step.c — train_step, the optimizer step both training loops run:
 * two accumulated half batches give the update of one whole batch; the rate
 * applied is the schedule's; a non-finite loss or gradient is an error that
 * names the step and leaves parameters, moments and step count untouched;
 * the gradient-reduction hook runs after the last backward and before
 * clipping, the after-update hook after AdamW and only then. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "test_util.h"
#include "train/train_step.h"
#include "train/lr_schedule.h"
#include "model/model.h"
#include "core/rng.h"
#include "layers/cross_entropy.h"

enum { B = 8, T = 16, P = 4, V = 300 };

/* A small pretraining model; dropout off where `dropout` is false, so two
 * half batches see the same network as the whole batch. */
static void make_model(BertModel *m, bool dropout) {
    BertConfig cfg;
    bert_config_defaults(&cfg);
    cfg.vocab_size = V;
    cfg.hidden_size = 32;
    cfg.num_hidden_layers = 2;
    cfg.num_attention_heads = 4;
    cfg.intermediate_size = 64;
    cfg.max_position_embeddings = T;
    if (!dropout) cfg.hidden_dropout_prob = cfg.attention_probs_dropout_prob = 0;
    char err[256];
    ck_assert_msg(bert_create(m, &cfg, BERT_HEADS_PRETRAINING, 0, err, sizeof err) == 0, "%s", err);
    ck_assert_msg(bert_reserve(m, B, T, P, err, sizeof err) == 0, "%s", err);
    bert_config_free(&cfg);
    bert_init_weights(m, 5);
}

/* One batch of B sequences. Every sequence has the same number of counted
 * masked tokens (P − 1: its last slot is unused), so the MLM mean over the
 * whole batch equals the mean of the two halves' means, as does the NSP mean. */
typedef struct {
    int ids[B * T], types[B * T], mask[B * T], positions[B * P], labels[B * P], nsp[B];
} Data;

static void make_data(Data *d) {
    Rng rng = rng_seeded(17);
    for (int i = 0; i < B * T; i++) {
        d->ids[i] = (int)rng_below(&rng, V);
        d->types[i] = i % T >= T / 2;
        d->mask[i] = i % T < T - 2 * (i / T % 2);
    }
    for (int i = 0; i < B * P; i++) {
        d->positions[i] = 1 + i % P * 3;
        d->labels[i] = i % P == P - 1 ? IGNORE_INDEX : (int)rng_below(&rng, V);
    }
    for (int b = 0; b < B; b++) d->nsp[b] = b % 3 == 0;
}

/* Sequences [first, first + n) of d. */
static BertBatch slice(const Data *d, int first, int n) {
    BertBatch b = { .B = n, .T = T, .input_ids = d->ids + first * T, .token_type_ids = d->types + first * T,
                    .attention_mask = d->mask + first * T, .P = P, .mlm_positions = d->positions + first * P,
                    .mlm_labels = d->labels + first * P, .nsp_labels = d->nsp + first };
    return b;
}

/* The batch source of these tests: the whole batch, or half `micro` of it
 * when accumulating; dropout key 1000 + step. fail_at >= 0: that call fails. */
typedef struct {
    const Data *data;
    int grad_accum;
    int calls, fail_at;
} Source;

static int next_batch(void *ctx, long step, int micro, BertBatch *batch, uint64_t *key, char *err, size_t err_len) {
    Source *s = ctx;
    if (s->calls++ == s->fail_at) {
        snprintf(err, err_len, "the test's source fails at call %d", s->fail_at);
        return -1;
    }
    int n = B / s->grad_accum;
    *batch = slice(s->data, micro * n, n);
    *key = 1000 + (uint64_t)step;
    return 0;
}

static TrainStepConfig config(int grad_accum, double peak_lr, long warmup, long total) {
    TrainStepConfig c = { .adamw = adamw_config_bert(), .peak_lr = (real)peak_lr, .warmup_steps = warmup,
                          .total_steps = total, .grad_accum = grad_accum };
    return c;
}

static void init(TrainStep *ts, BertModel *m, const TrainStepConfig *c) {
    char err[256];
    ck_assert_msg(train_step_init(ts, m, c, err, sizeof err) == 0, "%s", err);
}

static real *copy_of(const real *x, long n) {
    real *c = malloc(sizeof(real) * (size_t)n);
    ck_assert(c);
    memcpy(c, x, sizeof(real) * (size_t)n);
    return c;
}

static double max_abs(const real *x, long n) {
    double a = 0;
    for (long i = 0; i < n; i++) a = fabs((double)x[i]) > a ? fabs((double)x[i]) : a;
    return a;
}

static double max_abs_diff(const real *x, const real *y, long n) {
    double a = 0;
    for (long i = 0; i < n; i++) a = fabs((double)x[i] - (double)y[i]) > a ? fabs((double)x[i] - (double)y[i]) : a;
    return a;
}

/* Tolerances of accumulation against the whole batch. The two differ only in
 * the order of sums (each product and each loss mean is split in two), so
 * the gradients agree to GRAD_RTOL of the largest gradient (measured: 9e-8 in
 * float, 2e-16 in double). The parameters after one AdamW step from zero
 * moments move by lr · 0.1 g/(sqrt(0.001)|g| + ε): about lr · 3.16 where
 * |g| ≫ ε, but rounding in a gradient near ε is amplified up to 1e5 times,
 * so they are compared to PARAM_TOL · lr (measured: 1e-4 · lr in float,
 * 4e-13 · lr in double). Adam does not see the scale of the gradient; the
 * gradient and norm comparisons do. */
#ifdef BERT_DOUBLE
#define GRAD_RTOL 1e-12
#define PARAM_TOL 1e-10
#else
#define GRAD_RTOL 1e-6
#define PARAM_TOL 1e-2
#endif

START_TEST(two_half_batches_accumulate_to_one_whole_batch) {
    Data d;
    make_data(&d);
    BertModel whole, halves;
    make_model(&whole, false);
    make_model(&halves, false);
    double lr = 1e-3;
    TrainStepConfig c1 = config(1, lr, 0, 0), c2 = config(2, lr, 0, 0);
    TrainStep ts1, ts2;
    init(&ts1, &whole, &c1);
    init(&ts2, &halves, &c2);
    Source s1 = { &d, 1, 0, -1 }, s2 = { &d, 2, 0, -1 };
    TrainStepStats a, b;
    char err[256];
    ck_assert_int_eq(train_step(&ts1, next_batch, &s1, &a, err, sizeof err), TRAIN_STEP_OK);
    ck_assert_int_eq(train_step(&ts2, next_batch, &s2, &b, err, sizeof err), TRAIN_STEP_OK);
    ck_assert_int_eq(s1.calls, 1);
    ck_assert_int_eq(s2.calls, 2);
    ck_assert_int_eq(a.sequences, B);
    ck_assert_int_eq(b.sequences, B);
    ck_assert_int_eq(a.mlm_predictions, B * (P - 1));
    ck_assert_int_eq(b.mlm_predictions, a.mlm_predictions);
    ck_assert_int_eq(b.mlm_correct, a.mlm_correct);
    ck_assert_int_eq(b.nsp_correct, a.nsp_correct);
    ck_assert_near(b.loss, a.loss, 10 * REAL_TOL * fabs(a.loss));
    ck_assert_near(b.mlm_loss, a.mlm_loss, 10 * REAL_TOL * fabs(a.mlm_loss));
    ck_assert_near(b.nsp_loss, a.nsp_loss, 10 * REAL_TOL * fabs(a.nsp_loss));
    ck_assert_near(b.grad_norm, a.grad_norm, GRAD_RTOL * a.grad_norm);
    ck_assert(a.grad_norm > 0);

    long n = whole.num_params;
    double g_max = max_abs(whole.grads_memory, n);
    double g_diff = max_abs_diff(whole.grads_memory, halves.grads_memory, n);
    ck_assert_msg(g_diff <= GRAD_RTOL * g_max, "gradients differ by %.3g (largest %.3g)", g_diff, g_max);
    double p_diff = max_abs_diff(whole.params_memory, halves.params_memory, n);
    ck_assert_msg(p_diff <= PARAM_TOL * lr, "parameters differ by %.3g (lr %.3g)", p_diff, lr);
    /* and the step did move the parameters by about lr */
    BertModel fresh;
    make_model(&fresh, false);
    double moved = max_abs_diff(fresh.params_memory, whole.params_memory, n);
    ck_assert_msg(moved > lr && moved < 10 * lr, "the largest move is %.3g for lr %.3g", moved, lr);
    bert_free(&fresh);
    train_step_free(&ts1);
    train_step_free(&ts2);
    bert_free(&whole);
    bert_free(&halves);
}
END_TEST

/* Every step applies lr_at_step(updates so far): the parameters after
 * train_step are bitwise those of adamw_step with that rate, on the same
 * state and the gradients the step computed. */
START_TEST(the_schedules_rate_is_the_one_applied) {
    Data d;
    make_data(&d);
    BertModel m;
    make_model(&m, true);
    long warmup = 3, total = 8;
    double peak = 1e-3;
    TrainStepConfig c = config(2, peak, warmup, total);
    TrainStep ts;
    init(&ts, &m, &c);
    Source src = { &d, 2, 0, -1 };
    long n = m.num_params;
    AdamWState ref;
    ck_assert(adamw_state_init(&ref, n) == 0);
    char err[256];
    for (long step = 0; step < 5; step++) {
        real *params = copy_of(m.params_memory, n);
        memcpy(ref.m, ts.adam.m, sizeof(real) * (size_t)n);
        memcpy(ref.v, ts.adam.v, sizeof(real) * (size_t)n);
        ref.step = ts.adam.step;
        TrainStepStats s;
        ck_assert_int_eq(train_step(&ts, next_batch, &src, &s, err, sizeof err), TRAIN_STEP_OK);
        ck_assert_int_eq(s.step, step + 1);
        ck_assert_int_eq(ts.adam.step, step + 1);
        real want_lr = lr_at_step(step, warmup, total, (real)peak);
        ck_assert_msg(s.lr == (double)want_lr, "step %ld: lr %.9g, the schedule says %.9g", step + 1, s.lr,
                      (double)want_lr);
        AdamWConfig cfg = c.adamw;
        cfg.lr = want_lr;
        double norm = adamw_step(&ref, params, m.grads_memory, ts.segments, ts.n_segments, &cfg);
        ck_assert(norm == s.grad_norm);
        ck_assert_msg(memcmp(params, m.params_memory, sizeof(real) * (size_t)n) == 0,
                      "step %ld: the parameters are not those of AdamW at the schedule's rate", step + 1);
        ck_assert(memcmp(ref.m, ts.adam.m, sizeof(real) * (size_t)n) == 0);
        ck_assert(memcmp(ref.v, ts.adam.v, sizeof(real) * (size_t)n) == 0);
        if (step == 0) {   /* warmup starts at rate 0: nothing moves, though the moments do */
            ck_assert(s.lr == 0);
            ck_assert(max_abs(ts.adam.m, n) > 0);
        }
        free(params);
    }
    ck_assert_int_eq(src.calls, 10);
    adamw_state_free(&ref);
    train_step_free(&ts);
    bert_free(&m);
}
END_TEST

/* The optimizer state and parameters, to check a failed step changed nothing. */
typedef struct { real *params, *m, *v; long step; } Snapshot;

static Snapshot snapshot(const TrainStep *ts) {
    long n = ts->model->num_params;
    Snapshot s = { copy_of(ts->model->params_memory, n), copy_of(ts->adam.m, n), copy_of(ts->adam.v, n),
                   ts->adam.step };
    return s;
}

static void assert_unchanged(const TrainStep *ts, Snapshot *s) {
    size_t bytes = sizeof(real) * (size_t)ts->model->num_params;
    ck_assert_msg(memcmp(s->params, ts->model->params_memory, bytes) == 0, "a failed step changed the parameters");
    ck_assert_msg(memcmp(s->m, ts->adam.m, bytes) == 0, "a failed step changed the first moments");
    ck_assert_msg(memcmp(s->v, ts->adam.v, bytes) == 0, "a failed step changed the second moments");
    ck_assert_int_eq(ts->adam.step, s->step);
    free(s->params);
    free(s->m);
    free(s->v);
}

/* Hooks that record what they saw. */
typedef struct {
    const Source *source;
    int reduce_calls, update_calls;
    int micro_batches_before_reduce;
    double norm_seen_by_reduce;
    real *params_after_update;
    long poison_index;     /* >= 0: reduce_gradients writes +Inf there */
    bool fail_reduce;
} Hooks;

static int reduce_hook(void *ctx, real *grads, long n, TrainStepStats *stats, char *err, size_t err_len) {
    Hooks *h = ctx;
    h->reduce_calls++;
    h->micro_batches_before_reduce = h->source->calls;
    h->norm_seen_by_reduce = grad_global_norm(grads, n);
    ck_assert_int_eq(stats->sequences, B);
    if (h->poison_index >= 0) grads[h->poison_index] = (real)INFINITY;
    if (h->fail_reduce) {
        snprintf(err, err_len, "the all-reduce failed");
        return -1;
    }
    return 0;
}

static void update_hook(void *ctx, const real *params, long n) {
    Hooks *h = ctx;
    h->update_calls++;
    memcpy(h->params_after_update, params, sizeof(real) * (size_t)n);
}

START_TEST(hooks_run_after_the_last_backward_and_after_the_update) {
    Data d;
    make_data(&d);
    BertModel m;
    make_model(&m, true);
    TrainStepConfig c = config(2, 1e-3, 0, 0);
    TrainStep ts;
    init(&ts, &m, &c);
    Source src = { &d, 2, 0, -1 };
    Hooks h = { .source = &src, .params_after_update = malloc(sizeof(real) * (size_t)m.num_params),
                .poison_index = -1 };
    ts.hooks = (TrainStepHooks){ .reduce_gradients = reduce_hook, .reduce_ctx = &h, .after_update = update_hook,
                                 .update_ctx = &h };
    TrainStepStats s;
    char err[256];
    ck_assert_int_eq(train_step(&ts, next_batch, &src, &s, err, sizeof err), TRAIN_STEP_OK);
    ck_assert_int_eq(h.reduce_calls, 1);
    ck_assert_int_eq(h.micro_batches_before_reduce, 2);
    ck_assert(h.norm_seen_by_reduce == s.grad_norm);   /* what the hook leaves is what is clipped */
    ck_assert_int_eq(h.update_calls, 1);
    ck_assert(memcmp(h.params_after_update, m.params_memory, sizeof(real) * (size_t)m.num_params) == 0);

    /* A gradient made infinite by the reduction: an error naming step 2, nothing updated. */
    h.poison_index = m.num_params / 2;
    Snapshot before = snapshot(&ts);
    ck_assert_int_eq(train_step(&ts, next_batch, &src, &s, err, sizeof err), TRAIN_STEP_NOT_FINITE);
    ck_assert_msg(strstr(err, "step 2: the gradient is not finite"), "%s", err);
    assert_unchanged(&ts, &before);
    ck_assert_int_eq(h.update_calls, 1);

    /* A failing reduction: its message, nothing updated. */
    h.poison_index = -1;
    h.fail_reduce = true;
    before = snapshot(&ts);
    ck_assert_int_eq(train_step(&ts, next_batch, &src, &s, err, sizeof err), TRAIN_STEP_HOOK_FAILED);
    ck_assert_str_eq(err, "the all-reduce failed");
    assert_unchanged(&ts, &before);
    ck_assert_int_eq(h.update_calls, 1);
    free(h.params_after_update);
    train_step_free(&ts);
    bert_free(&m);
}
END_TEST

START_TEST(a_poisoned_weight_is_an_error_naming_the_step) {
    Data d;
    make_data(&d);
    BertModel m;
    make_model(&m, true);
    TrainStepConfig c = config(1, 1e-3, 0, 0);
    TrainStep ts;
    init(&ts, &m, &c);
    Source src = { &d, 1, 0, -1 };
    TrainStepStats s;
    char err[256];
    for (int i = 0; i < 2; i++) ck_assert_int_eq(train_step(&ts, next_batch, &src, &s, err, sizeof err), 0);
    /* The embedding of the first token becomes NaN: every loss that sees it is NaN. */
    m.params.word_emb[(long)d.ids[0] * m.config.hidden_size] = (real)NAN;
    Snapshot before = snapshot(&ts);
    ck_assert_int_eq(train_step(&ts, next_batch, &src, &s, err, sizeof err), TRAIN_STEP_NOT_FINITE);
    ck_assert_msg(strstr(err, "step 3: the loss is not finite"), "%s", err);
    assert_unchanged(&ts, &before);
    train_step_free(&ts);
    bert_free(&m);
}
END_TEST

/* A rate of 1e30 makes the weights huge after one update; within a few steps
 * the forward overflows. The step that overflows is the one named, and the
 * parameters are those of the last good step. */
START_TEST(a_huge_learning_rate_stops_at_the_first_bad_step) {
    Data d;
    make_data(&d);
    BertModel m;
    make_model(&m, true);
    TrainStepConfig c = config(1, 1e30, 0, 0);
    c.adamw.max_grad_norm = 0;
    TrainStep ts;
    init(&ts, &m, &c);
    Source src = { &d, 1, 0, -1 };
    TrainStepStats s;
    char err[256], want[64];
    int rc = TRAIN_STEP_OK;
    long step = 0;
    Snapshot before = { 0 };
    while (rc == TRAIN_STEP_OK && step < 6) {
        if (before.params) { free(before.params); free(before.m); free(before.v); }
        before = snapshot(&ts);
        step++;
        rc = train_step(&ts, next_batch, &src, &s, err, sizeof err);
    }
    ck_assert_int_eq(rc, TRAIN_STEP_NOT_FINITE);
    ck_assert_msg(step >= 2, "the first step, at the initial weights, failed: %s", err);
    snprintf(want, sizeof want, "step %ld: the ", step);
    ck_assert_msg(strncmp(err, want, strlen(want)) == 0 && strstr(err, "is not finite"), "%s", err);
    assert_unchanged(&ts, &before);
    train_step_free(&ts);
    bert_free(&m);
}
END_TEST

START_TEST(a_failing_batch_source_changes_nothing) {
    Data d;
    make_data(&d);
    BertModel m;
    make_model(&m, true);
    TrainStepConfig c = config(2, 1e-3, 0, 0);
    TrainStep ts;
    init(&ts, &m, &c);
    Source src = { &d, 2, 0, 1 };   /* the second micro-batch fails */
    Snapshot before = snapshot(&ts);
    TrainStepStats s;
    char err[256];
    ck_assert_int_eq(train_step(&ts, next_batch, &src, &s, err, sizeof err), TRAIN_STEP_BATCH_FAILED);
    ck_assert_str_eq(err, "the test's source fails at call 1");
    assert_unchanged(&ts, &before);
    /* and a bad accumulation count is refused at set-up */
    TrainStep bad;
    TrainStepConfig zero = config(0, 1e-3, 0, 0);
    ck_assert_int_eq(train_step_init(&bad, &m, &zero, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "at least 1"), "%s", err);
    train_step_free(&ts);
    bert_free(&m);
}
END_TEST

/* A batch whose ids fall outside the model's tables (here a token type 2 with
 * type_vocab_size 2, as text pairs on a one-type model would be) is refused
 * before anything is looked up, naming the step, and changes nothing. */
START_TEST(a_batch_outside_the_models_tables_is_refused) {
    Data d;
    make_data(&d);
    d.types[B * T - 1] = 2;   /* the last sequence's last position, in the second half */
    BertModel m;
    make_model(&m, true);
    TrainStepConfig c = config(2, 1e-3, 0, 0);
    TrainStep ts;
    init(&ts, &m, &c);
    Source src = { &d, 2, 0, -1 };
    Snapshot before = snapshot(&ts);
    TrainStepStats s;
    char err[256];
    ck_assert_int_eq(train_step(&ts, next_batch, &src, &s, err, sizeof err), TRAIN_STEP_BATCH_FAILED);
    ck_assert_msg(strstr(err, "step 1, micro-batch 1: token type 2") && strstr(err, "type_vocab_size 2"), "%s", err);
    assert_unchanged(&ts, &before);
    train_step_free(&ts);
    bert_free(&m);
}
END_TEST

Suite *train_step_suite(void) {
    Suite *s = suite_create("train_step");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, two_half_batches_accumulate_to_one_whole_batch);
    tcase_add_test(tc, the_schedules_rate_is_the_one_applied);
    tcase_add_test(tc, hooks_run_after_the_last_backward_and_after_the_update);
    tcase_add_test(tc, a_poisoned_weight_is_an_error_naming_the_step);
    tcase_add_test(tc, a_huge_learning_rate_stops_at_the_first_bad_step);
    tcase_add_test(tc, a_failing_batch_source_changes_nothing);
    tcase_add_test(tc, a_batch_outside_the_models_tables_is_refused);
    suite_add_tcase(s, tc);
    return s;
}
