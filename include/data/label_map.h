/* label_map.h — class labels of a classification data set ↔ the ids the model predicts.
 *
 * Built once from the training file's label column and saved with the model
 * as Hugging Face config.json does ("id2label": {"0": "negative", ...},
 * "label2id": {"negative": 0, ...}), so dev/test files and `bert predict` use
 * the same ids. Ids are assigned deterministically:
 *   - if the labels are exactly the integers 0..K−1 written in canonical
 *     decimal ("0", "1", ..., no sign, no leading zeros), id = that integer
 *     (SST-2's "0"/"1" become ids 0/1);
 *   - otherwise the distinct labels sorted by strcmp (byte order, which for
 *     UTF-8 is code-point order) get ids 0..K−1.
 * Labels are compared byte for byte, exactly as read (no trimming). */
#ifndef BERT_LABEL_MAP_H
#define BERT_LABEL_MAP_H

#include <stddef.h>
#include <cJSON.h>
#include "data/csv.h"

typedef struct {
    char **names;   /* names[n_labels]: the label with id i */
    int n_labels;
} LabelMap;

/* Builds the map from COLUMN of every row of TABLE. Returns 0, or -1 with
 *   "FILE:LINE: empty label in column 'label'" or "FILE: no rows to take labels from". */
int label_map_build(LabelMap *map, const CsvTable *table, int column, char *err, size_t err_len);

void label_map_free(LabelMap *map);

/* The id of LABEL, or -1 if it is not in the map. */
int label_map_id(const LabelMap *map, const char *label);

/* The id of the label in ROW (0-based data row) and COLUMN of TABLE, or -1 with
 *   "FILE:LINE: label 'X' never seen in training (known: a, b, c)". */
int label_map_row_id(const LabelMap *map, const CsvTable *table, long row, int column,
                     char *err, size_t err_len);

/* New cJSON objects {"0": "negative", ...} and {"negative": 0, ...}; NULL if
 * out of memory. The caller adds them to a config (cJSON_AddItemToObject). */
cJSON *label_map_id2label_json(const LabelMap *map);
cJSON *label_map_label2id_json(const LabelMap *map);

/* Reads the map back from a config object holding "id2label" (required: keys
 * exactly "0".."K−1", string values, all distinct) and, if present,
 * "label2id", which must be its inverse. SOURCE names the file in errors:
 *   "SOURCE: id2label has no entry for id 1". Returns 0 or -1. */
int label_map_from_config(LabelMap *map, const cJSON *config, const char *source,
                          char *err, size_t err_len);

#endif
