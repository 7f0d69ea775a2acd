/* fuzz_safetensors.c — libFuzzer harness: safetensors_open on arbitrary
 * bytes, then every tensor read as real and as int with its own shape. */
#include <string.h>
#include "fuzz_util.h"
#include "io/safetensors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *path = fuzz_write_input(data, size, ".safetensors");
    char err[512];
    SafeTensors *st = safetensors_open(path, err, sizeof err);
    if (!st) {
        if (!strstr(err, path)) abort();
        return 0;
    }
    (void)safetensors_metadata(st, "format");
    for (int i = 0; i < safetensors_count(st); i++) {
        const SafeTensorInfo *info = safetensors_info(st, i);
        if (safetensors_find(st, info->name) != info) abort();
        int64_t n = info->numel;
        if (n < 0 || n > (1 << 20)) continue;
        real *r = malloc(sizeof(real) * (size_t)(n ? n : 1));
        int *ints = malloc(sizeof(int) * (size_t)(n ? n : 1));
        if (!r || !ints) abort();
        (void)safetensors_read_real(st, info->name, r, info->ndim, info->shape, err, sizeof err);
        (void)safetensors_read_int(st, info->name, ints, info->ndim, info->shape, err, sizeof err);
        free(r);
        free(ints);
    }
    safetensors_close(st);
    return 0;
}
