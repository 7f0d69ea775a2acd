/* mlm_baselines.c — the context-free and left-word masked-LM predictors a
 * pretraining run prints beside its held-out accuracy (mlm_baselines.h). */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include "data/mlm_baselines.h"
#include "layers/cross_entropy.h"

int mlm_baselines_init(MlmBaselines *mb, int vocab_size, int mask_id, const int *never_predicted,
                       int n_never_predicted) {
    memset(mb, 0, sizeof *mb);
    mb->vocab_size = vocab_size;
    mb->mask_id = mask_id;
    mb->never_predicted = never_predicted;
    mb->n_never_predicted = n_never_predicted;
    mb->counts = calloc((size_t)vocab_size, sizeof(long));
    mb->best_next = malloc(sizeof(int) * (size_t)vocab_size);
    mb->second_next = malloc(sizeof(int) * (size_t)vocab_size);
    mb->best_count = malloc(sizeof(long) * (size_t)vocab_size);
    mb->second_count = malloc(sizeof(long) * (size_t)vocab_size);
    return mb->counts && mb->best_next && mb->second_next && mb->best_count && mb->second_count ? 0 : -1;
}

static bool is_never_predicted(const MlmBaselines *mb, int id) {
    for (int i = 0; i < mb->n_never_predicted; i++)
        if (mb->never_predicted[i] == id) return true;
    return false;
}

/* Row `row` of b as it was before masking, into mb->text: each
 * prediction's label back in its position. */
static void unmask_row(MlmBaselines *mb, const PretrainBatch *b, int row) {
    const int T = b->max_seq_length, P = b->max_predictions;
    const int *pos = b->mlm_positions + (long)row * P, *lab = b->mlm_labels + (long)row * P;
    memcpy(mb->text, b->input_ids + (long)row * T, sizeof(int) * (size_t)T);
    for (int k = 0; k < P; k++)
        if (lab[k] != IGNORE_INDEX) mb->text[pos[k]] = lab[k];
}

int mlm_baselines_count(MlmBaselines *mb, const PretrainBatch *b) {
    const int T = b->max_seq_length;
    if (mb->text_cap < T) {
        int *grown = realloc(mb->text, sizeof(int) * (size_t)T);
        if (!grown) return -1;
        mb->text = grown;
        mb->text_cap = T;
    }
    for (int row = 0; row < b->batch_size; row++) {
        const int *real_token = b->attention_mask + (long)row * T;
        unmask_row(mb, b, row);
        for (int t = 0; t < T; t++)
            if (real_token[t]) mb->counts[mb->text[t]]++;
    }
    return 0;
}

int mlm_baselines_count_pairs(MlmBaselines *mb, const Documents *docs) {
    long n = docs->ids.len;
    if (mb->n_pairs + n > mb->cap_pairs) {
        long cap = mb->n_pairs + n;
        uint64_t *grown = realloc(mb->pairs, sizeof(uint64_t) * (size_t)(cap > 0 ? cap : 1));
        if (!grown) return -1;
        mb->pairs = grown;
        mb->cap_pairs = cap;
    }
    /* a document's sentences follow each other in a row, so pairs run across them */
    for (long d = 0; d < documents_count(docs); d++) {
        long first = docs->sent_start.data[docs->doc_start.data[d]];
        long end = docs->sent_start.data[docs->doc_start.data[d + 1]];
        for (long i = first + 1; i < end; i++) {
            int left = docs->ids.data[i - 1], next = docs->ids.data[i];
            if (left < 0 || left >= mb->vocab_size || next < 0 || next >= mb->vocab_size) continue;
            if (!is_never_predicted(mb, next)) mb->pairs[mb->n_pairs++] = (uint64_t)left << 32 | (uint32_t)next;
        }
    }
    return 0;
}

static int compare_pairs(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

void mlm_baselines_fit(MlmBaselines *mb) {
    mb->most_frequent = -1;
    for (int t = 0; t < mb->vocab_size; t++)
        if (!is_never_predicted(mb, t) && (mb->most_frequent < 0 || mb->counts[t] > mb->counts[mb->most_frequent]))
            mb->most_frequent = t;
    for (int t = 0; t < mb->vocab_size; t++) {
        mb->best_next[t] = mb->second_next[t] = -1;
        mb->best_count[t] = mb->second_count[t] = 0;
    }
    /* Sorted, the pairs of one left token are a run, and within it the
     * copies of one pair are a run, smaller successors first (so a tie
     * keeps the smaller). */
    qsort(mb->pairs, (size_t)mb->n_pairs, sizeof(uint64_t), compare_pairs);
    for (long i = 0, j; i < mb->n_pairs; i = j) {
        for (j = i; j < mb->n_pairs && mb->pairs[j] == mb->pairs[i]; j++) {}
        int left = (int)(mb->pairs[i] >> 32), next = (int)(uint32_t)mb->pairs[i];
        long n = j - i;
        if (n > mb->best_count[left]) {
            mb->second_next[left] = mb->best_next[left];
            mb->second_count[left] = mb->best_count[left];
            mb->best_next[left] = next;
            mb->best_count[left] = n;
        } else if (n > mb->second_count[left]) {
            mb->second_next[left] = next;
            mb->second_count[left] = n;
        }
    }
}

/* The most frequent successor of left, with one occurrence of the pair
 * (left, target) left out when it was counted: otherwise a left token seen
 * once in the held-out text would "predict" its own successor. −1: none. */
static int best_next_leaving_out(const MlmBaselines *mb, int left, int target, bool counted) {
    int best = mb->best_next[left];
    if (!counted || best != target) return best;
    long without = mb->best_count[left] - 1;
    int second = mb->second_next[left];
    if (second >= 0 && (mb->second_count[left] > without || (mb->second_count[left] == without && second < best)))
        return second;
    return without > 0 ? best : -1;
}

void mlm_baselines_score(MlmBaselines *mb, const PretrainBatch *b) {
    const int T = b->max_seq_length, P = b->max_predictions;
    for (int row = 0; row < b->batch_size; row++) {
        const int *ids = b->input_ids + (long)row * T, *real_token = b->attention_mask + (long)row * T;
        const int *pos = b->mlm_positions + (long)row * P, *lab = b->mlm_labels + (long)row * P;
        unmask_row(mb, b, row);
        for (int k = 0; k < P; k++) {
            if (lab[k] == IGNORE_INDEX) continue;
            int p = pos[k], visible = ids[p];
            int context_free = visible == mb->mask_id ? mb->most_frequent : visible, left_word = context_free;
            if (visible == mb->mask_id && p > 0 && ids[p - 1] != mb->mask_id) {
                /* the pair (left, label) was counted if the left token is the original one */
                bool counted = real_token[p - 1] && mb->text[p - 1] == ids[p - 1];
                int guess = best_next_leaving_out(mb, ids[p - 1], lab[k], counted);
                if (guess >= 0) left_word = guess;
            }
            mb->correct_context_free += context_free == lab[k];
            mb->correct_left_word += left_word == lab[k];
            mb->predictions++;
        }
    }
}

double mlm_baselines_context_free(const MlmBaselines *mb) {
    return mb->predictions ? (double)mb->correct_context_free / mb->predictions : 0;
}

double mlm_baselines_left_word(const MlmBaselines *mb) {
    return mb->predictions ? (double)mb->correct_left_word / mb->predictions : 0;
}

void mlm_baselines_free(MlmBaselines *mb) {
    free(mb->counts);
    free(mb->pairs);
    free(mb->text);
    free(mb->best_next);
    free(mb->second_next);
    free(mb->best_count);
    free(mb->second_count);
    memset(mb, 0, sizeof *mb);
}
