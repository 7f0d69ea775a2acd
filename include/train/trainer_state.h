/* trainer_state.h — what a training run needs besides the model to continue
 * exactly where it stopped: the optimizer's moments and step, and named
 * integers (RNG states, data position, epoch, best metric …). Stored as
 * CHECKPOINT/trainer_state.safetensors: tensors "adamw.m", "adamw.v" and
 * string metadata, written atomically. */
#ifndef BERT_TRAINER_STATE_H
#define BERT_TRAINER_STATE_H

#include <stddef.h>
#include <stdint.h>
#include "train/adamw.h"

#define TRAINER_STATE_MAX_VALUES 32

typedef struct {
    const char *keys[TRAINER_STATE_MAX_VALUES];
    char values[TRAINER_STATE_MAX_VALUES][32];   /* decimal text: exact for 64-bit integers */
    int count;
} TrainerValues;

/* Records key = value (an unsigned 64-bit integer, or a signed one cast). */
void trainer_values_set(TrainerValues *tv, const char *key, uint64_t value);

/* Writes path atomically. */
int trainer_state_save(const char *path, const AdamWState *opt, const TrainerValues *values,
                       char *err, size_t err_len);

/* Reads path into opt (already initialised for n parameters: the sizes must
 * agree) and fetches each requested key into *outputs[i]; a missing key or a
 * malformed number is an error naming the file and key. */
int trainer_state_load(const char *path, AdamWState *opt, const char *const *keys,
                       uint64_t *const *outputs, int n_keys, char *err, size_t err_len);

#endif
