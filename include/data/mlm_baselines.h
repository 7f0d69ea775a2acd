/* mlm_baselines.h — what a masked-LM predictor without a model scores on a
 * pretraining run's held-out batches, under the run's own masking, so that
 * a model's held-out accuracy can be read against them (docs/pretraining.md,
 * "Has the model left the plateau?"):
 *
 *   context-free:  at a [MASK], the most frequent token; at a visible token
 *                  (kept, or replaced at random), that token;
 *   left word:     at a [MASK] whose left neighbour is visible, the token
 *                  that most often follows that neighbour; elsewhere as the
 *                  context-free predictor.
 *
 * A model at the first has learnt token frequencies and copying; one above
 * the second uses more of the context than the word to its left. Both
 * count on the held-out text itself: the token counts on the batches the
 * evaluation reads (the text before masking), which makes the floor, if
 * anything, a little optimistic; the pair counts on the held-out documents,
 * each pair once, leaving out the scored pair's own occurrence
 * (leave-one-out), since otherwise a left token seen once would "predict"
 * its own successor. From a held-out text of some 10⁵ tokens, the
 * left-word figure is below what pair counts from a large text would give.
 * Use: mlm_baselines_count_pairs on the held-out documents and
 * mlm_baselines_count on every held-out batch, then mlm_baselines_fit, then
 * mlm_baselines_score on every batch again. */
#ifndef BERT_MLM_BASELINES_H
#define BERT_MLM_BASELINES_H

#include <stdint.h>
#include "data/corpus.h"
#include "data/pretrain_data.h"

typedef struct {
    int vocab_size, mask_id;
    const int *never_predicted;  /* token ids no predictor guesses ([CLS], [SEP], [PAD]) */
    int n_never_predicted;
    long *counts;                /* [V] occurrences in the text before masking */
    uint64_t *pairs;             /* left << 32 | next, one per adjacent pair of the documents */
    long n_pairs, cap_pairs;
    int *text;                   /* [T] scratch: a row before masking */
    int text_cap;
    int most_frequent;           /* after fit */
    int *best_next, *second_next;   /* [V] after fit: the two most frequent successors, −1 if none */
    long *best_count, *second_count;
    long predictions, correct_context_free, correct_left_word;
} MlmBaselines;

/* never_predicted is not copied and must outlive mb. −1 when out of memory. */
int mlm_baselines_init(MlmBaselines *mb, int vocab_size, int mask_id, const int *never_predicted,
                       int n_never_predicted);
int mlm_baselines_count(MlmBaselines *mb, const PretrainBatch *b);
int mlm_baselines_count_pairs(MlmBaselines *mb, const Documents *docs);
/* Ties go to the smaller token id. */
void mlm_baselines_fit(MlmBaselines *mb);
void mlm_baselines_score(MlmBaselines *mb, const PretrainBatch *b);
/* Accuracies over the scored predictions (0 when there were none). */
double mlm_baselines_context_free(const MlmBaselines *mb);
double mlm_baselines_left_word(const MlmBaselines *mb);
void mlm_baselines_free(MlmBaselines *mb);

#endif
