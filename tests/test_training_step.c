/* test_training_step.c — a whole pretraining step (train_step: forward +
 * backward + AdamW, as the training loops run it) is bitwise reproducible:
 * the same seed and thread count give memcmp-equal parameters, and so do 1
 * and 2 threads (every parallel loop either writes disjoint elements or sums
 * in an order fixed by the sizes alone; BLIS splits a product over output
 * blocks, never over the summed dimension). */
#include <stdlib.h>
#include <string.h>
#include "test_util.h"
#include "model/model.h"
#include "train/adamw.h"
#include "train/train_step.h"
#include "core/gemm.h"
#include "core/rng.h"
#include "layers/cross_entropy.h"

/* Big enough that BLIS, attention and the element-wise layers all run their
 * multi-threaded paths (N·C ≥ PARALLEL_MIN_WORK, products ≥ 64³), small
 * enough to run in well under a second. */
enum { B = 8, T = 32, P = 5 };

static BertConfig step_config(void) {
    BertConfig cfg;
    bert_config_defaults(&cfg);
    cfg.vocab_size = 500;
    cfg.hidden_size = 64;
    cfg.num_hidden_layers = 2;
    cfg.num_attention_heads = 4;
    cfg.intermediate_size = 128;
    cfg.max_position_embeddings = T;
    bert_config_free(&cfg);
    return cfg;
}

/* The one batch of every step, with dropout key 100 + step. */
static int same_batch(void *ctx, long step, int micro, BertBatch *batch, uint64_t *key, char *err, size_t err_len) {
    *batch = *(const BertBatch *)ctx;
    *key = 100 + (uint64_t)step;
    return 0;
}

/* Runs `steps` training steps (dropout on, distinct keys) from seed 3 with
 * `threads` threads; returns a copy of the final parameters and the losses. */
static real *train_steps(int threads, int steps, double *losses, long *n_params) {
    int saved_threads = bert_threads();
    bert_runtime_init(threads);
    BertConfig cfg = step_config();
    BertModel m;
    char err[256];
    ck_assert_msg(bert_create(&m, &cfg, BERT_HEADS_PRETRAINING, 0, err, sizeof err) == 0, "%s", err);
    ck_assert_msg(bert_reserve(&m, B, T, P, err, sizeof err) == 0, "%s", err);
    bert_init_weights(&m, 3);
    int ids[B * T], types[B * T], mask[B * T], positions[B * P], labels[B * P], nsp[B];
    Rng rng = rng_seeded(11);
    for (int i = 0; i < B * T; i++) {
        ids[i] = (int)rng_below(&rng, 500);
        types[i] = i % T >= T / 2;
        mask[i] = i % T < T - 3 * (i / T % 2);   /* every other sequence ends in padding */
    }
    for (int i = 0; i < B * P; i++) {
        positions[i] = 1 + i % P * 5;
        labels[i] = i % 7 == 6 ? IGNORE_INDEX : (int)rng_below(&rng, 500);
    }
    for (int b = 0; b < B; b++) nsp[b] = b % 2;
    BertBatch batch = { .B = B, .T = T, .input_ids = ids, .token_type_ids = types, .attention_mask = mask,
                        .P = P, .mlm_positions = positions, .mlm_labels = labels, .nsp_labels = nsp };
    ck_assert_msg(bert_check_batch(&m, &batch, err, sizeof err) == 0, "%s", err);
    TrainStepConfig tc = { .adamw = adamw_config_bert(), .peak_lr = (real)1e-3, .grad_accum = 1 };  /* constant rate */
    TrainStep ts;
    ck_assert_msg(train_step_init(&ts, &m, &tc, err, sizeof err) == 0, "%s", err);
    for (int s = 0; s < steps; s++) {
        TrainStepStats stats;
        ck_assert_msg(train_step(&ts, same_batch, &batch, &stats, err, sizeof err) == TRAIN_STEP_OK, "%s", err);
        losses[s] = stats.loss;
    }
    *n_params = m.num_params;
    real *copy = malloc(sizeof(real) * (size_t)m.num_params);
    memcpy(copy, m.params_memory, sizeof(real) * (size_t)m.num_params);
    train_step_free(&ts);
    bert_free(&m);
    bert_runtime_init(saved_threads);
    return copy;
}

START_TEST(training_step_is_bitwise_reproducible) {
    double loss_a[3], loss_b[3];
    long n_a, n_b;
    real *a = train_steps(2, 3, loss_a, &n_a);
    real *b = train_steps(2, 3, loss_b, &n_b);
    ck_assert_int_eq(n_a, n_b);
    ck_assert_msg(memcmp(a, b, sizeof(real) * (size_t)n_a) == 0, "two identical runs gave different parameters");
    ck_assert_msg(memcmp(loss_a, loss_b, sizeof loss_a) == 0, "two identical runs gave different losses");
    /* the steps did train: the loss moved and is finite */
    ck_assert(isfinite(loss_a[2]) && loss_a[2] != loss_a[0]);
    free(a);
    free(b);
}
END_TEST

START_TEST(training_step_is_thread_count_independent) {
    double loss_1[3], loss_2[3];
    long n_1, n_2;
    real *one = train_steps(1, 3, loss_1, &n_1);
    real *two = train_steps(2, 3, loss_2, &n_2);
    long differing = 0;
    for (long i = 0; i < n_1; i++) differing += memcmp(&one[i], &two[i], sizeof(real)) != 0;
    ck_assert_msg(differing == 0, "%ld of %ld parameters differ between 1 and 2 threads", differing, n_1);
    ck_assert_msg(memcmp(loss_1, loss_2, sizeof loss_1) == 0, "losses differ between 1 and 2 threads");
    free(one);
    free(two);
}
END_TEST

Suite *training_step_suite(void) {
    Suite *s = suite_create("training_step");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, training_step_is_bitwise_reproducible);
    tcase_add_test(tc, training_step_is_thread_count_independent);
    suite_add_tcase(s, tc);
    return s;
}
