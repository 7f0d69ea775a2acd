/* profile.h — optional wall-clock timing of the model's blocks, for
 * `bert bench`'s per-layer-kind breakdown.
 *
 * Off by default: each hook then costs one test of a global flag. When
 * bert_profiling is true, PROFILE_BEGIN/PROFILE_END add the seconds spent in
 * the block to bert_profile_seconds[kind]. Blocks are timed from the calling
 * (master) thread, around whole parallel loops, so the figures are wall time. */
#ifndef BERT_PROFILE_H
#define BERT_PROFILE_H

#include <stdbool.h>
#include <omp.h>

typedef enum {
    PROFILE_EMBEDDINGS,   /* lookup + LayerNorm + dropout, and their backward */
    PROFILE_ATTENTION,    /* QKV, scores, softmax, context, output projection, its dropout */
    PROFILE_FFN,          /* Linear → GELU → Linear, its dropout */
    PROFILE_LAYERNORM,    /* the two residual + LayerNorm steps of each layer */
    PROFILE_MLM_HEAD,     /* gather, transform, decoder, cross-entropy, scatter back */
    PROFILE_NSP_POOLER,   /* pooler, NSP or classifier head and its loss */
    PROFILE_OPTIMIZER,    /* adamw_step (timed by the caller) */
    PROFILE_KINDS
} ProfileKind;

extern bool bert_profiling;
extern double bert_profile_seconds[PROFILE_KINDS];
extern const char *const bert_profile_names[PROFILE_KINDS];

void bert_profile_reset(void);

#define PROFILE_BEGIN(var) double var = bert_profiling ? omp_get_wtime() : 0
#define PROFILE_END(kind, var) \
    do { if (bert_profiling) bert_profile_seconds[kind] += omp_get_wtime() - (var); } while (0)

#endif
