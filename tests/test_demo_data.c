/* test_demo_data.c — the demo's committed data samples (data/, written by
 * data/prepare_wordnet.sh --samples from WordNet 3.0) are what the demo and
 * the fine-tuning tests expect: the classification CSVs load with csv_read,
 * have the columns text,label and 8 balanced supersense classes, train and dev
 * do not share a text; the corpus is in Google's one-sentence-per-line format
 * and corpus_read_shard finds exactly the documents and sentences the raw
 * bytes say it has. Tests run from the repository root (make test). */
#include <stdlib.h>
#include <string.h>
#include "test_util.h"
#include "toy_tokenizer.h"
#include "data/csv.h"
#include "data/label_map.h"
#include "data/corpus.h"

#define SAMPLE_TRAIN "data/sample_classification.csv"
#define SAMPLE_DEV "data/sample_classification_dev.csv"
#define SAMPLE_CORPUS "data/sample_corpus.txt"

/* The 8 supersenses (WordNet lexicographer files noun.act … noun.substance),
 * in label_map's id order (strcmp). */
static const char *const demo_classes[8] = {
    "act", "animal", "artifact", "food", "location", "person", "plant", "substance"
};

/* Reads PATH, checks the header is exactly text,label and every text is
 * non-empty; returns the table. */
static CsvTable read_classification(const char *path) {
    CsvTable t;
    char err[512] = "";
    ck_assert_msg(csv_read(&t, path, 0, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(t.n_columns, 2);
    ck_assert_str_eq(t.header[0], "text");
    ck_assert_str_eq(t.header[1], "label");
    for (long r = 0; r < t.n_rows; r++)
        ck_assert_msg(csv_text(&t, r, 0, err, sizeof err) != NULL, "%s", err);
    return t;
}

/* Asserts that TABLE's labels, mapped through MAP, are each class exactly PER_CLASS times. */
static void assert_balanced(const CsvTable *t, const LabelMap *map, int per_class) {
    int counts[8] = { 0 };
    char err[512] = "";
    for (long r = 0; r < t->n_rows; r++) {
        int id = label_map_row_id(map, t, r, 1, err, sizeof err);
        ck_assert_msg(id >= 0 && id < 8, "%s", err);
        counts[id]++;
    }
    for (int k = 0; k < 8; k++)
        ck_assert_msg(counts[k] == per_class, "%s: class %s has %d rows, expected %d",
                      t->path, demo_classes[k], counts[k], per_class);
}

START_TEST(demo_classification_sample_has_text_label_and_8_balanced_classes) {
    CsvTable train = read_classification(SAMPLE_TRAIN);
    ck_assert_int_eq(train.n_rows, 320);
    /* The first row, as prepare_wordnet.sh orders them (by a hash of the synset
     * offset): the gloss of "popinjay" (noun.person), which does not contain
     * its own lemma. */
    ck_assert_str_eq(train.rows[0].fields[0], "a vain and talkative person (chatters like a parrot)");
    ck_assert_str_eq(train.rows[0].fields[1], "person");
    LabelMap map;
    char err[512] = "";
    ck_assert_msg(label_map_build(&map, &train, 1, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(map.n_labels, 8);
    for (int k = 0; k < 8; k++) ck_assert_str_eq(map.names[k], demo_classes[k]);
    assert_balanced(&train, &map, 40);

    CsvTable dev = read_classification(SAMPLE_DEV);
    ck_assert_int_eq(dev.n_rows, 80);
    assert_balanced(&dev, &map, 10);   /* also: no dev label unseen in training */
    for (long d = 0; d < dev.n_rows; d++)
        for (long r = 0; r < train.n_rows; r++)
            ck_assert_msg(strcmp(dev.rows[d].fields[0], train.rows[r].fields[0]) != 0,
                          "dev line %ld repeats train line %ld", dev.rows[d].line, train.rows[r].line);
    label_map_free(&map);
    csv_free(&dev);
    csv_free(&train);
}
END_TEST

/* Reads all of PATH into a NUL-terminated malloc'd buffer. */
static char *slurp(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "cannot open %s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc((size_t)n + 1);
    ck_assert_int_eq(fread(s, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    s[n] = '\0';
    *len = (size_t)n;
    return s;
}

START_TEST(demo_corpus_sample_is_one_sentence_per_line_with_blank_line_between_documents) {
    size_t len;
    char *text = slurp(SAMPLE_CORPUS, &len);
    ck_assert_msg(len > 50000 && len < 200000, "%s is %zu bytes, expected about 100 KB", SAMPLE_CORPUS, len);
    ck_assert_msg(text[0] != '\n', "starts with a blank line");
    ck_assert_msg(text[len - 1] == '\n' && text[len - 2] != '\n', "must end with one newline, no blank line");
    /* Count from the raw bytes: a document ends at each blank line; no empty
     * documents (two blank lines in a row), no whitespace-only lines, no tabs. */
    long documents = 1, sentences = 0, line_no = 1;
    for (const char *line = text; *line; line_no++) {
        const char *end = strchr(line, '\n');
        size_t n = (size_t)(end - line);
        if (n == 0) {
            documents++;
            ck_assert_msg(end[1] != '\n', "%s:%ld: an empty document (two blank lines)", SAMPLE_CORPUS, line_no);
        } else {
            sentences++;
            ck_assert_msg(memchr(line, '\t', n) == NULL, "%s:%ld: a tab", SAMPLE_CORPUS, line_no);
            ck_assert_msg(line[0] != ' ' && line[n - 1] != ' ', "%s:%ld: leading or trailing space", SAMPLE_CORPUS, line_no);
        }
        line = end + 1;
    }
    ck_assert_int_eq(documents, 374);
    ck_assert_int_eq(sentences, 1921);

    /* The pretraining reader agrees: every document and sentence is kept. */
    const char *path = SAMPLE_CORPUS;
    char err[256] = "";
    CorpusOptions opt = { .mode = CORPUS_LINES };
    CorpusReader *reader = corpus_open(&path, 1, &opt, err, sizeof err);
    ck_assert_msg(reader != NULL, "%s", err);
    TokenSource ts = toy_tokens();
    Documents docs = { 0 };
    ck_assert_int_eq(corpus_read_shard(reader, &ts, &docs, err, sizeof err), documents);
    ck_assert_int_eq(documents_count(&docs), documents);
    ck_assert_int_eq(docs.sent_start.len - 1, sentences);
    documents_free(&docs);
    corpus_close(reader);
    free(text);
}
END_TEST

Suite *demo_data_suite(void) {
    Suite *s = suite_create("demo_data");
    TCase *tc = tcase_create("samples");
    tcase_add_test(tc, demo_classification_sample_has_text_label_and_8_balanced_classes);
    tcase_add_test(tc, demo_corpus_sample_is_one_sentence_per_line_with_blank_line_between_documents);
    suite_add_tcase(s, tc);
    return s;
}
