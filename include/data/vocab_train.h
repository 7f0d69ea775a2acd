/* vocab_train.h — learns a WordPiece vocabulary (vocab.txt) from raw text:
 * BPE merges over BERT's pre-tokenized words, with "##" continuation pieces,
 * as Hugging Face's WordPiece trainer does. Algorithm: docs/tokenizer.md. */
#ifndef BERT_VOCAB_TRAIN_H
#define BERT_VOCAB_TRAIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

typedef struct {
    int vocab_size;     /* N: total entries, specials and alphabet included */
    bool lower_case;    /* pre-tokenize as an uncased vocabulary (lowercase, strip accents) */
    long min_count;     /* characters and merges seen fewer times are left out (≥ 1) */
    FILE *progress;     /* one '\r'-updated progress line goes here; NULL = silent */
} VocabTrainOptions;

typedef struct {
    long bytes;             /* corpus bytes read */
    long invalid_bytes;     /* invalid UTF-8 bytes dropped */
    long words;             /* words (basic-tokenizer output) counted */
    long unique_words;
    int alphabet;           /* characters kept (each also as "##c") */
    long merges;            /* merges performed (a merge may rebuild an existing piece) */
    int vocab_size;         /* entries written (< N if the merges ran out) */
    double count_seconds, merge_seconds;
} VocabTrainStats;

/* Trains on the files corpus_paths[0..n_paths) and writes the vocabulary to
 * out_path (via out_path.tmp + rename): [PAD] [UNK] [CLS] [SEP] [MASK], the
 * alphabet sorted by code point, the same characters with "##", then the
 * merged pieces in the order they were learned. Deterministic for the same
 * input files in the same order. Returns 0, or −1 with a message (missing
 * file, empty corpus, N too small for specials + alphabet, write failure).
 * stats may be NULL. */
int vocab_train(const char *const *corpus_paths, int n_paths, const VocabTrainOptions *opt,
                const char *out_path, VocabTrainStats *stats, char *err, size_t err_len);

#endif
