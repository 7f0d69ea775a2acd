/* test_mlm_baselines.c — the context-free and left-word masked-LM
 * predictors (data/mlm_baselines.h) on a batch worked out by hand. */
#include <check.h>
#include <string.h>
#include "data/mlm_baselines.h"
#include "core/intvec.h"

enum { PAD = 0, CLS = 1, SEP = 2, MASK = 3, V = 10 };

/* The held-out text: one document of one sentence. */
static Documents one_document(const int *text, int n) {
    Documents docs = { 0 };
    for (int i = 0; i < n; i++) ck_assert(intvec_push(&docs.ids, text[i]));
    ck_assert(intvec_push(&docs.sent_start, 0) && intvec_push(&docs.sent_start, n));
    ck_assert(intvec_push(&docs.doc_start, 0) && intvec_push(&docs.doc_start, 1));
    return docs;
}

/* Both passes over the one batch of one row. */
static void score_one_row(MlmBaselines *mb, Documents *docs, int T, int P, int *ids, int *mask, int *positions,
                          int *labels) {
    static const int never[3] = { CLS, SEP, PAD };
    int types[64] = { 0 }, nsp[1] = { 0 };
    ck_assert(T <= 64);
    PretrainBatch b = { .batch_size = 1, .max_seq_length = T, .max_predictions = P, .input_ids = ids,
                        .token_type_ids = types, .attention_mask = mask, .mlm_positions = positions,
                        .mlm_labels = labels, .nsp_labels = nsp };
    ck_assert_int_eq(mlm_baselines_init(mb, V, MASK, never, 3), 0);
    ck_assert_int_eq(mlm_baselines_count_pairs(mb, docs), 0);
    ck_assert_int_eq(mlm_baselines_count(mb, &b), 0);
    mlm_baselines_fit(mb);
    mlm_baselines_score(mb, &b);
    intvec_free(&docs->ids);
    intvec_free(&docs->sent_start);
    intvec_free(&docs->doc_start);
}

/* The held-out text is one document, 5 6 5 6 5 7 8 9. Its pairs: 5→6
 * twice, 5→7, 6→5 twice, 7→8, 8→9. The batch is that text as one row,
 * [CLS] 5 6 5 6 5 7 8 9 [SEP], with four predictions: position 2 (6) and
 * 6 (7) and 8 (9) masked, position 4 (6) kept visible.
 *
 *   context-free: the most frequent token is 5 (three times): wrong at 2,
 *     6 and 8; the visible 6 at 4 is copied: right. 1 of 4.
 *   left word: at 2 the left token 5 is followed by 6 twice and 7 once;
 *     leaving this 5→6 out, 6 and 7 tie at once each and the smaller, 6,
 *     is guessed: right. At 6, after 5, again 6: wrong (7). At 4, copied:
 *     right. At 8 the left token 8 was followed only by this 9: left out,
 *     nothing is left, so the most frequent token, 5: wrong. 2 of 4. */
START_TEST(baselines_by_hand) {
    const int text[] = { 5, 6, 5, 6, 5, 7, 8, 9 };
    Documents docs = one_document(text, 8);
    enum { T = 10, P = 4 };
    int ids[T] = { CLS, 5, MASK, 5, 6, 5, MASK, 8, MASK, SEP };
    int mask[T] = { 1, 1, 1, 1, 1, 1, 1, 1, 1, 1 }, positions[P] = { 2, 6, 4, 8 }, labels[P] = { 6, 7, 6, 9 };
    MlmBaselines mb;
    score_one_row(&mb, &docs, T, P, ids, mask, positions, labels);
    ck_assert_int_eq(mb.most_frequent, 5);
    ck_assert_int_eq(mb.best_next[5], 6);
    ck_assert_int_eq(mb.best_next[6], 5);
    ck_assert_int_eq(mb.best_next[9], -1);
    ck_assert_int_eq(mb.predictions, 4);
    ck_assert_int_eq(mb.correct_context_free, 1);
    ck_assert_int_eq(mb.correct_left_word, 2);
    ck_assert_double_eq(mlm_baselines_context_free(&mb), 0.25);
    ck_assert_double_eq(mlm_baselines_left_word(&mb), 0.5);
    mlm_baselines_free(&mb);
}
END_TEST

/* A left neighbour replaced at random is not the text's own token, so its
 * pair was never counted and nothing is left out. The held-out document is
 * 5 6 9 9 9 9 (one pair 5→6); the row is [CLS] 5 6 7 6 9 9 9 [SEP] with
 * the 7 at position 3 replaced by 5 and the 6 at position 4 masked. */
START_TEST(a_replaced_left_neighbour_leaves_nothing_out) {
    const int text[] = { 5, 6, 9, 9, 9, 9 };
    Documents docs = one_document(text, 6);
    enum { T = 9, P = 2 };
    int ids[T] = { CLS, 5, 6, 5, MASK, 9, 9, 9, SEP };
    int mask[T] = { 1, 1, 1, 1, 1, 1, 1, 1, 1 }, positions[P] = { 3, 4 }, labels[P] = { 7, 6 };
    MlmBaselines mb;
    score_one_row(&mb, &docs, T, P, ids, mask, positions, labels);
    /* position 3 shows 5 (label 7): both copy it, wrong. Position 4: the
     * floor guesses the most frequent token, 9: wrong; the left word sees
     * 5, whose one counted successor is 6 and is not left out: right
     * (left out, nothing would remain and it too would guess 9). */
    ck_assert_int_eq(mb.most_frequent, 9);
    ck_assert_int_eq(mb.correct_context_free, 0);
    ck_assert_int_eq(mb.correct_left_word, 1);
    mlm_baselines_free(&mb);
}
END_TEST

Suite *mlm_baselines_suite(void) {
    Suite *s = suite_create("mlm_baselines");
    TCase *tc = tcase_create("mlm_baselines");
    tcase_add_test(tc, baselines_by_hand);
    tcase_add_test(tc, a_replaced_left_neighbour_leaves_nothing_out);
    suite_add_tcase(s, tc);
    return s;
}
