/* gradcheck_cases.h — the gradient-check cases registered in
 * gradcheck_cases.c, one per layer or block (see gradcheck.h). Each runs a
 * small random instance forward and backward and appends its lines. */
#ifndef BERT_GRADCHECK_CASES_H
#define BERT_GRADCHECK_CASES_H

#include <stdint.h>
#include "gradcheck/gradcheck.h"

void gradcheck_embeddings(GradCheckReport *r, uint64_t seed);
void gradcheck_gelu(GradCheckReport *r, uint64_t seed);
void gradcheck_tanh(GradCheckReport *r, uint64_t seed);
void gradcheck_dropout(GradCheckReport *r, uint64_t seed);
void gradcheck_softmax(GradCheckReport *r, uint64_t seed);
void gradcheck_attention(GradCheckReport *r, uint64_t seed);
void gradcheck_attention_causal(GradCheckReport *r, uint64_t seed);
void gradcheck_residual_layernorm(GradCheckReport *r, uint64_t seed);
void gradcheck_cross_entropy(GradCheckReport *r, uint64_t seed);

void gradcheck_feedforward(GradCheckReport *r, uint64_t seed);
void gradcheck_encoder_layer(GradCheckReport *r, uint64_t seed);
void gradcheck_encoder_layer_parallel(GradCheckReport *r, uint64_t seed);
void gradcheck_pooler(GradCheckReport *r, uint64_t seed);
void gradcheck_mlm_head(GradCheckReport *r, uint64_t seed);
void gradcheck_nsp_head(GradCheckReport *r, uint64_t seed);
void gradcheck_classifier_head(GradCheckReport *r, uint64_t seed);
void gradcheck_model_pretraining(GradCheckReport *r, uint64_t seed);
void gradcheck_model_classifier(GradCheckReport *r, uint64_t seed);
/* the options (gradcheck_options.c) */
void gradcheck_relu(GradCheckReport *r, uint64_t seed);
void gradcheck_feedforward_relu(GradCheckReport *r, uint64_t seed);
void gradcheck_sequence_pooling_mean(GradCheckReport *r, uint64_t seed);
void gradcheck_sequence_pooling_max(GradCheckReport *r, uint64_t seed);
void gradcheck_model_causal(GradCheckReport *r, uint64_t seed);
void gradcheck_model_relu(GradCheckReport *r, uint64_t seed);
void gradcheck_model_sinusoidal(GradCheckReport *r, uint64_t seed);
void gradcheck_model_mean_pooling(GradCheckReport *r, uint64_t seed);
void gradcheck_model_max_pooling(GradCheckReport *r, uint64_t seed);

/* The gelu case with another backward in place of gelu_backward (same
 * signature: dinp += dout ⊙ gelu'(inp)): the tests and docs/labs/ use it to
 * show that a wrong derivative fails the check. */
typedef void (*GradCheckElementwiseBackward)(real *dinp, const real *dout, const real *inp, long N);
void gradcheck_gelu_using(GradCheckReport *r, uint64_t seed, GradCheckElementwiseBackward backward);

#endif
