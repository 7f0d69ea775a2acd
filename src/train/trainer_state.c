/* trainer_state.c — optimizer moments and run counters in a safetensors file. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include "train/trainer_state.h"
#include "io/safetensors.h"

void trainer_values_set(TrainerValues *tv, const char *key, uint64_t value) {
    int i = 0;
    while (i < tv->count && strcmp(tv->keys[i], key) != 0) i++;
    if (i == TRAINER_STATE_MAX_VALUES) return;
    if (i == tv->count) tv->count++;
    tv->keys[i] = key;
    snprintf(tv->values[i], sizeof tv->values[i], "%llu", (unsigned long long)value);
}

int trainer_state_save(const char *path, const AdamWState *opt, const TrainerValues *values,
                       char *err, size_t err_len) {
    SafeTensorsWriter *w = safetensors_writer_new();
    if (!w) { snprintf(err, err_len, "%s: out of memory", path); return -1; }
    int64_t shape[1] = { opt->n };
    safetensors_writer_add_real(w, "adamw.m", opt->m, 1, shape);
    safetensors_writer_add_real(w, "adamw.v", opt->v, 1, shape);
    char step[32];
    snprintf(step, sizeof step, "%ld", opt->step);
    safetensors_writer_set_metadata(w, "adamw.step", step);
    for (int i = 0; values && i < values->count; i++)
        safetensors_writer_set_metadata(w, values->keys[i], values->values[i]);
    int rc = safetensors_writer_write(w, path, err, err_len);
    safetensors_writer_free(w);
    return rc;
}

static int parse_u64(const char *path, const char *key, const char *text, uint64_t *out,
                     char *err, size_t err_len) {
    if (!text) {
        snprintf(err, err_len, "%s: trainer state has no '%s' (written by another program?)", path, key);
        return -1;
    }
    char *end = NULL;
    errno = 0;
    /* Digits only: strtoull would take "-5" as 2^64 − 5. */
    if (*text < '0' || *text > '9') {
        snprintf(err, err_len, "%s: trainer state '%s' is not a non-negative integer: '%s'", path, key, text);
        return -1;
    }
    unsigned long long v = strtoull(text, &end, 10);
    if (errno || end == text || *end) {
        snprintf(err, err_len, "%s: trainer state '%s' is not a number: '%s'", path, key, text);
        return -1;
    }
    *out = v;
    return 0;
}

int trainer_state_load(const char *path, AdamWState *opt, const char *const *keys,
                       uint64_t *const *outputs, int n_keys, char *err, size_t err_len) {
    SafeTensors *st = safetensors_open(path, err, err_len);
    if (!st) return -1;
    int64_t shape[1] = { opt->n };
    uint64_t step = 0;
    int rc = -1;
    if (safetensors_read_real(st, "adamw.m", opt->m, 1, shape, err, err_len) != 0) goto done;
    if (safetensors_read_real(st, "adamw.v", opt->v, 1, shape, err, err_len) != 0) goto done;
    if (parse_u64(path, "adamw.step", safetensors_metadata(st, "adamw.step"), &step, err, err_len) != 0) goto done;
    if (step > (uint64_t)LONG_MAX / 2) {
        snprintf(err, err_len, "%s: trainer state 'adamw.step' %llu is not a step count", path,
                 (unsigned long long)step);
        goto done;
    }
    opt->step = (long)step;
    /* The moments feed m / (√v + ε): a NaN, an infinity or a negative v
     * would reach every weight at the first step. */
    for (long i = 0; i < opt->n; i++)
        if (!isfinite(opt->m[i]) || !isfinite(opt->v[i]) || opt->v[i] < 0) {
            snprintf(err, err_len, "%s: trainer state element %ld of adamw.%s is %g; the optimizer state is "
                     "damaged", path, i, isfinite(opt->m[i]) ? "v" : "m",
                     (double)(isfinite(opt->m[i]) ? opt->v[i] : opt->m[i]));
            goto done;
        }
    for (int i = 0; i < n_keys; i++)
        if (parse_u64(path, keys[i], safetensors_metadata(st, keys[i]), outputs[i], err, err_len) != 0) goto done;
    rc = 0;
done:
    safetensors_close(st);
    return rc;
}
