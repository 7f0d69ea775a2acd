/* gradcheck_layers.h — the gradient-check cases defined in gradcheck_layers.c,
 * for the registry in gradcheck_cases.c. Each runs one layer's forward and
 * backward on a small random instance and appends its lines to the report. */
#ifndef BERT_GRADCHECK_LAYERS_H
#define BERT_GRADCHECK_LAYERS_H

#include <stdint.h>
#include "gradcheck.h"

void gradcheck_embeddings(GradCheckReport *report, uint64_t seed);
void gradcheck_gelu(GradCheckReport *report, uint64_t seed);
void gradcheck_tanh(GradCheckReport *report, uint64_t seed);
void gradcheck_dropout(GradCheckReport *report, uint64_t seed);
void gradcheck_residual_layernorm(GradCheckReport *report, uint64_t seed);
void gradcheck_cross_entropy(GradCheckReport *report, uint64_t seed);

#endif
