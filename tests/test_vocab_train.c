/* test_vocab_train.c — WordPiece vocabulary training: merges computed by hand
 * on a three-word corpus, the layout of a trained vocab.txt, round trip of a
 * trained vocabulary through the encoder, determinism, and the error cases. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "test_util.h"
#include "data/tokenizer.h"
#include "data/vocab_train.h"

#define CORPUS "tests/data/vocab_corpus.txt"

/* Reads a whole file into a NUL-terminated buffer (the caller frees it). */
static char *slurp(const char *path, long *size) {
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "cannot open %s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    ck_assert_int_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = 0;
    fclose(f);
    if (size) *size = n;
    return buf;
}

static void temp_path(char *path, size_t len, const char *tag) {
    snprintf(path, len, "/tmp/bert_vocab_%s_%d.txt", tag, (int)getpid());
}

static void train_or_fail(const char *corpus, int size, long min_count, const char *out, VocabTrainStats *st) {
    VocabTrainOptions opt = { .vocab_size = size, .lower_case = true, .min_count = min_count, .progress = NULL };
    char err[512] = "";
    const char *paths[1] = { corpus };
    ck_assert_msg(vocab_train(paths, 1, &opt, out, st, err, sizeof err) == 0, "vocab_train: %s", err);
}

START_TEST(merges_by_hand) {
    /* "aab aab ab": words aab ×2, ab ×1 → a ##a ##b (×2), a ##b (×1).
     * Pair counts: (a,##a) 2, (##a,##b) 2, (a,##b) 1. The tie between the two
     * pairs of count 2 goes to the smaller symbol ids: (a,##a) → "aa".
     * Then aab = aa ##b: (aa,##b) 2 → "aab"; then (a,##b) 1 → "ab"; then no
     * pair is left, so the vocabulary stops at 12 of the 13 requested. */
    char out[256];
    temp_path(out, sizeof out, "hand");
    VocabTrainStats st;
    train_or_fail("tests/data/vocab_tiny_corpus.txt", 13, 1, out, &st);
    char *text = slurp(out, NULL);
    ck_assert_str_eq(text, "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\na\nb\n##a\n##b\naa\naab\nab\n");
    ck_assert_int_eq(st.vocab_size, 12);
    ck_assert_int_eq(st.alphabet, 2);
    ck_assert_int_eq(st.merges, 3);
    ck_assert_int_eq(st.words, 3);
    ck_assert_int_eq(st.unique_words, 2);
    free(text);
    /* A smaller size stops after the first merge. */
    train_or_fail("tests/data/vocab_tiny_corpus.txt", 10, 1, out, &st);
    text = slurp(out, NULL);
    ck_assert_str_eq(text, "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\na\nb\n##a\n##b\naa\n");
    free(text);
    /* min_count 2 leaves out the merge of count 1. */
    train_or_fail("tests/data/vocab_tiny_corpus.txt", 13, 2, out, &st);
    text = slurp(out, NULL);
    ck_assert_str_eq(text, "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\na\nb\n##a\n##b\naa\naab\n");
    free(text);
    unlink(out);
}
END_TEST

/* Joins WordPiece pieces back into words: "##x" glues to the previous piece. */
static void decode(const Tokenizer *tok, const IntVec *ids, char *out) {
    out[0] = 0;
    for (long i = 0; i < ids->len; i++) {
        const char *t = tokenizer_id_to_token(tok, ids->data[i]);
        if (tokenizer_is_continuation(tok, ids->data[i])) strcat(out, t + 2);
        else {
            if (i) strcat(out, " ");
            strcat(out, t);
        }
    }
}

static void join_word(void *ctx, const char *word, int nbytes, int nchars) {
    char *out = ctx;
    if (out[0]) strcat(out, " ");
    strncat(out, word, (size_t)nbytes);
}

START_TEST(trained_vocab_layout_and_round_trip) {
    char out[256];
    temp_path(out, sizeof out, "trip");
    VocabTrainStats st;
    train_or_fail(CORPUS, 300, 1, out, &st);
    ck_assert_int_eq(st.vocab_size, 300);
    ck_assert_int_eq(st.bytes, 1051);

    /* Specials first, then the alphabet by code point, then the same with ##. */
    Tokenizer *tok;
    char err[512];
    ck_assert_msg((tok = tokenizer_load(out, true, err, sizeof err)) != NULL, "%s", err);
    ck_assert_int_eq(tokenizer_vocab_size(tok), 300);
    ck_assert_int_eq(tokenizer_pad_id(tok), 0);
    ck_assert_int_eq(tokenizer_unk_id(tok), 1);
    ck_assert_int_eq(tokenizer_cls_id(tok), 2);
    ck_assert_int_eq(tokenizer_sep_id(tok), 3);
    ck_assert_int_eq(tokenizer_mask_id(tok), 4);
    int alphabet = st.alphabet;
    ck_assert_int_gt(alphabet, 30);
    for (int i = 0; i < alphabet; i++) {
        const char *c = tokenizer_id_to_token(tok, 5 + i), *cont = tokenizer_id_to_token(tok, 5 + alphabet + i);
        ck_assert_msg(strncmp(cont, "##", 2) == 0 && strcmp(cont + 2, c) == 0, "%s / %s", c, cont);
        if (i) ck_assert_msg(strcmp(tokenizer_id_to_token(tok, 4 + i), c) < 0, "alphabet not sorted at %s", c);
    }
    /* Uncased training: no capitals, no accents; the final sigma is its own letter. */
    ck_assert_int_eq(tokenizer_token_id(tok, "T"), -1);
    ck_assert_int_eq(tokenizer_token_id(tok, "\xc3\xa8"), -1);   /* è */
    ck_assert_int_ge(tokenizer_token_id(tok, "\xcf\x82"), 5);    /* ς */
    ck_assert_int_ge(tokenizer_token_id(tok, "the"), 5 + 2 * alphabet);

    /* Every line of the corpus encodes without [UNK] and decodes to the
     * lowercased, accent-stripped, punctuation-split words. */
    char *text = slurp(CORPUS, NULL);
    IntVec ids = { 0 };
    char got[4096], want[4096];
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        intvec_clear(&ids);
        ck_assert_int_gt(tokenizer_encode(tok, line, strlen(line), &ids, NULL), 0);
        for (long i = 0; i < ids.len; i++) ck_assert_int_ne(ids.data[i], tokenizer_unk_id(tok));
        decode(tok, &ids, got);
        want[0] = 0;
        ck_assert_int_eq(tokenizer_basic_words(line, strlen(line), true, join_word, want), 0);
        ck_assert_str_eq(got, want);
    }
    /* And by hand: */
    const char *line = "Crème brûlée, NAÏVE café!";
    intvec_clear(&ids);
    tokenizer_encode(tok, line, strlen(line), &ids, NULL);
    decode(tok, &ids, got);
    ck_assert_str_eq(got, "creme brulee , naive cafe !");
    free(text);
    intvec_free(&ids);
    tokenizer_free(tok);
    unlink(out);
}
END_TEST

START_TEST(training_is_deterministic) {
    char out1[256], out2[256];
    temp_path(out1, sizeof out1, "det1");
    temp_path(out2, sizeof out2, "det2");
    VocabTrainStats st;
    train_or_fail(CORPUS, 250, 1, out1, &st);
    train_or_fail(CORPUS, 250, 1, out2, &st);
    long n1, n2;
    char *a = slurp(out1, &n1), *b = slurp(out2, &n2);
    ck_assert_int_eq(n1, n2);
    ck_assert(memcmp(a, b, (size_t)n1) == 0);
    free(a);
    free(b);
    unlink(out1);
    unlink(out2);
}
END_TEST

static void check_train_error(const char *corpus, int size, const char *fragment) {
    char out[256];
    temp_path(out, sizeof out, "err");
    VocabTrainOptions opt = { .vocab_size = size, .lower_case = true, .min_count = 1 };
    char err[512] = "";
    const char *paths[1] = { corpus };
    ck_assert_int_eq(vocab_train(paths, 1, &opt, out, NULL, err, sizeof err), -1);
    ck_assert_msg(strstr(err, fragment) != NULL, "message lacks '%s': %s", fragment, err);
    ck_assert_int_ne(access(out, F_OK), 0);   /* nothing written */
}

START_TEST(training_errors) {
    char empty[256];
    temp_path(empty, sizeof empty, "empty_corpus");
    FILE *f = fopen(empty, "w");
    fputs(" \n\t\n", f);   /* whitespace only: no words */
    fclose(f);
    check_train_error(empty, 100, "no words");
    check_train_error(empty, 100, empty);
    unlink(empty);
    check_train_error("/nonexistent/corpus.txt", 100, "/nonexistent/corpus.txt: cannot open");
    /* 5 specials + 2 × 2 alphabet characters = 9 > 8 */
    check_train_error("tests/data/vocab_tiny_corpus.txt", 8, "too small");
    check_train_error("tests/data/vocab_tiny_corpus.txt", 8, "need 9 entries");
    VocabTrainOptions opt = { .vocab_size = 100, .lower_case = true, .min_count = 1 };
    char err[512] = "";
    ck_assert_int_eq(vocab_train(NULL, 0, &opt, "/tmp/unused", NULL, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "no corpus"), "%s", err);
}
END_TEST

Suite *vocab_train_suite(void) {
    Suite *s = suite_create("vocab_train");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, merges_by_hand);
    tcase_add_test(tc, trained_vocab_layout_and_round_trip);
    tcase_add_test(tc, training_is_deterministic);
    tcase_add_test(tc, training_errors);
    suite_add_tcase(s, tc);
    return s;
}
