/* test_tokenizer.c — WordPiece encoding: exact ids against an independent
 * Python implementation on a multilingual case set (BERT-Tiny's vocab, from
 * ../shared/data), hand-computed ids on a tiny committed vocab, vocab.txt
 * loading errors, and [CLS] A [SEP] B [SEP] building. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "test_util.h"
#include "data/tokenizer.h"

#define TINY_VOCAB "tests/data/tiny_vocab.txt"
enum { T_PAD, T_UNK, T_CLS, T_SEP, T_MASK, T_UN, T_AFF, T_ABLE, T_HELLO, T_COMMA, T_BANG, T_WORLD, T_S, T_CAFE, T_ODOS_FINAL, T_ODOS_PLAIN,
       T_ZHONG, T_WEN, T_A, T_CONT_A, T_X, T_Y, T_I };   /* = line number − 1 in tests/data/tiny_vocab.txt */

static Tokenizer *load_or_fail(const char *path, bool lower_case) {
    char err[512] = "";
    Tokenizer *tok = tokenizer_load(path, lower_case, err, sizeof err);
    ck_assert_msg(tok != NULL, "tokenizer_load(%s): %s", path, err);
    return tok;
}

/* Encodes text and compares with the expected ids (count ids, then the ids). */
static void check_encode(const Tokenizer *tok, const char *text, size_t len, int count, const int *want) {
    IntVec ids = { 0 };
    long invalid = 0;
    long n = tokenizer_encode(tok, text, len, &ids, &invalid);
    ck_assert_int_eq(n, ids.len);
    char got[1024] = "";
    for (long i = 0; i < ids.len && strlen(got) < 1000; i++) snprintf(got + strlen(got), 24, "%d ", ids.data[i]);
    ck_assert_msg(ids.len == count, "\"%.*s\": %ld ids (%s), expected %d", (int)len, text, ids.len, got, count);
    for (int i = 0; i < count; i++)
        ck_assert_msg(ids.data[i] == want[i], "\"%.*s\": id %d is %d, expected %d (got %s)", (int)len, text, i,
                      ids.data[i], want[i], got);
    intvec_free(&ids);
}
#define CHECK(tok, text, ...) do { \
    const int want_[] = { __VA_ARGS__ }; \
    check_encode(tok, text, sizeof(text) - 1, (int)(sizeof want_ / sizeof want_[0]), want_); \
} while (0)

START_TEST(tiny_vocab_hand_computed_ids) {
    Tokenizer *tok = load_or_fail(TINY_VOCAB, true);
    ck_assert_int_eq(tokenizer_vocab_size(tok), 23);
    /* lowercase, punctuation split off */
    CHECK(tok, "Hello, world!", T_HELLO, T_COMMA, T_WORLD, T_BANG);
    /* greedy longest match: un + ##aff + ##able; world + ##s */
    CHECK(tok, "unaffable worlds", T_UN, T_AFF, T_ABLE, T_WORLD, T_S);
    /* un, then no piece covers "##fx" → the whole word is [UNK] (not un [UNK]) */
    CHECK(tok, "unafx hello", T_UNK, T_HELLO);
    /* accents stripped (NFD, drop Mn), also from decomposed input */
    CHECK(tok, "CAFÉ Cafe\xcc\x81", T_CAFE, T_CAFE);
    /* Python's str.lower(): final sigma at the end of a word, σ inside; a
     * lowercase σ written by the user stays σ */
    CHECK(tok, "ΟΔΟΣ ΟΔΟΣ, οδοσ", T_ODOS_FINAL, T_ODOS_FINAL, T_COMMA, T_ODOS_PLAIN);
    /* İ lowercases to i + U+0307, whose dot is then stripped */
    CHECK(tok, "\xc4\xb0", T_I);
    /* CJK ideographs become words of their own even without spaces */
    CHECK(tok, "a中文a", T_A, T_ZHONG, T_WEN, T_A);
    /* special tokens stay whole wherever they are; other case is ordinary text */
    CHECK(tok, "x[MASK]y [CLS][SEP] [PAD][UNK]", T_X, T_MASK, T_Y, T_CLS, T_SEP, T_PAD, T_UNK);
    CHECK(tok, "[mask]", T_UNK, T_UNK, T_UNK);
    /* control characters, NUL, U+FFFD, zero-width space and soft hyphen are
     * dropped without splitting; \t \n \r, NBSP and ideographic space split */
    CHECK(tok, "hel\x01lo wor\x00ld hel\xef\xbf\xbdlo he\xe2\x80\x8bllo hel\xc2\xadlo", T_HELLO, T_WORLD, T_HELLO, T_HELLO, T_HELLO);
    CHECK(tok, "hello\tworld\r\nhello\xc2\xa0world\xe3\x80\x80x", T_HELLO, T_WORLD, T_HELLO, T_WORLD, T_X);
    CHECK(tok, "  \t\n ");
    CHECK(tok, "");
    /* a word of 100 characters is split; 101 characters → [UNK] */
    char word[102];
    memset(word, 'a', 101);
    int want[100];
    want[0] = T_A;
    for (int i = 1; i < 100; i++) want[i] = T_CONT_A;
    check_encode(tok, word, 100, 100, want);
    check_encode(tok, word, 101, 1, (const int[]){ T_UNK });
    /* invalid UTF-8 bytes are dropped and counted */
    IntVec ids = { 0 };
    long invalid = 5;
    const char bad[] = "hel\xfflo \xc3 x \xed\xa0\x80y";
    ck_assert_int_eq(tokenizer_encode(tok, bad, sizeof bad - 1, &ids, &invalid), 3);
    ck_assert_int_eq(invalid, 5 + 1 + 1 + 3);
    ck_assert_int_eq(ids.data[0], T_HELLO);
    ck_assert_int_eq(ids.data[1], T_X);
    ck_assert_int_eq(ids.data[2], T_Y);
    /* encode appends */
    ck_assert_int_eq(tokenizer_encode(tok, "x", 1, &ids, NULL), 1);
    ck_assert_int_eq(ids.len, 4);
    intvec_free(&ids);
    tokenizer_free(tok);
}
END_TEST

START_TEST(tiny_vocab_cased_and_lookups) {
    Tokenizer *tok = load_or_fail(TINY_VOCAB, false);
    CHECK(tok, "Hello hello CAFÉ", T_UNK, T_HELLO, T_UNK);
    ck_assert_int_eq(tokenizer_pad_id(tok), T_PAD);
    ck_assert_int_eq(tokenizer_unk_id(tok), T_UNK);
    ck_assert_int_eq(tokenizer_cls_id(tok), T_CLS);
    ck_assert_int_eq(tokenizer_sep_id(tok), T_SEP);
    ck_assert_int_eq(tokenizer_mask_id(tok), T_MASK);
    ck_assert_int_eq(tokenizer_token_id(tok, "##able"), T_ABLE);
    ck_assert_int_eq(tokenizer_token_id(tok, "able"), -1);
    ck_assert_str_eq(tokenizer_id_to_token(tok, T_CONT_A), "##a");
    ck_assert_ptr_null(tokenizer_id_to_token(tok, 23));
    ck_assert_ptr_null(tokenizer_id_to_token(tok, -1));
    ck_assert(tokenizer_is_continuation(tok, T_AFF));
    ck_assert(!tokenizer_is_continuation(tok, T_UN));
    ck_assert(!tokenizer_lower_case(tok));
    tokenizer_free(tok);
}
END_TEST

/* ------------------------------------------------------------ exact ids vs the reference */

/* The escapes of tests/data/tokenizer_cases.txt (see tokenizer_reference.py). */
static size_t unescape(const char *s, char *out) {
    size_t n = 0;
    while (*s) {
        if (*s != '\\') { out[n++] = *s++; continue; }
        char kind = s[1];
        unsigned long v;
        char hex[9] = "";
        switch (kind) {
        case '\\': out[n++] = '\\'; s += 2; break;
        case 'n': out[n++] = '\n'; s += 2; break;
        case 't': out[n++] = '\t'; s += 2; break;
        case 'r': out[n++] = '\r'; s += 2; break;
        case 'x': memcpy(hex, s + 2, 2); out[n++] = (char)strtoul(hex, NULL, 16); s += 4; break;
        case 'u': case 'U': {
            int digits = kind == 'u' ? 4 : 8;
            memcpy(hex, s + 2, (size_t)digits);
            v = strtoul(hex, NULL, 16);
            if (v < 0x80) out[n++] = (char)v;
            else if (v < 0x800) { out[n++] = (char)(0xC0 | v >> 6); out[n++] = (char)(0x80 | (v & 63)); }
            else if (v < 0x10000) { out[n++] = (char)(0xE0 | v >> 12); out[n++] = (char)(0x80 | (v >> 6 & 63)); out[n++] = (char)(0x80 | (v & 63)); }
            else { out[n++] = (char)(0xF0 | v >> 18); out[n++] = (char)(0x80 | (v >> 12 & 63)); out[n++] = (char)(0x80 | (v >> 6 & 63)); out[n++] = (char)(0x80 | (v & 63)); }
            s += 2 + digits;
            break;
        }
        default: ck_abort_msg("bad escape \\%c in tokenizer_cases.txt", kind);
        }
    }
    return n;
}

static void check_reference_file(bool lower_case, const char *expected_path) {
    const char *dir = shared_data_dir(lower_case ? "tokenizer exact ids (uncased)" : "tokenizer exact ids (cased)");
    if (!dir) return;
    char vocab[512];
    snprintf(vocab, sizeof vocab, "%s/bert-tiny/vocab.txt", dir);
    Tokenizer *tok = load_or_fail(vocab, lower_case);
    FILE *cases = fopen("tests/data/tokenizer_cases.txt", "r"), *expected = fopen(expected_path, "r");
    ck_assert_msg(cases && expected, "cannot open tests/data/tokenizer_cases.txt or %s", expected_path);
    char *line = NULL, *want = NULL;
    size_t line_cap = 0, want_cap = 0;
    ssize_t n;
    int case_no = 0, line_no = 0;
    IntVec ids = { 0 };
    while ((n = getline(&line, &line_cap, cases)) >= 0) {
        line_no++;
        if (strncmp(line, "#:", 2) == 0) continue;
        case_no++;
        if (n > 0 && line[n - 1] == '\n') line[n - 1] = 0;
        char *text = malloc(strlen(line) + 1);
        size_t len = unescape(line, text);
        ck_assert_msg(getline(&want, &want_cap, expected) >= 0, "%s: fewer lines than cases", expected_path);
        intvec_clear(&ids);
        ck_assert_int_ge(tokenizer_encode(tok, text, len, &ids, NULL), 0);
        char *p = want;
        for (long i = 0; i < ids.len; i++) {
            char *end;
            long id = strtol(p, &end, 10);
            ck_assert_msg(end != p, "tokenizer_cases.txt:%d: more ids than expected (%s): extra id %d (%s) at %ld",
                          line_no, expected_path, ids.data[i], tokenizer_id_to_token(tok, ids.data[i]), i);
            ck_assert_msg(id == ids.data[i], "tokenizer_cases.txt:%d (%s): id %ld is %d (%s), expected %ld (%s)",
                          line_no, lower_case ? "uncased" : "cased", i, ids.data[i],
                          tokenizer_id_to_token(tok, ids.data[i]), id, tokenizer_id_to_token(tok, (int)id));
            p = end;
        }
        char *end;
        strtol(p, &end, 10);
        ck_assert_msg(end == p, "tokenizer_cases.txt:%d: fewer ids (%ld) than expected (%s)", line_no, ids.len, expected_path);
        free(text);
    }
    ck_assert_int_gt(case_no, 60);
    ck_assert_msg(getline(&want, &want_cap, expected) < 0, "%s: more lines than cases", expected_path);
    free(line);
    free(want);
    intvec_free(&ids);
    fclose(cases);
    fclose(expected);
    tokenizer_free(tok);
}

START_TEST(bert_tiny_exact_ids_uncased) { check_reference_file(true, "tests/data/tokenizer_expected.txt"); }
END_TEST

START_TEST(bert_tiny_exact_ids_cased) { check_reference_file(false, "tests/data/tokenizer_expected_cased.txt"); }
END_TEST

START_TEST(bert_tiny_vocab_special_ids) {
    const char *dir = shared_data_dir("tokenizer special ids");
    if (!dir) return;
    char vocab[512];
    snprintf(vocab, sizeof vocab, "%s/bert-tiny/vocab.txt", dir);
    Tokenizer *tok = load_or_fail(vocab, true);
    /* Documented ids of the bert-base-uncased vocab (../shared/data/README.md). */
    ck_assert_int_eq(tokenizer_vocab_size(tok), 30522);
    ck_assert_int_eq(tokenizer_pad_id(tok), 0);
    ck_assert_int_eq(tokenizer_unk_id(tok), 100);
    ck_assert_int_eq(tokenizer_cls_id(tok), 101);
    ck_assert_int_eq(tokenizer_sep_id(tok), 102);
    ck_assert_int_eq(tokenizer_mask_id(tok), 103);
    ck_assert_int_eq(tokenizer_token_id(tok, "!"), 999);
    tokenizer_free(tok);
}
END_TEST

/* ------------------------------------------------------------ vocab.txt errors */

/* Writes contents to a temporary file, loads it, and checks that loading fails
 * with a message containing every one of the given fragments. */
static void check_load_error_n(const char *contents, size_t len, const char *fragment1, const char *fragment2) {
    char path[] = "/tmp/bert_vocab_test_XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, contents, len), (ssize_t)len);
    close(fd);
    char err[512] = "";
    Tokenizer *tok = tokenizer_load(path, true, err, sizeof err);
    unlink(path);
    ck_assert_msg(tok == NULL, "loading %s should fail (%s)", contents, fragment1);
    ck_assert_msg(strstr(err, path) != NULL, "message does not name the file: %s", err);
    ck_assert_msg(strstr(err, fragment1) != NULL, "message lacks '%s': %s", fragment1, err);
    if (fragment2) ck_assert_msg(strstr(err, fragment2) != NULL, "message lacks '%s': %s", fragment2, err);
}

static void check_load_error(const char *contents, const char *fragment1, const char *fragment2) {
    check_load_error_n(contents, strlen(contents), fragment1, fragment2);
}

#define SPECIALS "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\n"
START_TEST(vocab_load_errors) {
    check_load_error(SPECIALS "a\nb\na\n", ":8:", "duplicate token \"a\" (first on line 6)");
    check_load_error(SPECIALS "a\n\nb\n", ":7:", "empty line");
    check_load_error(SPECIALS "a\r\nb\n", ":6:", "carriage return");
    check_load_error(SPECIALS "a\xff\n", ":6:", "invalid UTF-8");
    /* a NUL would make "ab\0c" print as "ab": refused where it is, before the later "ab" */
    static const char nul[] = SPECIALS "ab\0c\nab\n";
    check_load_error_n(nul, sizeof nul - 1, ":6:3:", "NUL byte in a token");
    check_load_error("[UNK]\n[CLS]\n[SEP]\n[MASK]\n", "[PAD] is missing", NULL);
    check_load_error("[PAD]\n[CLS]\n[SEP]\n[MASK]\n", "[UNK] is missing", NULL);
    check_load_error("[PAD]\n[UNK]\n[SEP]\n[MASK]\n", "[CLS] is missing", NULL);
    check_load_error("[PAD]\n[UNK]\n[CLS]\n[MASK]\n", "[SEP] is missing", NULL);
    check_load_error("[PAD]\n[UNK]\n[CLS]\n[SEP]\n", "[MASK] is missing", NULL);
    check_load_error("", "empty", NULL);
    char err[512] = "";
    ck_assert_ptr_null(tokenizer_load("/nonexistent/vocab.txt", true, err, sizeof err));
    ck_assert_msg(strstr(err, "/nonexistent/vocab.txt") && strstr(err, "cannot open"), "%s", err);
    /* A last line without '\n' is fine. */
    char path[] = "/tmp/bert_vocab_test_XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_eq(write(fd, SPECIALS "last", strlen(SPECIALS "last")), (ssize_t)strlen(SPECIALS "last"));
    close(fd);
    Tokenizer *tok = load_or_fail(path, true);
    unlink(path);
    ck_assert_int_eq(tokenizer_vocab_size(tok), 6);
    ck_assert_int_eq(tokenizer_token_id(tok, "last"), 5);
    tokenizer_free(tok);
}
END_TEST

/* ------------------------------------------------------------ sequence building */

START_TEST(build_pair_truncates_longer_first_and_pads) {
    Tokenizer *tok = load_or_fail(TINY_VOCAB, true);
    const int a[3] = { 10, 11, 12 }, b[2] = { 20, 21 };
    int ids[8], types[8], mask[8];
    /* fits exactly: [CLS] a [SEP] b [SEP] */
    ck_assert_int_eq(tokenizer_build_pair(tok, a, 3, b, 2, 8, false, ids, types, mask), 8);
    const int want8[8] = { T_CLS, 10, 11, 12, T_SEP, 20, 21, T_SEP }, types8[8] = { 0, 0, 0, 0, 0, 1, 1, 1 };
    for (int i = 0; i < 8; i++) {
        ck_assert_int_eq(ids[i], want8[i]);
        ck_assert_int_eq(types[i], types8[i]);
        ck_assert_int_eq(mask[i], 1);
    }
    /* one too many: a (3) is longer than b (2) → a loses its last token */
    ck_assert_int_eq(tokenizer_build_pair(tok, a, 3, b, 2, 7, false, ids, types, mask), 7);
    const int want7[7] = { T_CLS, 10, 11, T_SEP, 20, 21, T_SEP };
    for (int i = 0; i < 7; i++) ck_assert_int_eq(ids[i], want7[i]);
    /* then a tie (2, 2) → b is shortened */
    ck_assert_int_eq(tokenizer_build_pair(tok, a, 3, b, 2, 6, false, ids, types, mask), 6);
    const int want6[6] = { T_CLS, 10, 11, T_SEP, 20, T_SEP }, types6[6] = { 0, 0, 0, 0, 1, 1 };
    for (int i = 0; i < 6; i++) { ck_assert_int_eq(ids[i], want6[i]); ck_assert_int_eq(types[i], types6[i]); }
    /* single segment, padded */
    ck_assert_int_eq(tokenizer_build_pair(tok, a, 3, NULL, 0, 8, true, ids, types, mask), 5);
    const int wantp[8] = { T_CLS, 10, 11, 12, T_SEP, T_PAD, T_PAD, T_PAD }, maskp[8] = { 1, 1, 1, 1, 1, 0, 0, 0 };
    for (int i = 0; i < 8; i++) {
        ck_assert_int_eq(ids[i], wantp[i]);
        ck_assert_int_eq(types[i], 0);
        ck_assert_int_eq(mask[i], maskp[i]);
    }
    /* single segment cut to max_seq_length − 2 */
    ck_assert_int_eq(tokenizer_build_pair(tok, a, 3, NULL, 0, 3, false, ids, types, mask), 3);
    ck_assert_int_eq(ids[1], 10);
    ck_assert_int_eq(ids[2], T_SEP);
    /* too short for the special tokens */
    ck_assert_int_eq(tokenizer_build_pair(tok, a, 3, b, 2, 2, false, ids, types, mask), -1);
    ck_assert_int_eq(tokenizer_build_pair(tok, a, 3, NULL, 0, 1, false, ids, types, mask), -1);
    tokenizer_free(tok);
}
END_TEST

Suite *tokenizer_suite(void) {
    Suite *s = suite_create("tokenizer");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, tiny_vocab_hand_computed_ids);
    tcase_add_test(tc, tiny_vocab_cased_and_lookups);
    tcase_add_test(tc, bert_tiny_exact_ids_uncased);
    tcase_add_test(tc, bert_tiny_exact_ids_cased);
    tcase_add_test(tc, bert_tiny_vocab_special_ids);
    tcase_add_test(tc, vocab_load_errors);
    tcase_add_test(tc, build_pair_truncates_longer_first_and_pads);
    suite_add_tcase(s, tc);
    return s;
}
