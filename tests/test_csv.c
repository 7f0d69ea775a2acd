/* test_csv.c — CSV/TSV reader and writer: hand-written fixtures with known
 * fields, every error with its line number, a write→read round trip, and the
 * real SST-2 files checked against counts from Python's csv module. */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "test_util.h"
#include "data/csv.h"
#include "data/label_map.h"

/* Parses CONTENTS (LEN bytes, so fixtures may hold NUL) from a temp file named *SUFFIX. */
static int read_fixture(CsvTable *t, const char *contents, size_t len, const char *suffix,
                        char delimiter, char *err, size_t err_len, char *path) {
    write_temp_file(path, contents, len, suffix);
    int status = csv_read(t, path, delimiter, err, err_len);
    unlink(path);
    return status;
}

/* Reads a fixture that must parse; fails the test with the error otherwise. */
static void must_read(CsvTable *t, const char *contents, const char *suffix, char delimiter) {
    char err[512] = "", path[64];
    int status = read_fixture(t, contents, strlen(contents), suffix, delimiter, err, sizeof err, path);
    ck_assert_msg(status == 0, "unexpected error: %s", err);
}

/* Reads a fixture that must fail, and checks the message is "PATH:LINE: ..."
 * and contains WHAT. */
static void must_fail(const char *contents, size_t len, const char *suffix, long line, const char *what) {
    CsvTable t;
    char err[512] = "", path[64], prefix[96];
    int status = read_fixture(&t, contents, len, suffix, 0, err, sizeof err, path);
    ck_assert_msg(status == -1, "fixture should fail with '%s' but parsed", what);
    ck_assert_ptr_null(t.rows);
    snprintf(prefix, sizeof prefix, "%s:%ld: ", path, line);
    ck_assert_msg(strncmp(err, prefix, strlen(prefix)) == 0, "message '%s' should start with '%s'", err, prefix);
    ck_assert_msg(strstr(err, what) != NULL, "message '%s' should contain '%s'", err, what);
}

#define must_fail_str(contents, line, what) must_fail(contents, strlen(contents), ".csv", line, what)

START_TEST(csv_quoted_fields_with_commas_and_escaped_quotes) {
    CsvTable t;
    must_read(&t, "text,label\n\"hello, world\",1\n\"she said \"\"hi\"\"\",0\n\"\"\"\",x\n", ".csv", 0);
    ck_assert_int_eq(t.n_columns, 2);
    ck_assert_str_eq(t.header[0], "text");
    ck_assert_str_eq(t.header[1], "label");
    ck_assert_int_eq(t.n_rows, 3);
    ck_assert_str_eq(t.rows[0].fields[0], "hello, world");
    ck_assert_str_eq(t.rows[0].fields[1], "1");
    ck_assert_str_eq(t.rows[1].fields[0], "she said \"hi\"");
    ck_assert_str_eq(t.rows[2].fields[0], "\"");
    ck_assert_int_eq(t.rows[2].line, 4);
    ck_assert_int_eq(t.delimiter, ',');
    csv_free(&t);
    ck_assert_ptr_null(t.rows);
}
END_TEST

START_TEST(csv_newlines_inside_quotes_keep_bytes_and_count_lines) {
    CsvTable t;
    must_read(&t, "a,b\n\"line1\nline2\",x\n\"l1\r\nl2\",y\nlast,\"z\n\n\"\nend,w\n", ".csv", 0);
    ck_assert_int_eq(t.n_rows, 4);
    ck_assert_str_eq(t.rows[0].fields[0], "line1\nline2");
    ck_assert_str_eq(t.rows[1].fields[0], "l1\r\nl2");
    ck_assert_str_eq(t.rows[2].fields[1], "z\n\n");
    ck_assert_str_eq(t.rows[3].fields[0], "end");
    /* Physical lines: header 1, row 0 on 2–3, row 1 on 4–5, row 2 on 6–8, row 3 on 9. */
    ck_assert_int_eq(t.rows[0].line, 2);
    ck_assert_int_eq(t.rows[1].line, 4);
    ck_assert_int_eq(t.rows[2].line, 6);
    ck_assert_int_eq(t.rows[3].line, 9);
    csv_free(&t);
}
END_TEST

START_TEST(csv_crlf_bom_and_missing_final_newline) {
    CsvTable t;
    must_read(&t, "\xEF\xBB\xBFid,name\r\n1,one\r\n2,two", ".csv", 0);
    ck_assert_str_eq(t.header[0], "id");  /* the BOM is not part of the first name */
    ck_assert_int_eq(t.n_rows, 2);
    ck_assert_str_eq(t.rows[0].fields[1], "one");
    ck_assert_str_eq(t.rows[1].fields[1], "two");
    ck_assert_int_eq(t.rows[1].line, 3);
    csv_free(&t);
    /* Lone CR line endings (old Mac files) also end rows. */
    must_read(&t, "a,b\r1,2\r3,4\r", ".csv", 0);
    ck_assert_int_eq(t.n_rows, 2);
    ck_assert_str_eq(t.rows[1].fields[0], "3");
    ck_assert_int_eq(t.rows[1].line, 3);
    csv_free(&t);
}
END_TEST

START_TEST(csv_empty_fields_and_trailing_blank_lines) {
    CsvTable t;
    must_read(&t, "a,b,c\n,,\n\"\",x,\n\n\r\n\n", ".csv", 0);
    ck_assert_int_eq(t.n_rows, 2);
    for (int i = 0; i < 3; i++) ck_assert_str_eq(t.rows[0].fields[i], "");
    ck_assert_str_eq(t.rows[1].fields[0], "");
    ck_assert_str_eq(t.rows[1].fields[1], "x");
    ck_assert_str_eq(t.rows[1].fields[2], "");
    csv_free(&t);
    /* Header only: a valid table with no rows. */
    must_read(&t, "a,b\n", ".csv", 0);
    ck_assert_int_eq(t.n_columns, 2);
    ck_assert_int_eq(t.n_rows, 0);
    csv_free(&t);
}
END_TEST

START_TEST(csv_unicode_text_is_kept_exactly) {
    CsvTable t;
    const char *text = "clich\xC3\xA9s \xE2\x80\x94 na\xC3\xAFve \xE6\x97\xA5\xE6\x9C\xAC \xF0\x9F\x98\x80";
    char fixture[128];
    snprintf(fixture, sizeof fixture, "text,label\n%s,1\n\"%s, quoted\",0\n", text, text);
    must_read(&t, fixture, ".csv", 0);
    ck_assert_str_eq(t.rows[0].fields[0], text);
    ck_assert_int_eq(strlen(t.rows[0].fields[0]), 31);  /* 18 ASCII + é ï (2 each) + — 日 本 (3 each) + 😀 (4) */
    char quoted[64];
    snprintf(quoted, sizeof quoted, "%s, quoted", text);
    ck_assert_str_eq(t.rows[1].fields[0], quoted);
    csv_free(&t);
}
END_TEST

START_TEST(tsv_treats_quotes_literally_and_keeps_spaces) {
    CsvTable t;
    /* GLUE style: trailing space before the tab, quotes are plain characters. */
    must_read(&t, "sentence\tlabel\nit 's good \t1\nsay \"hi, there\" \t0\n\"starts with quote\t1\n", ".tsv", 0);
    ck_assert_int_eq(t.delimiter, '\t');
    ck_assert_int_eq(t.n_rows, 3);
    ck_assert_str_eq(t.rows[0].fields[0], "it 's good ");
    ck_assert_str_eq(t.rows[1].fields[0], "say \"hi, there\" ");
    ck_assert_str_eq(t.rows[2].fields[0], "\"starts with quote");
    csv_free(&t);
    /* .TAB by extension, and an explicit '\t' for any other name. */
    must_read(&t, "a\tb\n1\t2\n", ".TAB", 0);
    ck_assert_int_eq(t.n_columns, 2);
    csv_free(&t);
    must_read(&t, "a\tb,c\n1\t2,3\n", ".txt", '\t');
    ck_assert_str_eq(t.header[1], "b,c");
    ck_assert_str_eq(t.rows[0].fields[1], "2,3");
    csv_free(&t);
    /* The same bytes as CSV: one column. */
    must_read(&t, "a\tb\n1\t2\n", ".txt", 0);
    ck_assert_int_eq(t.n_columns, 1);
    ck_assert_str_eq(t.header[0], "a\tb");
    csv_free(&t);
}
END_TEST

START_TEST(csv_reads_stdin_for_dash) {
    char path[64];
    const char *contents = "q,a\n\"x,y\",z\n";
    write_temp_file(path, contents, strlen(contents), ".csv");
    ck_assert_ptr_nonnull(freopen(path, "rb", stdin));
    CsvTable t;
    char err[256] = "";
    ck_assert_msg(csv_read(&t, "-", 0, err, sizeof err) == 0, "%s", err);
    ck_assert_str_eq(t.path, "<stdin>");
    ck_assert_str_eq(t.rows[0].fields[0], "x,y");
    csv_free(&t);
    freopen("/dev/null", "rb", stdin);
    unlink(path);
}
END_TEST

START_TEST(csv_errors_name_file_and_line) {
    /* Missing file: the path and the reason. */
    CsvTable t;
    char err[256] = "";
    ck_assert_int_eq(csv_read(&t, "/nonexistent/dir/train.csv", 0, err, sizeof err), -1);
    ck_assert_str_eq(err, "/nonexistent/dir/train.csv: cannot open: No such file or directory");
    ck_assert_int_eq(csv_read(&t, "/", 0, err, sizeof err), -1);
    ck_assert_str_eq(err, "/: cannot read: Is a directory");

    must_fail_str("", 1, "empty file");
    must_fail_str("\xEF\xBB\xBF\n\r\n", 3, "empty file");
    /* Ragged rows: too many and too few, and a blank line in the middle. */
    must_fail_str("a,b\n1,2\n1,2,3\n", 3, "expected 2 fields (as in the header), found 3");
    must_fail_str("a,b\n1,2\n\"x\ny\",2\n1\n", 5, "expected 2 fields (as in the header), found 1");
    must_fail_str("a,b\n1,2\n\n3,4\n", 3, "found 1 (a blank line)");
    /* The unterminated quote is reported where it opened, not at the end. */
    must_fail_str("a,b\n1,2\n3,\"never closed\n4,5\n6,7\n", 3, "quoted field 2 is never closed");
    must_fail_str("a,b\n1,x\"y\n", 2, "quote inside unquoted field 2");
    must_fail_str("a,b\n1, \"y\"\n", 2, "quote inside unquoted field 2");
    must_fail_str("a,b\n\"x\"y,1\n", 2, "text after the closing quote of field 1");
    must_fail_str("text,label,text\n1,2,3\n", 1, "duplicate column name 'text' (columns 1 and 3)");
    must_fail_str("x,y,y,x\n1,2,3,4\n", 1, "duplicate column name 'y' (columns 2 and 3)");
    /* Bad UTF-8: a stray byte, an overlong '/', a truncated sequence at the end. */
    must_fail_str("a,b\n1,2\n3,\xFF\n", 3, "invalid UTF-8 (byte 0xff) in field 2");
    must_fail_str("a,b\n\"1\n\xC0\xAF\",2\n", 3, "invalid UTF-8 (byte 0xc0) in field 1");
    must_fail_str("a,b\n1,\xE6\x97", 2, "invalid UTF-8 (byte 0xe6) in field 2");
    must_fail("a,b\n1,2\0x\n", 10, ".csv", 2, "NUL byte in field 2");
}
END_TEST

START_TEST(csv_column_lookup_and_text) {
    CsvTable t;
    must_read(&t, "sentence,label\ngood,1\n \t ,0\n", ".csv", 0);
    ck_assert_int_eq(csv_column(&t, "label"), 1);
    ck_assert_int_eq(csv_column(&t, "Label"), -1);
    char err[256] = "", want[256];
    ck_assert_int_eq(csv_require_column(&t, "sentence", err, sizeof err), 0);
    ck_assert_int_eq(csv_require_column(&t, "text", err, sizeof err), -1);
    snprintf(want, sizeof want, "%s:1: no column named 'text' (columns: sentence, label)", t.path);
    ck_assert_str_eq(err, want);
    ck_assert_str_eq(csv_text(&t, 0, 0, err, sizeof err), "good");
    ck_assert_ptr_null(csv_text(&t, 1, 0, err, sizeof err));
    snprintf(want, sizeof want, "%s:3: empty text in column 'sentence'", t.path);
    ck_assert_str_eq(err, want);
    csv_free(&t);
}
END_TEST

START_TEST(csv_write_then_read_is_exact) {
    const char *tricky[] = { "plain", "with, comma", "say \"hi\"", "two\nlines", "crlf\r\nend",
                             " leading space", "trailing space ", "", "\"", "caf\xC3\xA9" };
    const int n = sizeof tricky / sizeof tricky[0];
    char path[64];
    write_temp_file(path, "", 0, ".csv");
    FILE *f = fopen(path, "wb");
    const char *header[] = { "c0", "c1", "c2", "c3", "c4", "c5", "c6", "c7", "c8", "c9" };
    ck_assert_int_eq(csv_write_row(f, header, n, ','), 0);
    ck_assert_int_eq(csv_write_row(f, tricky, n, ','), 0);
    const char *reversed[10];
    for (int i = 0; i < n; i++) reversed[i] = tricky[n - 1 - i];
    ck_assert_int_eq(csv_write_row(f, reversed, n, ','), 0);
    fclose(f);

    CsvTable t;
    char err[256] = "";
    ck_assert_msg(csv_read(&t, path, 0, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(t.n_rows, 2);
    for (int i = 0; i < n; i++) {
        ck_assert_str_eq(t.rows[0].fields[i], tricky[i]);
        ck_assert_str_eq(t.rows[1].fields[i], reversed[i]);
    }
    ck_assert_int_eq(t.rows[1].line, 5);  /* row 0 spans lines 2–4: its LF and CRLF fields add two */
    csv_free(&t);
    unlink(path);
}
END_TEST

START_TEST(csv_write_exact_bytes) {
    char *buf = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&buf, &size);
    const char *row[] = { "a", "b,c", "say \"x\"", " pad", "" };
    ck_assert_int_eq(csv_write_row(f, row, 5, ','), 0);
    const char *empty_only[] = { "" };
    ck_assert_int_eq(csv_write_row(f, empty_only, 1, ','), 0);
    /* TSV cannot quote: a tab or newline becomes a space and is reported. */
    const char *tsv_row[] = { "it 's \"fine\" ", "1" };
    ck_assert_int_eq(csv_write_row(f, tsv_row, 2, '\t'), 0);
    const char *tsv_bad[] = { "tab\there", "new\nline" };
    ck_assert_int_eq(csv_write_row(f, tsv_bad, 2, '\t'), 2);
    fclose(f);
    ck_assert_str_eq(buf, "a,\"b,c\",\"say \"\"x\"\"\",\" pad\",\n"
                          "\"\"\n"
                          "it 's \"fine\" \t1\n"
                          "tab here\tnew line\n");
    free(buf);
}
END_TEST

static double seconds_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* The counts below come from Python 3.11's csv.reader(f, delimiter="\t",
 * quotechar=None), the way Google's run_classifier.py and Hugging Face's GLUE
 * processors read these files. */
START_TEST(csv_loads_sst2_dev_and_train) {
    const char *dir = shared_data_dir("csv_loads_sst2_dev_and_train");
    if (!dir) return;
    char path[512], err[512] = "";
    CsvTable t;
    snprintf(path, sizeof path, "%s/sst2/dev.tsv", dir);
    ck_assert_msg(csv_read(&t, path, 0, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(t.n_rows, 872);
    ck_assert_int_eq(t.n_columns, 2);
    ck_assert_str_eq(t.header[0], "sentence");
    ck_assert_str_eq(t.header[1], "label");
    /* The trailing space before the tab is kept; the tokenizer drops it. */
    ck_assert_str_eq(t.rows[0].fields[0], "it 's a charming and often affecting journey . ");
    int label = csv_require_column(&t, "label", err, sizeof err);
    long ones = 0, zeros = 0, sentence_bytes = 0;
    for (long i = 0; i < t.n_rows; i++) {
        ones += strcmp(t.rows[i].fields[label], "1") == 0;
        zeros += strcmp(t.rows[i].fields[label], "0") == 0;
        sentence_bytes += (long)strlen(t.rows[i].fields[0]);
    }
    ck_assert_int_eq(ones, 444);
    ck_assert_int_eq(zeros, 428);
    ck_assert_int_eq(sentence_bytes, 92300);
    LabelMap map;
    ck_assert_int_eq(label_map_build(&map, &t, label, err, sizeof err), 0);
    ck_assert_int_eq(map.n_labels, 2);
    ck_assert_int_eq(label_map_id(&map, "0"), 0);
    ck_assert_int_eq(label_map_id(&map, "1"), 1);
    label_map_free(&map);
    csv_free(&t);

    snprintf(path, sizeof path, "%s/sst2/train.tsv", dir);
    double start = seconds_now();
    ck_assert_msg(csv_read(&t, path, 0, err, sizeof err) == 0, "%s", err);
    double elapsed = seconds_now() - start;
    printf("csv: read %s (%ld rows) in %.1f ms\n", path, t.n_rows, 1e3 * elapsed);
    ck_assert_int_eq(t.n_rows, 67349);
    ones = zeros = sentence_bytes = 0;
    for (long i = 0; i < t.n_rows; i++) {
        ones += strcmp(t.rows[i].fields[1], "1") == 0;
        zeros += strcmp(t.rows[i].fields[1], "0") == 0;
        sentence_bytes += (long)strlen(t.rows[i].fields[0]);
    }
    ck_assert_int_eq(ones, 37569);
    ck_assert_int_eq(zeros, 29780);
    ck_assert_int_eq(sentence_bytes, 3604019);
    ck_assert_str_eq(t.rows[t.n_rows - 1].fields[0],
                     "this new jangle of noise , mayhem and stupidity must be a serious contender for the title . ");
    ck_assert_int_eq(t.rows[t.n_rows - 1].line, 67350);
    csv_free(&t);
}
END_TEST

Suite *csv_suite(void) {
    Suite *s = suite_create("csv");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, csv_quoted_fields_with_commas_and_escaped_quotes);
    tcase_add_test(tc, csv_newlines_inside_quotes_keep_bytes_and_count_lines);
    tcase_add_test(tc, csv_crlf_bom_and_missing_final_newline);
    tcase_add_test(tc, csv_empty_fields_and_trailing_blank_lines);
    tcase_add_test(tc, csv_unicode_text_is_kept_exactly);
    tcase_add_test(tc, tsv_treats_quotes_literally_and_keeps_spaces);
    tcase_add_test(tc, csv_reads_stdin_for_dash);
    tcase_add_test(tc, csv_errors_name_file_and_line);
    tcase_add_test(tc, csv_column_lookup_and_text);
    tcase_add_test(tc, csv_write_then_read_is_exact);
    tcase_add_test(tc, csv_write_exact_bytes);
    tcase_add_test(tc, csv_loads_sst2_dev_and_train);
    suite_add_tcase(s, tc);
    return s;
}
