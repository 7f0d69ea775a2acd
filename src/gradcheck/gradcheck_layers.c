/* gradcheck_layers.c — gradient-check cases for the element-wise and lookup
 * layers: embeddings, gelu, tanh, dropout, residual_layernorm, cross_entropy.
 * Each builds a small random instance, takes L = Σ out ⊙ R (so dout = R; for
 * cross-entropy L is the loss itself, so dloss = 1), runs forward + backward
 * and compares every gradient with central differences (gradcheck.h). They are
 * registered in the table in gradcheck_cases.c. */
#include <stdlib.h>
#include "gradcheck/gradcheck.h"
#include "gradcheck/gradcheck_cases.h"
#include "layers/embeddings.h"
#include "layers/gelu.h"
#include "layers/tanh.h"
#include "layers/dropout.h"
#include "layers/residual_layernorm.h"
#include "layers/cross_entropy.h"

/* ---- embeddings ------------------------------------------------------------ */

typedef struct {
    int B, T, C;
    const int *input_ids, *token_type_ids;
    real *word_emb, *pos_emb, *type_emb, *out, *dout;
} EmbeddingsCase;

static real embeddings_case_loss(void *p) {
    EmbeddingsCase *c = p;
    embeddings_forward(c->out, c->input_ids, c->token_type_ids, c->word_emb, c->pos_emb,
                       c->type_emb, c->B, c->T, c->C);
    return (real)gradcheck_dot(c->out, c->dout, (long)c->B * c->T * c->C);
}

void gradcheck_embeddings(GradCheckReport *report, uint64_t seed) {
    Rng rng = rng_seeded(seed);
    /* V = 5 words, P = 4 positions (one unused), TV = 2 types. Word 3 appears
     * three times and word 1 twice, so the scatter-add must sum collisions. */
    enum { B = 2, T = 3, C = 4, V = 5, P = 4, TV = 2 };
    static const int input_ids[B * T] = { 3, 1, 3, 0, 3, 1 };
    static const int token_type_ids[B * T] = { 0, 0, 1, 0, 1, 1 };
    EmbeddingsCase c = { .B = B, .T = T, .C = C, .input_ids = input_ids,
                         .token_type_ids = token_type_ids };
    c.word_emb = gradcheck_random(V * C, &rng, 1);
    c.pos_emb = gradcheck_random(P * C, &rng, 1);
    c.type_emb = gradcheck_random(TV * C, &rng, 1);
    c.dout = gradcheck_random(B * T * C, &rng, 1);
    c.out = gradcheck_zeros(B * T * C);
    real *d_word = gradcheck_zeros(V * C), *d_pos = gradcheck_zeros(P * C);
    real *d_type = gradcheck_zeros(TV * C);
    embeddings_case_loss(&c);
    embeddings_backward(d_word, d_pos, d_type, c.dout, input_ids, token_type_ids, B, T, C);
    gradcheck_tensor(report, "embeddings", "word_emb", embeddings_case_loss, &c, c.word_emb, d_word, V * C);
    gradcheck_tensor(report, "embeddings", "pos_emb", embeddings_case_loss, &c, c.pos_emb, d_pos, P * C);
    gradcheck_tensor(report, "embeddings", "type_emb", embeddings_case_loss, &c, c.type_emb, d_type, TV * C);
    free(c.word_emb); free(c.pos_emb); free(c.type_emb); free(c.dout); free(c.out);
    free(d_word); free(d_pos); free(d_type);
}

/* ---- gelu and tanh: element-wise, one input -------------------------------- */

typedef struct {
    long N;
    void (*forward)(real *out, const real *inp, long N);
    real *inp, *out, *dout;
} ElementwiseCase;

static real elementwise_case_loss(void *p) {
    ElementwiseCase *c = p;
    c->forward(c->out, c->inp, c->N);
    return (real)gradcheck_dot(c->out, c->dout, c->N);
}

void gradcheck_gelu_using(GradCheckReport *report, uint64_t seed, GradCheckElementwiseBackward backward) {
    Rng rng = rng_seeded(seed);
    /* scale 2 puts inputs on both sides of GELU's minimum near x = −0.75 */
    ElementwiseCase c = { .N = 24, .forward = gelu_forward };
    c.inp = gradcheck_random(c.N, &rng, 2);
    c.dout = gradcheck_random(c.N, &rng, 1);
    c.out = gradcheck_zeros(c.N);
    real *dinp = gradcheck_zeros(c.N);
    elementwise_case_loss(&c);
    backward(dinp, c.dout, c.inp, c.N);
    gradcheck_tensor(report, "gelu", "input", elementwise_case_loss, &c, c.inp, dinp, c.N);
    free(c.inp); free(c.dout); free(c.out); free(dinp);
}

static void gelu_backward_accumulating(real *dinp, const real *dout, const real *inp, long N) {
    gelu_backward(dinp, dout, inp, N, true);
}

void gradcheck_gelu(GradCheckReport *report, uint64_t seed) {
    gradcheck_gelu_using(report, seed, gelu_backward_accumulating);
}

void gradcheck_tanh(GradCheckReport *report, uint64_t seed) {
    Rng rng = rng_seeded(seed);
    ElementwiseCase c = { .N = 24, .forward = tanh_forward };
    c.inp = gradcheck_random(c.N, &rng, 1.5);
    c.dout = gradcheck_random(c.N, &rng, 1);
    c.out = gradcheck_zeros(c.N);
    real *dinp = gradcheck_zeros(c.N);
    elementwise_case_loss(&c);
    tanh_backward(dinp, c.dout, c.out, c.N);
    gradcheck_tensor(report, "tanh", "input", elementwise_case_loss, &c, c.inp, dinp, c.N);
    free(c.inp); free(c.dout); free(c.out); free(dinp);
}

/* ---- dropout --------------------------------------------------------------- */

typedef struct {
    long N;
    real p;
    uint64_t key;
    real *inp, *out, *dout;
    uint8_t *mask;
} DropoutCase;

static real dropout_case_loss(void *p) {
    DropoutCase *c = p;
    /* the same key every call, so the mask is fixed while inp is perturbed */
    dropout_forward(c->out, c->mask, c->inp, c->p, c->key, c->N, true);
    return (real)gradcheck_dot(c->out, c->dout, c->N);
}

void gradcheck_dropout(GradCheckReport *report, uint64_t seed) {
    Rng rng = rng_seeded(seed);
    DropoutCase c = { .N = 40, .p = (real)0.25, .key = 0x1234abcdULL };
    c.inp = gradcheck_random(c.N, &rng, 1);
    c.dout = gradcheck_random(c.N, &rng, 1);
    c.out = gradcheck_zeros(c.N);
    c.mask = calloc((size_t)c.N, 1);
    real *dinp = gradcheck_zeros(c.N);
    dropout_case_loss(&c);
    dropout_backward(dinp, c.dout, c.mask, c.p, c.N);
    gradcheck_tensor(report, "dropout", "input", dropout_case_loss, &c, c.inp, dinp, c.N);
    free(c.inp); free(c.dout); free(c.out); free(c.mask); free(dinp);
}

/* ---- residual_layernorm ---------------------------------------------------- */

typedef struct {
    int N, C;
    real eps;
    real *residual, *inp, *weight, *bias, *out, *sum, *mean, *rstd, *dout;
} ResidualLayerNormCase;

static real residual_layernorm_case_loss(void *p) {
    ResidualLayerNormCase *c = p;
    residual_layernorm_forward(c->out, c->sum, c->mean, c->rstd, c->residual, c->inp,
                               c->weight, c->bias, c->eps, c->N, c->C);
    return (real)gradcheck_dot(c->out, c->dout, (long)c->N * c->C);
}

void gradcheck_residual_layernorm(GradCheckReport *report, uint64_t seed) {
    Rng rng = rng_seeded(seed);
    ResidualLayerNormCase c = { .N = 4, .C = 6, .eps = (real)1e-12 };
    long NC = (long)c.N * c.C;
    c.residual = gradcheck_random(NC, &rng, 1);
    c.inp = gradcheck_random(NC, &rng, 1);
    c.weight = gradcheck_random(c.C, &rng, 1);
    c.bias = gradcheck_random(c.C, &rng, 1);
    c.dout = gradcheck_random(NC, &rng, 1);
    c.out = gradcheck_zeros(NC);
    c.sum = gradcheck_zeros(NC);
    c.mean = gradcheck_zeros(c.N);
    c.rstd = gradcheck_zeros(c.N);
    real *d_residual = gradcheck_zeros(NC), *d_inp = gradcheck_zeros(NC), *d_sum = gradcheck_zeros(NC);
    real *dweight = gradcheck_zeros(c.C), *dbias = gradcheck_zeros(c.C);
    residual_layernorm_case_loss(&c);
    residual_layernorm_backward(d_residual, d_inp, dweight, dbias, d_sum, c.dout, c.sum,
                                c.weight, c.mean, c.rstd, c.N, c.C);
    const char *name = "residual_layernorm";
    gradcheck_tensor(report, name, "residual", residual_layernorm_case_loss, &c, c.residual, d_residual, NC);
    gradcheck_tensor(report, name, "input", residual_layernorm_case_loss, &c, c.inp, d_inp, NC);
    gradcheck_tensor(report, name, "weight", residual_layernorm_case_loss, &c, c.weight, dweight, c.C);
    gradcheck_tensor(report, name, "bias", residual_layernorm_case_loss, &c, c.bias, dbias, c.C);
    free(c.residual); free(c.inp); free(c.weight); free(c.bias); free(c.dout); free(c.out);
    free(c.sum); free(c.mean); free(c.rstd);
    free(d_residual); free(d_inp); free(d_sum); free(dweight); free(dbias);
}

/* ---- cross_entropy --------------------------------------------------------- */

typedef struct {
    int N, V;
    const int *targets;
    real *logits, *probs;
} CrossEntropyCase;

static real cross_entropy_case_loss(void *p) {
    CrossEntropyCase *c = p;
    return cross_entropy_forward(c->probs, NULL, c->logits, NULL, c->targets, c->N, c->V, NULL);
}

void gradcheck_cross_entropy(GradCheckReport *report, uint64_t seed) {
    Rng rng = rng_seeded(seed);
    /* two of six rows ignored, so the mean is over 4 rows */
    enum { N = 6, V = 7 };
    static const int targets[N] = { 2, IGNORE_INDEX, 6, 0, IGNORE_INDEX, 2 };
    CrossEntropyCase c = { .N = N, .V = V, .targets = targets };
    c.logits = gradcheck_random(N * V, &rng, 2);
    c.probs = gradcheck_zeros(N * V);
    real *dlogits = gradcheck_zeros(N * V);
    cross_entropy_case_loss(&c);
    cross_entropy_backward(dlogits, c.probs, targets, 1, N, V);
    gradcheck_tensor(report, "cross_entropy", "logits", cross_entropy_case_loss, &c, c.logits, dlogits, N * V);
    free(c.logits); free(c.probs); free(dlogits);
}
