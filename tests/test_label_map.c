/* test_label_map.c — label ids (integer and sorted orders), error messages,
 * and the Hugging Face id2label/label2id JSON round trip. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "test_util.h"
#include "data/csv.h"
#include "data/label_map.h"

/* A table from a CSV fixture; the path is kept in the table for messages. */
static void read_table(CsvTable *t, const char *contents) {
    char path[64], err[256] = "";
    write_temp_file(path, contents, strlen(contents), ".csv");
    int status = csv_read(t, path, 0, err, sizeof err);
    unlink(path);
    ck_assert_msg(status == 0, "%s", err);
}

static void build(LabelMap *map, const char *contents) {
    CsvTable t;
    char err[256] = "";
    read_table(&t, contents);
    ck_assert_msg(label_map_build(map, &t, csv_column(&t, "label"), err, sizeof err) == 0, "%s", err);
    csv_free(&t);
}

START_TEST(label_map_integers_0_to_k_minus_1_keep_their_value) {
    LabelMap map;
    build(&map, "label\n1\n0\n1\n2\n");
    ck_assert_int_eq(map.n_labels, 3);
    ck_assert_str_eq(map.names[0], "0");
    ck_assert_str_eq(map.names[2], "2");
    label_map_free(&map);
    /* 0..10: numeric, not lexicographic ("10" would sort before "2"). */
    build(&map, "label\n10\n9\n8\n7\n6\n5\n4\n3\n2\n1\n0\n");
    ck_assert_int_eq(map.n_labels, 11);
    ck_assert_int_eq(label_map_id(&map, "10"), 10);
    ck_assert_int_eq(label_map_id(&map, "2"), 2);
    label_map_free(&map);
}
END_TEST

START_TEST(label_map_other_labels_are_sorted) {
    LabelMap map;
    /* Not 0..K−1 (gap, leading zero, negative): sorted by strcmp. */
    build(&map, "label\n2\n0\n");
    ck_assert_int_eq(label_map_id(&map, "0"), 0);
    ck_assert_int_eq(label_map_id(&map, "2"), 1);
    label_map_free(&map);
    build(&map, "label\n01\n0\n");
    ck_assert_str_eq(map.names[0], "0");
    ck_assert_str_eq(map.names[1], "01");
    label_map_free(&map);
    build(&map, "text,label\na,positive\nb,negative\nc,neutral\nd,positive\ne,\xC3\xA9\n");
    ck_assert_int_eq(map.n_labels, 4);
    ck_assert_int_eq(label_map_id(&map, "negative"), 0);
    ck_assert_int_eq(label_map_id(&map, "neutral"), 1);
    ck_assert_int_eq(label_map_id(&map, "positive"), 2);
    ck_assert_int_eq(label_map_id(&map, "\xC3\xA9"), 3);  /* U+00E9 sorts after ASCII */
    ck_assert_int_eq(label_map_id(&map, "Positive"), -1);
    ck_assert_int_eq(label_map_id(&map, "positive "), -1);
    label_map_free(&map);
}
END_TEST

START_TEST(label_map_errors_name_file_and_line) {
    LabelMap map;
    build(&map, "text,label\na,positive\nb,negative\n");
    CsvTable dev;
    read_table(&dev, "text,label\nx,negative\n\"two\nlines\",maybe\n");
    char err[256] = "", want[256];
    ck_assert_int_eq(label_map_row_id(&map, &dev, 0, 1, err, sizeof err), 0);
    ck_assert_int_eq(label_map_row_id(&map, &dev, 1, 1, err, sizeof err), -1);
    snprintf(want, sizeof want, "%s:3: label 'maybe' never seen in training (known: negative, positive)", dev.path);
    ck_assert_str_eq(err, want);
    csv_free(&dev);
    label_map_free(&map);

    CsvTable t;
    read_table(&t, "text,label\na,1\nb,\n");
    ck_assert_int_eq(label_map_build(&map, &t, 1, err, sizeof err), -1);
    snprintf(want, sizeof want, "%s:3: empty label in column 'label'", t.path);
    ck_assert_str_eq(err, want);
    ck_assert_ptr_null(map.names);
    csv_free(&t);

    read_table(&t, "text,label\n");
    ck_assert_int_eq(label_map_build(&map, &t, 1, err, sizeof err), -1);
    snprintf(want, sizeof want, "%s: no rows to take labels from", t.path);
    ck_assert_str_eq(err, want);
    csv_free(&t);
}
END_TEST

START_TEST(label_map_json_round_trip) {
    LabelMap map;
    build(&map, "label\npositive\nnegative\n");
    cJSON *config = cJSON_CreateObject();
    cJSON_AddItemToObject(config, "id2label", label_map_id2label_json(&map));
    cJSON_AddItemToObject(config, "label2id", label_map_label2id_json(&map));
    char *text = cJSON_PrintUnformatted(config);
    ck_assert_str_eq(text, "{\"id2label\":{\"0\":\"negative\",\"1\":\"positive\"},"
                           "\"label2id\":{\"negative\":0,\"positive\":1}}");
    cJSON_Delete(config);
    label_map_free(&map);

    config = cJSON_Parse(text);
    free(text);
    char err[256] = "";
    ck_assert_msg(label_map_from_config(&map, config, "model/config.json", err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(map.n_labels, 2);
    ck_assert_str_eq(map.names[0], "negative");
    ck_assert_str_eq(map.names[1], "positive");
    label_map_free(&map);
    cJSON_Delete(config);
}
END_TEST

/* Parses JSON and expects label_map_from_config to fail with exactly WANT. */
static void config_must_fail(const char *json, const char *want) {
    cJSON *config = cJSON_Parse(json);
    ck_assert_ptr_nonnull(config);
    LabelMap map;
    char err[256] = "";
    ck_assert_int_eq(label_map_from_config(&map, config, "cfg.json", err, sizeof err), -1);
    ck_assert_str_eq(err, want);
    ck_assert_ptr_null(map.names);
    cJSON_Delete(config);
}

START_TEST(label_map_config_errors) {
    /* A Hugging Face config as written by from_pretrained for SST-2 models, ids out of order. */
    cJSON *config = cJSON_Parse("{\"id2label\": {\"1\": \"POSITIVE\", \"0\": \"NEGATIVE\"}, "
                                "\"label2id\": {\"NEGATIVE\": 0, \"POSITIVE\": 1}}");
    LabelMap map;
    char err[256] = "";
    ck_assert_msg(label_map_from_config(&map, config, "cfg.json", err, sizeof err) == 0, "%s", err);
    ck_assert_str_eq(map.names[0], "NEGATIVE");
    label_map_free(&map);
    cJSON_Delete(config);

    config_must_fail("{}", "cfg.json: no \"id2label\" object with at least one label");
    config_must_fail("{\"id2label\": {\"0\": \"a\", \"2\": \"b\"}}", "cfg.json: id2label key \"2\" is not an id 0..1");
    config_must_fail("{\"id2label\": {\"0\": \"a\", \"01\": \"b\"}}", "cfg.json: id2label key \"01\" is not an id 0..1");
    config_must_fail("{\"id2label\": {\"0\": \"a\", \"1\": \"a\"}}", "cfg.json: id2label has label \"a\" twice");
    config_must_fail("{\"id2label\": {\"0\": \"a\", \"0\": \"b\"}}", "cfg.json: id2label has id 0 twice");
    config_must_fail("{\"id2label\": {\"0\": 5}}", "cfg.json: id2label[\"0\"] is not a non-empty string");
    config_must_fail("{\"id2label\": {\"0\": \"a\", \"1\": \"b\"}, \"label2id\": {\"a\": 1, \"b\": 0}}",
                     "cfg.json: label2id is not the inverse of id2label");
    config_must_fail("{\"id2label\": {\"0\": \"a\"}, \"label2id\": [0]}",
                     "cfg.json: label2id is not the inverse of id2label");
}
END_TEST

Suite *label_map_suite(void) {
    Suite *s = suite_create("label_map");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, label_map_integers_0_to_k_minus_1_keep_their_value);
    tcase_add_test(tc, label_map_other_labels_are_sorted);
    tcase_add_test(tc, label_map_errors_name_file_and_line);
    tcase_add_test(tc, label_map_json_round_trip);
    tcase_add_test(tc, label_map_config_errors);
    suite_add_tcase(s, tc);
    return s;
}
