/* fuzz_config.c — libFuzzer harness: bert_config_load on arbitrary bytes; a
 * config that loads must save and load back to the same sizes and labels. */
#include <string.h>
#include "fuzz_util.h"
#include "io/bert_config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *path = fuzz_write_input(data, size, ".json");
    char err[512];
    BertConfig c;
    if (bert_config_load(&c, path, err, sizeof err) != 0) return 0;
    char saved[300];
    snprintf(saved, sizeof saved, "%s.saved", path);
    if (bert_config_save(&c, NULL, saved, err, sizeof err) != 0) abort();
    BertConfig d;
    if (bert_config_load(&d, saved, err, sizeof err) != 0) abort();
    if (d.hidden_size != c.hidden_size || d.vocab_size != c.vocab_size || d.num_labels != c.num_labels) abort();
    for (int i = 0; i < c.num_labels; i++)
        if (strcmp(c.id2label[i], d.id2label[i]) != 0) abort();
    bert_config_free(&d);
    bert_config_free(&c);
    unlink(saved);
    return 0;
}
