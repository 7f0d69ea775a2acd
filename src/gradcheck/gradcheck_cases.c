/* gradcheck_cases.c — the registry of gradient-check cases, and the cases for
 * the linear and layernorm layers. Each case builds a small random instance,
 * takes L = Σ out ⊙ R (so dout = R), and checks the input and every parameter.
 * Cases for the other layers: gradcheck_layers.c (element-wise layers and
 * losses), gradcheck_attention.c, gradcheck_composites.c, gradcheck_model.c. */
#include <stdlib.h>
#include <string.h>
#include "gradcheck/gradcheck.h"
#include "layers/linear.h"
#include "layers/layernorm.h"
#include "gradcheck/gradcheck_cases.h"

/* ---- linear ---------------------------------------------------------------- */

typedef struct {
    int N, IC, OC;
    real *inp, *weight, *bias, *out, *dout;
} LinearCase;

static real linear_case_loss(void *p) {
    LinearCase *c = p;
    linear_forward(c->out, c->inp, c->weight, c->bias, c->N, c->IC, c->OC);
    return (real)gradcheck_dot(c->out, c->dout, (long)c->N * c->OC);
}

static void gradcheck_linear(GradCheckReport *report, uint64_t seed) {
    Rng rng = rng_seeded(seed);
    LinearCase c = { .N = 5, .IC = 7, .OC = 4 };
    c.inp = gradcheck_random((long)c.N * c.IC, &rng, 1);
    c.weight = gradcheck_random((long)c.OC * c.IC, &rng, 0.5);
    c.bias = gradcheck_random(c.OC, &rng, 0.5);
    c.dout = gradcheck_random((long)c.N * c.OC, &rng, 1);
    c.out = gradcheck_zeros((long)c.N * c.OC);
    real *dinp = gradcheck_zeros((long)c.N * c.IC);
    real *dweight = gradcheck_zeros((long)c.OC * c.IC);
    real *dbias = gradcheck_zeros(c.OC);
    linear_case_loss(&c);
    linear_backward(dinp, dweight, dbias, c.dout, c.inp, c.weight, c.N, c.IC, c.OC);
    gradcheck_tensor(report, "linear", "input", linear_case_loss, &c, c.inp, dinp, (long)c.N * c.IC);
    gradcheck_tensor(report, "linear", "weight", linear_case_loss, &c, c.weight, dweight, (long)c.OC * c.IC);
    gradcheck_tensor(report, "linear", "bias", linear_case_loss, &c, c.bias, dbias, c.OC);
    free(c.inp); free(c.weight); free(c.bias); free(c.dout); free(c.out);
    free(dinp); free(dweight); free(dbias);
}

/* ---- layernorm ------------------------------------------------------------- */

typedef struct {
    int N, C;
    real eps;
    real *inp, *weight, *bias, *out, *mean, *rstd, *dout;
} LayerNormCase;

static real layernorm_case_loss(void *p) {
    LayerNormCase *c = p;
    layernorm_forward(c->out, c->mean, c->rstd, c->inp, c->weight, c->bias, c->eps, c->N, c->C);
    return (real)gradcheck_dot(c->out, c->dout, (long)c->N * c->C);
}

static void gradcheck_layernorm(GradCheckReport *report, uint64_t seed) {
    Rng rng = rng_seeded(seed);
    LayerNormCase c = { .N = 4, .C = 6, .eps = (real)1e-12 };
    long NC = (long)c.N * c.C;
    c.inp = gradcheck_random(NC, &rng, 1);
    c.weight = gradcheck_random(c.C, &rng, 1);
    c.bias = gradcheck_random(c.C, &rng, 1);
    c.dout = gradcheck_random(NC, &rng, 1);
    c.out = gradcheck_zeros(NC);
    c.mean = gradcheck_zeros(c.N);
    c.rstd = gradcheck_zeros(c.N);
    real *dinp = gradcheck_zeros(NC), *dweight = gradcheck_zeros(c.C), *dbias = gradcheck_zeros(c.C);
    layernorm_case_loss(&c);
    layernorm_backward(dinp, dweight, dbias, c.dout, c.inp, c.weight, c.mean, c.rstd, c.N, c.C);
    gradcheck_tensor(report, "layernorm", "input", layernorm_case_loss, &c, c.inp, dinp, NC);
    gradcheck_tensor(report, "layernorm", "weight", layernorm_case_loss, &c, c.weight, dweight, c.C);
    gradcheck_tensor(report, "layernorm", "bias", layernorm_case_loss, &c, c.bias, dbias, c.C);
    free(c.inp); free(c.weight); free(c.bias); free(c.dout); free(c.out); free(c.mean); free(c.rstd);
    free(dinp); free(dweight); free(dbias);
}

/* ---- registry, in the course's reading order (docs/README.md) -------------- */


const GradCheckCase gradcheck_cases[] = {
    { "embeddings", "word + position + token-type lookups, summed", gradcheck_embeddings },
    { "linear", "y = x Wᵀ + b", gradcheck_linear },
    { "layernorm", "normalise over the hidden axis, scale and shift", gradcheck_layernorm },
    { "gelu", "x·Φ(x), exact erf form", gradcheck_gelu },
    { "tanh", "tanh(x), backward from the output", gradcheck_tanh },
    { "softmax", "row-wise softmax", gradcheck_softmax },
    { "dropout", "inverted dropout, p = 0.25, fixed key", gradcheck_dropout },
    { "attention", "multi-head self-attention, padding mask, dropout p=0.1", gradcheck_attention },
    { "attention_causal", "attention with a causal mask as well", gradcheck_attention_causal },
    { "residual_layernorm", "LayerNorm(residual + inp), post-LN", gradcheck_residual_layernorm },
    { "feedforward", "Linear → GELU → Linear", gradcheck_feedforward },
    { "encoder_layer", "attention, dropout, residual+LN, feed-forward, dropout, residual+LN", gradcheck_encoder_layer },
    { "encoder_layer_parallel", "encoder layer above the thread thresholds, 2 threads, 6 elements per tensor", gradcheck_encoder_layer_parallel },
    { "pooler", "tanh(W h_[CLS] + b)", gradcheck_pooler },
    { "mlm_head", "dense → GELU → LayerNorm → tied decoder + bias", gradcheck_mlm_head },
    { "nsp_head", "pooled → 2 logits", gradcheck_nsp_head },
    { "classifier_head", "pooled → dropout → K logits", gradcheck_classifier_head },
    { "cross_entropy", "softmax + NLL, ignore index −100, mean over counted rows", gradcheck_cross_entropy },
    { "model", "whole tiny BERT, MLM + NSP loss, dropout on", gradcheck_model_pretraining },
    { "model_classifier", "whole tiny BERT, classification loss, dropout on", gradcheck_model_classifier },
    { "relu", "max(0, x), subgradient 0 at 0", gradcheck_relu },
    { "feedforward_relu", "Linear → ReLU → Linear", gradcheck_feedforward_relu },
    { "sequence_pooling_mean", "mean over the real tokens of each sequence", gradcheck_sequence_pooling_mean },
    { "sequence_pooling_max", "max over the real tokens, gradient to the argmax", gradcheck_sequence_pooling_max },
    { "model_causal", "whole tiny BERT, MLM + NSP, causal attention (is_decoder)", gradcheck_model_causal },
    { "model_relu", "whole tiny BERT, MLM + NSP, hidden_act relu", gradcheck_model_relu },
    { "model_sinusoidal", "whole tiny BERT, MLM + NSP, fixed sinusoidal positions", gradcheck_model_sinusoidal },
    { "model_mean_pooling", "whole tiny BERT, classifier on the mean of the tokens", gradcheck_model_mean_pooling },
    { "model_max_pooling", "whole tiny BERT, classifier on the max over the tokens", gradcheck_model_max_pooling },
};
const int gradcheck_case_count = sizeof gradcheck_cases / sizeof gradcheck_cases[0];
