/* profile.c — the counters behind include/profile.h. */
#include <string.h>
#include "core/profile.h"

bool bert_profiling = false;
double bert_profile_seconds[PROFILE_KINDS];
const char *const bert_profile_names[PROFILE_KINDS] = {
    "embeddings", "attention", "FFN", "LayerNorm", "MLM head", "NSP/pooler", "optimizer",
};

void bert_profile_reset(void) { memset(bert_profile_seconds, 0, sizeof bert_profile_seconds); }
