/* fuzz_label_map.c — libFuzzer harness: label_map_from_config on arbitrary
 * JSON (a fine-tuned model's id2label / label2id), and the maps it accepts
 * written back out as JSON and read again. */
#include <string.h>
#include <cJSON.h>
#include "fuzz_util.h"
#include "data/label_map.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *text = malloc(size + 1);
    if (!text) abort();
    memcpy(text, data, size);
    text[size] = 0;
    cJSON *config = cJSON_Parse(text);
    free(text);
    if (!config) return 0;
    char err[512];
    LabelMap map;
    if (label_map_from_config(&map, config, "config.json", err, sizeof err) == 0) {
        cJSON *back = cJSON_CreateObject();
        cJSON_AddItemToObject(back, "id2label", label_map_id2label_json(&map));
        cJSON_AddItemToObject(back, "label2id", label_map_label2id_json(&map));
        LabelMap again;
        if (label_map_from_config(&again, back, "again", err, sizeof err) != 0) abort();
        if (again.n_labels != map.n_labels) abort();
        for (int i = 0; i < map.n_labels; i++)
            if (strcmp(again.names[i], map.names[i]) != 0 || label_map_id(&map, map.names[i]) != i) abort();
        label_map_free(&again);
        cJSON_Delete(back);
        label_map_free(&map);
    } else if (!strstr(err, "config.json")) {
        abort();
    }
    cJSON_Delete(config);
    return 0;
}
