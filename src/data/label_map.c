/* label_map.c — label ↔ id for classification fine-tuning (include/label_map.h). */
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "data/label_map.h"
#include "io/bert_config.h"
#include "io/fileio.h"

static int compare_strings(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The value of S if it is a canonical non-negative decimal ("0", "7", "12";
 * not "07", "+1", " 1" or "1.0") below INT_MAX, else -1. */
static long canonical_integer(const char *s) {
    if (s[0] < '0' || s[0] > '9' || (s[0] == '0' && s[1] != '\0')) return -1;
    long value = 0;
    for (; *s; s++) {
        if (*s < '0' || *s > '9') return -1;
        value = value * 10 + (*s - '0');
        if (value >= INT_MAX) return -1;
    }
    return value;
}

void label_map_free(LabelMap *map) {
    for (int i = 0; i < map->n_labels; i++) free(map->names[i]);
    free(map->names);
    map->names = NULL;
    map->n_labels = 0;
}

/* Copies the K distinct sorted labels into MAP, reordering them by value when
 * they are exactly the integers 0..K−1. */
static int fill_map(LabelMap *map, const char *const *distinct, int k) {
    map->names = calloc((size_t)k, sizeof(char *));
    if (!map->names) return -1;
    map->n_labels = k;
    int integers = 1;
    for (int i = 0; i < k && integers; i++) {
        long v = canonical_integer(distinct[i]);
        integers = v >= 0 && v < k;  /* distinct canonical strings are distinct values */
    }
    for (int i = 0; i < k; i++) {
        int id = integers ? (int)canonical_integer(distinct[i]) : i;
        map->names[id] = strdup(distinct[i]);
        if (!map->names[id]) { label_map_free(map); return -1; }
    }
    return 0;
}

int label_map_build(LabelMap *map, const CsvTable *table, int column, char *err, size_t err_len) {
    map->names = NULL;
    map->n_labels = 0;
    if (table->n_rows == 0) {
        format_error(err, err_len, "%s: no rows to take labels from", table->path);
        return -1;
    }
    const char **labels = malloc(sizeof(char *) * (size_t)table->n_rows);
    if (!labels) { format_error(err, err_len, "%s: out of memory", table->path); return -1; }
    for (long i = 0; i < table->n_rows; i++) {
        labels[i] = table->rows[i].fields[column];
        if (labels[i][0] == '\0') {
            format_error(err, err_len, "%s:%ld: empty label in column '%s'",
                      table->path, table->rows[i].line, table->header[column]);
            free(labels);
            return -1;
        }
    }
    /* Sort, then keep the first of each run of equal labels. */
    qsort(labels, (size_t)table->n_rows, sizeof(char *), compare_strings);
    long k = 0;
    for (long i = 0; i < table->n_rows; i++)
        if (k == 0 || strcmp(labels[i], labels[k - 1]) != 0) labels[k++] = labels[i];
    /* The limit a config.json can carry (bert_config.h), checked before
     * any training rather than when the first checkpoint is saved. */
    if (k > BERT_MAX_LABELS) {
        format_error(err, err_len, "%s: column '%s' has %ld distinct labels, more than the %d a classifier "
                     "may have; is it the label column?", table->path, table->header[column], k, BERT_MAX_LABELS);
        free(labels);
        return -1;
    }
    int status = fill_map(map, labels, (int)k);
    free(labels);
    if (status) format_error(err, err_len, "%s: out of memory", table->path);
    return status;
}

int label_map_id(const LabelMap *map, const char *label) {
    for (int i = 0; i < map->n_labels; i++)
        if (map->names[i] && strcmp(map->names[i], label) == 0) return i;  /* NULL while from_config fills it */
    return -1;
}

int label_map_row_id(const LabelMap *map, const CsvTable *table, long row, int column,
                     char *err, size_t err_len) {
    const char *label = table->rows[row].fields[column];
    int id = label_map_id(map, label);
    if (id >= 0 || !err || err_len == 0) return id;
    size_t used = (size_t)snprintf(err, err_len, "%s:%ld: label '%s' never seen in training (known: ",
                                   table->path, table->rows[row].line, label);
    const int max_listed = 20;
    for (int i = 0; i < map->n_labels && i < max_listed && used < err_len; i++)
        used += (size_t)snprintf(err + used, err_len - used, "%s%s", i ? ", " : "", map->names[i]);
    if (map->n_labels > max_listed && used < err_len)
        used += (size_t)snprintf(err + used, err_len - used, ", ... %d in all", map->n_labels);
    if (used < err_len) snprintf(err + used, err_len - used, ")");
    return -1;
}

cJSON *label_map_id2label_json(const LabelMap *map) {
    cJSON *object = cJSON_CreateObject();
    for (int i = 0; object && i < map->n_labels; i++) {
        char key[16];
        snprintf(key, sizeof key, "%d", i);
        if (!cJSON_AddStringToObject(object, key, map->names[i])) { cJSON_Delete(object); return NULL; }
    }
    return object;
}

cJSON *label_map_label2id_json(const LabelMap *map) {
    cJSON *object = cJSON_CreateObject();
    for (int i = 0; object && i < map->n_labels; i++)
        if (!cJSON_AddNumberToObject(object, map->names[i], i)) { cJSON_Delete(object); return NULL; }
    return object;
}

int label_map_from_config(LabelMap *map, const cJSON *config, const char *source,
                          char *err, size_t err_len) {
    map->names = NULL;
    map->n_labels = 0;
    const cJSON *id2label = cJSON_GetObjectItemCaseSensitive(config, "id2label");
    if (!cJSON_IsObject(id2label) || cJSON_GetArraySize(id2label) == 0) {
        format_error(err, err_len, "%s: no \"id2label\" object with at least one label", source);
        return -1;
    }
    int k = cJSON_GetArraySize(id2label);
    map->names = calloc((size_t)k, sizeof(char *));
    if (!map->names) { format_error(err, err_len, "%s: out of memory", source); return -1; }
    map->n_labels = k;
    const cJSON *entry;
    cJSON_ArrayForEach(entry, id2label) {
        long id = canonical_integer(entry->string);
        if (id < 0 || id >= k) {
            format_error(err, err_len, "%s: id2label key \"%s\" is not an id 0..%d", source, entry->string, k - 1);
            goto fail;
        }
        if (!cJSON_IsString(entry) || entry->valuestring[0] == '\0') {
            format_error(err, err_len, "%s: id2label[\"%s\"] is not a non-empty string", source, entry->string);
            goto fail;
        }
        if (map->names[id]) {
            format_error(err, err_len, "%s: id2label has id %ld twice", source, id);
            goto fail;
        }
        if (label_map_id(map, entry->valuestring) >= 0) {
            format_error(err, err_len, "%s: id2label has label \"%s\" twice", source, entry->valuestring);
            goto fail;
        }
        if (!(map->names[id] = strdup(entry->valuestring))) {
            format_error(err, err_len, "%s: out of memory", source);
            goto fail;
        }
    }
    const cJSON *label2id = cJSON_GetObjectItemCaseSensitive(config, "label2id");
    if (label2id) {
        int consistent = cJSON_IsObject(label2id) && cJSON_GetArraySize(label2id) == k;
        if (consistent) cJSON_ArrayForEach(entry, label2id) {
            int id = label_map_id(map, entry->string);
            if (!cJSON_IsNumber(entry) || id < 0 || entry->valuedouble != id) consistent = 0;
        }
        if (!consistent) {
            format_error(err, err_len, "%s: label2id is not the inverse of id2label", source);
            goto fail;
        }
    }
    return 0;
fail:
    label_map_free(map);
    return -1;
}
