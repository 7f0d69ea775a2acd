/* test_distributed.c — the gradient buckets and the agreement fingerprint of
 * include/train/distributed.h, in one process. The runs across processes
 * are checked by comparing with one process; what makes them equal is tested
 * here: a batch cut into slices gives the whole batch's gradient. */
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include "test_util.h"
#include "train/distributed.h"
#include "model/model.h"
#include "core/rng.h"
#include "layers/cross_entropy.h"

START_TEST(buckets_cover_the_gradient_buffer_in_equal_pieces) {
    DistContext d;
    char err[256];
    ck_assert_int_eq(dist_init(&d, NULL, NULL, err, sizeof err), 0);
    real grads[1];
    const long sizes[][3] = { /* num_params, bucket_elems, expected buckets */
        {10, 4, 3}, {12, 4, 3}, {1, 4, 1}, {4, 4, 1}, {11170560, GRAD_BUCKET_ELEMS, 3},
    };
    for (size_t c = 0; c < sizeof sizes / sizeof sizes[0]; c++) {
        GradAllreduce g;
        ck_assert_int_eq(grad_allreduce_create(&g, &d, grads, sizes[c][0], sizes[c][1], err, sizeof err), 0);
        ck_assert_int_eq(g.num_buckets, sizes[c][2]);
        long next = 0, smallest = sizes[c][0], largest = 0;
        for (int i = 0; i < g.num_buckets; i++) {
            ck_assert_int_eq(g.buckets[i].offset, next);
            ck_assert(g.buckets[i].count <= sizes[c][1]);
            next += g.buckets[i].count;
            if (g.buckets[i].count < smallest) smallest = g.buckets[i].count;
            if (g.buckets[i].count > largest) largest = g.buckets[i].count;
        }
        ck_assert_int_eq(next, sizes[c][0]);
        ck_assert_msg(largest - smallest <= 1, "buckets of %ld and %ld elements", smallest, largest);
        grad_allreduce_free(&g);
    }
    GradAllreduce g;
    ck_assert_int_eq(grad_allreduce_create(&g, &d, grads, 10, 0, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "gradient bucket of 0 elements"), "%s", err);
    dist_finalize(&d);
}
END_TEST

START_TEST(one_rank_leaves_the_gradients_as_they_are) {
    DistContext d;
    char err[256];
    ck_assert_int_eq(dist_init(&d, NULL, NULL, err, sizeof err), 0);
    ck_assert_int_eq(d.rank, 0);
    ck_assert_int_eq(d.size, 1);
    real grads[7] = {1, -2, 3.5f, 0, 1e-3f, -7, 9};
    real before[7];
    memcpy(before, grads, sizeof grads);
    GradAllreduce g;
    ck_assert_int_eq(grad_allreduce_create(&g, &d, grads, 7, 3, err, sizeof err), 0);
    grad_allreduce_start_ready(&g, 3);
    ck_assert_int_eq(grad_allreduce_finish(&g, err, sizeof err), 0);
    ck_assert_mem_eq(grads, before, sizeof grads);
    double sums[2] = {1.5, 2.5};
    ck_assert_int_eq(dist_sum_doubles(&d, sums, 2), 0);
    ck_assert(sums[0] == 1.5 && sums[1] == 2.5);
    ck_assert_int_eq(dist_check_agreement(&d, "config", "abc", 3, err, sizeof err), 0);
    grad_allreduce_free(&g);
    dist_finalize(&d);
}
END_TEST

START_TEST(fingerprint_is_fnv1a_64) {
    /* Published FNV-1a 64-bit test vectors. */
    ck_assert_uint_eq(dist_fingerprint(DIST_FINGERPRINT_SEED, "", 0), 0xcbf29ce484222325ull);
    ck_assert_uint_eq(dist_fingerprint(DIST_FINGERPRINT_SEED, "a", 1), 0xaf63dc4c8601ec8cull);
    ck_assert_uint_eq(dist_fingerprint(DIST_FINGERPRINT_SEED, "foobar", 6), 0x85944171f73967e8ull);
    /* Folding pieces is the same as hashing their concatenation. */
    uint64_t h = dist_fingerprint(DIST_FINGERPRINT_SEED, "foo", 3);
    ck_assert_uint_eq(dist_fingerprint(h, "bar", 3), 0x85944171f73967e8ull);
}
END_TEST


/* A batch cut into slices (BertBatch.first_row, whole_rows, whole_predictions)
 * gives, summed over the slices, the whole batch's gradient and loss, with
 * dropout on: the data-parallel ranks' invariant. Uneven slices (3 + 2 rows of
 * 5) as at the end of an epoch. Tolerance: float rounding of sums taken in
 * another order, 2e-5 of the gradient's largest element (1e-12 in double). */
enum { SB = 5, ST = 12, SP = 3, SV = 97 };

static void slice_model(BertModel *m, int heads, int num_labels) {
    BertConfig cfg;
    bert_config_defaults(&cfg);
    cfg.vocab_size = SV;
    cfg.hidden_size = 16;
    cfg.num_hidden_layers = 2;
    cfg.num_attention_heads = 2;
    cfg.intermediate_size = 32;
    cfg.max_position_embeddings = ST;
    cfg.hidden_dropout_prob = 0.2;
    cfg.attention_probs_dropout_prob = 0.2;
    char err[256];
    ck_assert_msg(bert_create(m, &cfg, heads, num_labels, err, sizeof err) == 0, "%s", err);
    ck_assert_msg(bert_reserve(m, SB, ST, SP, err, sizeof err) == 0, "%s", err);
    bert_init_weights(m, 5);
    bert_config_free(&cfg);
}

static void check_slices_sum_to_the_whole(int heads) {
    BertModel m;
    slice_model(&m, heads, 3);
    int ids[SB * ST], types[SB * ST], mask[SB * ST], positions[SB * SP], labels[SB * SP], nsp[SB], cls[SB];
    Rng rng = rng_seeded(17);
    for (int i = 0; i < SB * ST; i++) {
        ids[i] = (int)rng_below(&rng, SV);
        types[i] = i % ST >= ST / 2;
        mask[i] = i % ST < ST - 2 * (i / ST % 2);
    }
    for (int i = 0; i < SB * SP; i++) {
        positions[i] = 1 + i % SP * 3;
        labels[i] = i % 4 == 3 ? IGNORE_INDEX : (int)rng_below(&rng, SV);   /* rows count 2 or 3 */
    }
    for (int b = 0; b < SB; b++) { nsp[b] = b % 2; cls[b] = b % 3; }
    bool pretraining = heads == BERT_HEADS_PRETRAINING;
    BertBatch whole = { .B = SB, .T = ST, .input_ids = ids, .token_type_ids = types, .attention_mask = mask };
    if (pretraining) {
        whole.P = SP; whole.mlm_positions = positions; whole.mlm_labels = labels; whole.nsp_labels = nsp;
    } else {
        whole.class_labels = cls;
    }
    const uint64_t key = 0x5eed;
    bert_zero_grad(&m);
    bert_forward(&m, &whole, true, key);
    bert_backward(&m, 1);
    double whole_loss = m.loss;
    size_t bytes = sizeof(real) * (size_t)m.num_params;
    real *expected = malloc(bytes);
    memcpy(expected, m.grads_memory, bytes);

    bert_zero_grad(&m);
    double sliced_loss = 0;
    const int cuts[][2] = { {0, 3}, {3, 2} };
    for (int c = 0; c < 2; c++) {
        BertBatch b = bert_batch_slice(&whole, cuts[c][0], cuts[c][1]);
        bert_forward(&m, &b, true, key);
        bert_backward(&m, 1);   /* += into the same gradients, as the allreduce's sum */
        double share_mlm = b.whole_predictions ? (double)m.M / b.whole_predictions : 0;
        double share_rows = (double)b.B / b.whole_rows;
        sliced_loss += m.mlm_loss * share_mlm + (m.nsp_loss + m.cls_loss) * share_rows;
    }
    double largest = 0, worst = 0;
    long worst_at = -1;
    for (long i = 0; i < m.num_params; i++) {
        double e = fabs((double)expected[i]);
        if (e > largest) largest = e;
    }
    for (long i = 0; i < m.num_params; i++) {
        double d = fabs((double)expected[i] - (double)m.grads_memory[i]);
        if (d > worst) { worst = d; worst_at = i; }
    }
#ifdef BERT_DOUBLE
    const double tol = 1e-12;
#else
    const double tol = 2e-5;
#endif
    ck_assert_msg(worst <= tol * largest, "gradient element %ld differs by %.3g (largest element %.3g)",
                  worst_at, worst, largest);
    ck_assert_msg(fabs(sliced_loss - whole_loss) <= tol * fabs(whole_loss), "loss %.9g from the slices, %.9g whole",
                  sliced_loss, whole_loss);
    free(expected);
    bert_free(&m);
}

START_TEST(slices_of_a_pretraining_batch_sum_to_its_gradient) { check_slices_sum_to_the_whole(BERT_HEADS_PRETRAINING); }
END_TEST

START_TEST(slices_of_a_classification_batch_sum_to_its_gradient) { check_slices_sum_to_the_whole(BERT_HEADS_CLASSIFIER); }
END_TEST

START_TEST(a_skipped_key_is_the_stream_entered_later) {
    for (uint64_t n = 0; n < 1000; n += 37)
        for (uint64_t i = 0; i < 50; i++)
            ck_assert_uint_eq(rng_bits_at(rng_key_skip(0xabcdef, n), i), rng_bits_at(0xabcdef, n + i));
}
END_TEST

Suite *distributed_suite(void) {
    Suite *s = suite_create("distributed");
    TCase *tc = tcase_create("one process");
    tcase_add_test(tc, buckets_cover_the_gradient_buffer_in_equal_pieces);
    tcase_add_test(tc, one_rank_leaves_the_gradients_as_they_are);
    tcase_add_test(tc, fingerprint_is_fnv1a_64);
    tcase_add_test(tc, a_skipped_key_is_the_stream_entered_later);
    tcase_add_test(tc, slices_of_a_pretraining_batch_sum_to_its_gradient);
    tcase_add_test(tc, slices_of_a_classification_batch_sum_to_its_gradient);
    suite_add_tcase(s, tc);
    return s;
}
