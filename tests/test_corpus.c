/* test_corpus.c — corpus reading: the prose sentence splitter on hand-written
 * paragraphs, line/prose/WikiText document structure with exact ids, shards,
 * errors, and a real Gutenberg book. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "test_util.h"
#include "toy_tokenizer.h"
#include "data/corpus.h"

/* Splits text and compares with the expected sentences (NULL-terminated). */
static void check_split(const char *text, const char *const *want) {
    IntVec bounds = { 0 };
    long n = corpus_split_sentences(text, strlen(text), &bounds);
    long n_want = 0;
    while (want[n_want]) n_want++;
    for (long k = 0; k < n && k < n_want; k++) {
        int b = bounds.data[2 * k], e = bounds.data[2 * k + 1];
        ck_assert_msg((size_t)(e - b) == strlen(want[k]) && memcmp(text + b, want[k], (size_t)(e - b)) == 0,
                      "sentence %ld: got \"%.*s\", want \"%s\"", k, e - b, text + b, want[k]);
    }
    ck_assert_msg(n == n_want, "\"%s\": %ld sentences, want %ld", text, n, n_want);
    intvec_free(&bounds);
}

START_TEST(split_abbreviations_quotes_decimals_initials) {
    const char *want1[] = {
        "Mr. Smith paid 3.50 dollars.",               /* Mr. is a title; 3.50 has no space */
        "\xE2\x80\x9CWhy?\xE2\x80\x9D she asked.",    /* “Why?” + lower case: same sentence */
        "\xE2\x80\x9C" "Because.\xE2\x80\x9D",        /* the closing quote stays with its sentence */
        "He left!",
        "J. S. Mill agreed (mostly.)",                /* initials; the bracket stays */
        "The end", NULL,
    };
    check_split("Mr. Smith paid 3.50 dollars. \xE2\x80\x9CWhy?\xE2\x80\x9D she asked. "
                "\xE2\x80\x9C" "Because.\xE2\x80\x9D He left! J. S. Mill agreed (mostly.) The end", want1);
    const char *want2[] = {
        "So did I.", "Then the U.S. Army came, e.g. Dr. Watson and St. John etc.",
        "In 1905.", "1906 was calm...", "\"Yes,\" said he.", "'No!'", "Hello.World.", NULL,
    };
    check_split("  So did I.  Then the U.S. Army came, e.g. Dr. Watson and St. John etc. In 1905. "
                "1906 was calm... \"Yes,\" said he. 'No!' Hello.World.  ", want2);
    const char *want3[] = { "Was it Sch\xC3\xA9rer?", "\xC3\x89mile nodded.", "_Never_ again.", NULL };
    check_split("Was it Sch\xC3\xA9rer? \xC3\x89mile nodded. _Never_ again.", want3);
    const char *want4[] = { NULL };
    check_split("   ", want4);
}
END_TEST

/* fuzz_corpus's stack overflow (a long run of underscores after a full stop
 * recursed once per underscore): 1 MB of them now splits, in one call deep. */
START_TEST(split_survives_a_long_run_of_underscores) {
    size_t n = 1 << 20;
    char *text = malloc(n + 32);
    ck_assert_ptr_nonnull(text);
    strcpy(text, "It ended. ");
    size_t at = strlen(text);
    memset(text + at, '_', n);
    strcpy(text + at + n, "Then more.");
    IntVec bounds = { 0 };
    long sentences = corpus_split_sentences(text, strlen(text), &bounds);
    ck_assert_int_ge(sentences, 1);
    ck_assert_int_eq(bounds.data[0], 0);
    intvec_free(&bounds);
    free(text);
}
END_TEST

/* Reads the whole file in one shard; returns the documents. */
static Documents read_all(const char *path, CorpusMode mode, bool chapters) {
    char err[256] = "";
    CorpusOptions opt = { .mode = mode, .chapters = chapters };
    CorpusReader *r = corpus_open(&path, 1, &opt, err, sizeof err);
    ck_assert_msg(r != NULL, "%s", err);
    TokenSource ts = toy_tokens();
    Documents d = { 0 };
    long n = corpus_read_shard(r, &ts, &d, err, sizeof err);
    ck_assert_msg(n >= 0, "%s", err);
    ck_assert_int_eq(corpus_read_shard(r, &ts, &d, err, sizeof err), 0);   /* end of corpus */
    corpus_close(r);
    /* read again so the caller gets the full shard (the call above cleared it) */
    r = corpus_open(&path, 1, &opt, err, sizeof err);
    corpus_read_shard(r, &ts, &d, err, sizeof err);
    corpus_close(r);
    return d;
}

/* Compares the documents with a spec like "101 102|103;104" (| between
 * sentences, ; between documents). */
static void check_docs(const Documents *d, const char *spec) {
    char buf[1024] = "";
    size_t len = 0;
    for (long doc = 0; doc < documents_count(d); doc++) {
        if (doc) len += (size_t)snprintf(buf + len, sizeof buf - len, ";");
        for (int s = d->doc_start.data[doc]; s < d->doc_start.data[doc + 1]; s++) {
            if (s > d->doc_start.data[doc]) len += (size_t)snprintf(buf + len, sizeof buf - len, "|");
            for (int t = d->sent_start.data[s]; t < d->sent_start.data[s + 1]; t++)
                len += (size_t)snprintf(buf + len, sizeof buf - len, "%s%d", t > d->sent_start.data[s] ? " " : "",
                                        d->ids.data[t]);
        }
    }
    ck_assert_msg(strcmp(buf, spec) == 0, "documents \"%s\", want \"%s\"", buf, spec);
}

START_TEST(line_mode_documents_and_wikitext_headings) {
    const char *path = toy_write_file(0,
        "\xEF\xBB\xBFw1 w2\nw3\r\n\r\nw4\n = Title = \nw5\n = = Section = = \nw6\n\n\n   \nw7\n");   /* BOM, CRLF */
    Documents d = read_all(path, CORPUS_LINES, false);
    check_docs(&d, "101 102|103;104;105|106;107");
    documents_free(&d);
    remove(path);
}
END_TEST

START_TEST(prose_mode_paragraphs_and_chapters) {
    const char *path = toy_write_file(0,
        "CHAPTER I.\nw1 w2. W3\nw4? W5!\n\nW6 w7.\nChapter 12: The End\nW8. W9\nw10.\n");
    Documents d = read_all(path, CORPUS_PROSE, true);
    check_docs(&d, "101 102|103 104|105|106 107;108|109 110");
    documents_free(&d);
    /* Without chapters the file is one document; the heading lines are text. */
    d = read_all(path, CORPUS_PROSE, false);
    ck_assert_int_eq(documents_count(&d), 1);
    documents_free(&d);
    remove(path);
}
END_TEST

/* Many small shards hold exactly the documents of one big shard. */
START_TEST(shards_concatenate_to_the_whole_corpus) {
    char text[4096] = "";
    size_t len = 0;
    int word = 1;
    for (int doc = 0; doc < 20; doc++) {
        for (int s = 0; s < 1 + doc % 4; s++) {
            for (int w = 0; w < 3; w++) len += (size_t)snprintf(text + len, sizeof text - len, "w%d ", word++);
            len += (size_t)snprintf(text + len, sizeof text - len, "\n");
        }
        len += (size_t)snprintf(text + len, sizeof text - len, "\n");
    }
    const char *paths[2] = { toy_write_file(0, text), toy_write_file(1, "w900 w901\n\nw902\n") };
    TokenSource ts = toy_tokens();
    char err[256] = "";
    for (int mode = 0; mode < 2; mode++) {
        CorpusOptions whole = { .mode = (CorpusMode)mode }, small = { .mode = (CorpusMode)mode, .shard_bytes = 40 };
        CorpusReader *r = corpus_open(paths, 2, &whole, err, sizeof err);
        ck_assert_msg(r != NULL, "%s", err);
        Documents all = { 0 }, part = { 0 };
        ck_assert_int_gt(corpus_read_shard(r, &ts, &all, err, sizeof err), 0);
        ck_assert_int_eq(corpus_read_shard(r, &ts, &part, err, sizeof err), 0);
        corpus_close(r);
        /* line mode: 20 + 2 documents; prose mode: one per file */
        ck_assert_int_eq(documents_count(&all), mode == CORPUS_LINES ? 22 : 2);
        r = corpus_open(paths, 2, &small, err, sizeof err);
        CorpusPos *starts = NULL;
        long n_scanned = corpus_scan(r, &starts, err, sizeof err);
        if (mode == CORPUS_LINES) ck_assert_int_eq(n_scanned, 22);
        else ck_assert_int_eq(n_scanned, 2);
        free(starts);
        long n_ids = 0, n_shards = 0, n;
        while ((n = corpus_read_shard(r, &ts, &part, err, sizeof err)) > 0) {
            n_shards++;
            for (long k = 0; k < part.ids.len; k++) ck_assert_int_eq(part.ids.data[k], all.ids.data[n_ids + k]);
            n_ids += part.ids.len;
        }
        ck_assert_int_eq(n, 0);
        ck_assert_int_eq(n_ids, all.ids.len);
        ck_assert_int_gt(n_shards, 4);
        corpus_close(r);
        documents_free(&all);
        documents_free(&part);
    }
    remove(paths[0]);
    remove(paths[1]);
}
END_TEST

START_TEST(missing_file_is_named) {
    char err[256] = "";
    const char *path = "/nonexistent/dir/corpus.txt";
    CorpusOptions opt = { .mode = CORPUS_LINES };
    ck_assert_ptr_null(corpus_open(&path, 1, &opt, err, sizeof err));
    ck_assert_msg(strstr(err, path) != NULL, "error does not name the file: %s", err);
}
END_TEST

START_TEST(gutenberg_book_in_prose_mode) {
    const char *dir = shared_data_dir("gutenberg_book_in_prose_mode");
    if (!dir) return;
    char path[512];
    snprintf(path, sizeof path, "%s/gutenberg/pg2554.txt", dir);
    const char *p = path;
    /* Crime and Punishment: 202,703 words; English prose averages 10–30 words a sentence. */
    Documents d = read_all(p, CORPUS_PROSE, false);
    long n_sent = d.sent_start.len - 1;
    printf("pg2554 prose: %ld documents, %ld sentences, %ld tokens, %.1f tokens/sentence\n",
           documents_count(&d), n_sent, d.ids.len, (double)d.ids.len / (double)n_sent);
    ck_assert_int_eq(documents_count(&d), 1);
    ck_assert_int_gt(n_sent, 202703 / 30);
    ck_assert_int_lt(n_sent, 202703 / 8);
    documents_free(&d);
    /* With chapters: 38 "CHAPTER …" lines, so 38 or 39 documents. */
    d = read_all(p, CORPUS_PROSE, true);
    ck_assert_int_ge(documents_count(&d), 38);
    ck_assert_int_le(documents_count(&d), 39);
    documents_free(&d);
}
END_TEST

Suite *corpus_suite(void) {
    Suite *s = suite_create("corpus");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, split_abbreviations_quotes_decimals_initials);
    tcase_add_test(tc, split_survives_a_long_run_of_underscores);
    tcase_add_test(tc, line_mode_documents_and_wikitext_headings);
    tcase_add_test(tc, prose_mode_paragraphs_and_chapters);
    tcase_add_test(tc, shards_concatenate_to_the_whole_corpus);
    tcase_add_test(tc, missing_file_is_named);
    tcase_add_test(tc, gutenberg_book_in_prose_mode);
    suite_add_tcase(s, tc);
    return s;
}
