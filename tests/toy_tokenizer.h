/* toy_tokenizer.h — a trivial whitespace tokenizer for the data-pipeline tests,
 * so they do not depend on the WordPiece tokenizer.
 *
 * Vocabulary (TOY_VOCAB ids): 0 [PAD], 1 [UNK], 2 [CLS], 3 [SEP], 4 [MASK];
 * a word "wN" or "WN" (N < 9900, surrounding punctuation ignored) is id 100 + N;
 * "wN+M" is two pieces: 100 + N and the continuation "##M" = 10000 + M (M < 1000);
 * any other word is hashed into [5, 100). */
#ifndef BERT_TOY_TOKENIZER_H
#define BERT_TOY_TOKENIZER_H

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "data/corpus.h"

enum { TOY_PAD = 0, TOY_UNK = 1, TOY_CLS = 2, TOY_SEP = 3, TOY_MASK = 4, TOY_WORD = 100, TOY_CONT = 10000, TOY_VOCAB = 11000 };

static bool toy_is_continuation[TOY_VOCAB];

static inline bool toy_is_punct(char c) { return c == '.' || c == ',' || c == '!' || c == '?' || c == '"' || c == '(' || c == ')' || c == ';' || c == ':'; }

static inline long toy_word(const char *w, size_t n, IntVec *ids) {
    while (n && toy_is_punct(w[0])) { w++; n--; }
    while (n && toy_is_punct(w[n - 1])) n--;
    if (n == 0) return 0;
    if ((w[0] == 'w' || w[0] == 'W') && n >= 2 && isdigit((unsigned char)w[1])) {
        size_t k = 1;
        long a = 0;
        while (k < n && isdigit((unsigned char)w[k])) a = a * 10 + (w[k++] - '0');
        if (k == n && a < 9900) { intvec_push(ids, TOY_WORD + (int)a); return 1; }
        if (w[k] == '+' && a < 9900) {
            long b = 0;
            size_t k2 = k + 1;
            while (k2 < n && isdigit((unsigned char)w[k2])) b = b * 10 + (w[k2++] - '0');
            if (k2 == n && k2 > k + 1 && b < 1000) {
                intvec_push(ids, TOY_WORD + (int)a);
                intvec_push(ids, TOY_CONT + (int)b);
                return 2;
            }
        }
    }
    unsigned h = 2166136261u;
    for (size_t k = 0; k < n; k++) h = (h ^ (unsigned char)w[k]) * 16777619u;
    intvec_push(ids, 5 + (int)(h % 95));
    return 1;
}

static inline long toy_encode(void *ctx, const char *text, size_t len, IntVec *ids) {
    (void)ctx;
    long count = 0;
    size_t i = 0;
    while (i < len) {
        while (i < len && isspace((unsigned char)text[i])) i++;
        size_t b = i;
        while (i < len && !isspace((unsigned char)text[i])) i++;
        if (i > b) count += toy_word(text + b, i - b, ids);
    }
    return count;
}

static inline TokenSource toy_tokens(void) {
    for (int i = TOY_CONT; i < TOY_VOCAB; i++) toy_is_continuation[i] = true;
    return (TokenSource){ .ctx = NULL, .encode = toy_encode, .vocab_size = TOY_VOCAB, .cls_id = TOY_CLS,
                          .sep_id = TOY_SEP, .mask_id = TOY_MASK, .pad_id = TOY_PAD,
                          .is_continuation = toy_is_continuation };
}

/* Writes text to a fresh temporary file; returns its path (static buffer per slot). */
static inline const char *toy_write_file(int slot, const char *text) {
    static char paths[8][64];
    snprintf(paths[slot], sizeof paths[slot], "/tmp/bert_test_%d_%d.txt", (int)getpid(), slot);
    FILE *f = fopen(paths[slot], "wb");
    if (!f) return NULL;
    fputs(text, f);
    fclose(f);
    return paths[slot];
}

#endif
