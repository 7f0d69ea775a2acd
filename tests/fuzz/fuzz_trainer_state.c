/* fuzz_trainer_state.c — libFuzzer harness: trainer_state_load on arbitrary
 * bytes (a safetensors file with the AdamW moments and the step counters in
 * its metadata), into an optimizer state of 4 parameters. */
#include <string.h>
#include "fuzz_util.h"
#include "train/trainer_state.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *path = fuzz_write_input(data, size, ".safetensors");
    char err[512];
    AdamWState opt;
    if (adamw_state_init(&opt, 4) != 0) abort();
    uint64_t step = 0, epoch = 0;
    const char *keys[2] = { "step", "epoch" };
    uint64_t *outputs[2] = { &step, &epoch };
    if (trainer_state_load(path, &opt, keys, outputs, 2, err, sizeof err) != 0 && !strstr(err, path)) abort();
    adamw_state_free(&opt);
    return 0;
}
