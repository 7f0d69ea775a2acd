/* pretrain_data.h — BERT pretraining examples (masked LM + next sentence
 * prediction) made from a corpus the way Google's create_pretraining_data.py
 * makes them, streamed as fixed-size batches with dynamic masking.
 * Algorithm, constants and choices: docs/pretraining_data.md. */
#ifndef BERT_PRETRAIN_DATA_H
#define BERT_PRETRAIN_DATA_H

#include <stdbool.h>
#include <stdint.h>
#include "data/corpus.h"
#include "core/rng.h"

typedef struct {
    int max_seq_length;            /* T (Google: 128 or 512) */
    int max_predictions_per_seq;   /* P (Google: 20 for T = 128) */
    double masked_lm_prob;         /* 0.15 */
    double mask_token_prob;        /* of the chosen tokens, the share replaced by [MASK]: 0.8 */
    double random_token_prob;      /* the share replaced by a random token: 0.1 (the rest stay) */
    double short_seq_prob;         /* 0.1 */
    bool whole_word_mask;          /* mask all WordPiece pieces of a word together */
    int batch_size;                /* B */
    uint64_t seed;
    double eval_fraction;          /* held-out share of documents, 0.01 */
    bool full_sentences;           /* no sentence pairs (NSP off): each row is [CLS] text [SEP] packed full
                                    * from contiguous text, across documents with a [SEP] between them
                                    * (RoBERTa's FULL-SENTENCES, without waiting for sentence ends) */
    const double *file_weights;    /* [n_paths] or NULL: each training file read this many times per
                                    * epoch (2.5: twice, then its first half); read at open only */
} PretrainConfig;

/* T = 128, P = 20, 0.15, 0.1, no whole-word masking, B = 32, seed 12345, 0.01. */
PretrainConfig pretrain_config_default(void);

/* One sentence pair [CLS] A [SEP] B [SEP]: A = docs->ids[a_begin..a_end),
 * B = docs->ids[b_begin..b_end) of the shard's Documents; `doc` is A's
 * document. is_random_next: B comes from a random document (NSP label 1). */
typedef struct {
    int a_begin, a_end, b_begin, b_end;
    int doc;
    bool is_random_next;
} PretrainInstance;

typedef struct { PretrainInstance *data; long len, cap; } InstanceVec;
void instancevec_free(InstanceVec *v);

/* Google's create_instances_from_document (with truncate_seq_pair) for
 * document `doc`; appends its instances to out. Needs max_seq_length >= 5.
 * Returns 0, or -1 if memory runs out. */
int pretrain_instances_from_document(const Documents *docs, long doc, int max_seq_length,
                                     double short_seq_prob, Rng *rng, InstanceVec *out);

/* Packing of a whole shard for masked LM only (docs/pretraining_data.md,
 * "Full sentences"): the shard's tokens, in order and across documents, cut
 * into rows of exactly max_seq_length − 2 tokens, each document boundary
 * inside a row costing one [SEP] (a row ends one short rather than with a
 * [SEP] and nothing after it; the shard's last row is what is left). With
 * probability short_seq_prob a row's length is drawn from
 * [2, max_seq_length − 2], as Google's pairs are. Instances are
 * a_begin..a_end (one segment, B empty), `doc` the document of a_begin.
 * Returns 0, or -1 if memory runs out. */
int pretrain_packed_instances(const Documents *docs, int max_seq_length, double short_seq_prob, Rng *rng,
                              InstanceVec *out);

/* Google's create_masked_lm_predictions on tokens[0..n) ([CLS] A [SEP] B [SEP]),
 * in place: chooses num_to_predict = min(P, max(1, round(n · masked_lm_prob)))
 * positions (never [CLS]/[SEP]); each becomes [MASK] (mask_token_prob, 80%),
 * a uniformly random id in [0, vocab_size) (random_token_prob, 10%) or stays
 * (the rest, 10%), drawn as Google's code does: a first uniform against
 * mask_token_prob, then a second against the stay share of the rest. Writes the chosen positions
 * in increasing order and their original ids; returns how many.
 * scratch: 3n + 1 ints. */
int pretrain_mask_tokens(int *tokens, int n, const TokenSource *ts, const PretrainConfig *cfg,
                         Rng *rng, int *positions, int *labels, int *scratch);

/* A batch, every array allocated once by pretrain_batch_alloc. */
typedef struct {
    int batch_size, max_seq_length, max_predictions;   /* B, T, P */
    int *input_ids;        /* [B,T] */
    int *token_type_ids;   /* [B,T] 0 for [CLS] A [SEP], 1 for B [SEP], 0 for padding (all 0 packed) */
    int *attention_mask;   /* [B,T] 1 real token, 0 padding */
    int *mlm_positions;    /* [B,P] positions in the row; 0 in unused slots */
    int *mlm_labels;       /* [B,P] original ids; -100 in unused slots */
    int *nsp_labels;       /* [B] 0 = IsNext, 1 = NotNext (HF's next_sentence_label); 0 packed */
    long n_tokens;         /* Σ attention_mask */
    long n_predictions;    /* used prediction slots */
} PretrainBatch;

int pretrain_batch_alloc(PretrainBatch *b, int B, int T, int P);
void pretrain_batch_free(PretrainBatch *b);

/* Which documents a stream uses: all of them (no held-out set, or an explicit
 * eval corpus), all but the held-out last eval_fraction, or only those. */
typedef enum { PRETRAIN_ALL, PRETRAIN_TRAIN, PRETRAIN_HELDOUT } PretrainPart;

/* Where a stream is, enough to continue bit-for-bit (saved in checkpoints).
 * All fields are 64-bit, so the struct has no padding bytes. */
typedef struct {
    int64_t file;          /* start of the current shard: file index … */
    int64_t offset;        /* … and byte offset of a line in it */
    int64_t epoch;         /* completed passes over the stream's documents */
    uint64_t shard_rng;    /* Rng state when the current shard's instances were made */
    int64_t next_instance; /* instances of the current shard already batched */
    uint64_t rng;          /* Rng state now */
} PretrainStreamState;

typedef struct PretrainStream PretrainStream;

/* Opens the corpus, splits off the held-out documents (PRETRAIN_TRAIN /
 * PRETRAIN_HELDOUT) and reads the first shard. NULL with a message naming the
 * file(s) on error: missing file, no text at all, bad configuration. The
 * stream copies ts but borrows ts->ctx and ts->is_continuation, which must
 * outlive it. For the same evaluation batches every time, save the held-out
 * stream's state after opening and restore it before each evaluation. */
PretrainStream *pretrain_stream_open(const char *const *paths, int n_paths, const CorpusOptions *copt,
                                     const TokenSource *ts, const PretrainConfig *cfg, PretrainPart part,
                                     char *err, size_t errlen);
void pretrain_stream_close(PretrainStream *s);

/* Fills b (allocated for the stream's B, T, P) with the next batch; epochs
 * wrap around forever. 0, or -1 with pretrain_stream_error() set. */
int pretrain_next_batch(PretrainStream *s, PretrainBatch *b);
const char *pretrain_stream_error(const PretrainStream *s);

PretrainStreamState pretrain_stream_state(const PretrainStream *s);
/* Returns to a saved state (re-reads and rebuilds that shard). 0 or -1. */
int pretrain_stream_restore(PretrainStream *s, const PretrainStreamState *st, char *err, size_t errlen);

/* Documents in the stream's part (from the scan at open), and in the whole corpus. */
long pretrain_stream_num_documents(const PretrainStream *s);
long pretrain_stream_corpus_documents(const PretrainStream *s);
/* The current shard and its instances (for inspection and tests). */
const Documents *pretrain_stream_shard(const PretrainStream *s);
const InstanceVec *pretrain_stream_instances(const PretrainStream *s);

#endif
