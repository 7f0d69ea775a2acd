/* mlm_head.c — the masked-LM prediction head with its decoder tied to the
 * word embeddings. */
#include <string.h>
#include "layers/mlm_head.h"
#include "layers/linear.h"
#include "layers/activation.h"
#include "layers/layernorm.h"

void mlm_head_forward(real *logits, real *pre, real *act, real *ln_out, real *ln_mean, real *ln_rstd,
                      const real *inp, const real *dense_w, const real *dense_b,
                      const real *ln_w, const real *ln_b, const real *word_emb,
                      const real *out_bias, real eps, int M, int C, int V, HiddenAct activation) {
    linear_forward(pre, inp, dense_w, NULL, M, C, C);   /* dense_b is added in the activation's pass */
    activation_forward_with_bias(activation, act, pre, dense_b, M, C);
    layernorm_forward(ln_out, ln_mean, ln_rstd, act, ln_w, ln_b, eps, M, C);
    /* the decoder is a linear layer whose [V,C] weight is the embedding table */
    linear_forward(logits, ln_out, word_emb, out_bias, M, C, V);
}

/* docs/heads.md#masked-lm-head (HD6)–(HD9): the decoder's weight gradient adds
 * to the word-embedding gradient, because it is the same tensor. dlogits is
 * used up: with bf16 products it is rounded in its own storage (the M×V
 * gradient is a step's largest operand; a copy would cost M·V·2 bytes). */
void mlm_head_backward(real *dinp, real *d_dense_w, real *d_dense_b, real *d_ln_w, real *d_ln_b,
                       real *d_word_emb, real *d_out_bias,
                       real *d_ln_out, real *d_act, real *d_pre,
                       real *dlogits, const real *inp, const real *pre, const real *act,
                       const real *ln_out, const real *ln_mean, const real *ln_rstd,
                       const real *dense_w, const real *ln_w, const real *word_emb,
                       int M, int C, int V, HiddenAct activation) {
    size_t bytes = sizeof(real) * (size_t)M * C;
    memset(d_ln_out, 0, bytes);
    linear_backward_consuming(d_ln_out, d_word_emb, d_out_bias, dlogits, ln_out, word_emb, M, C, V);
    memset(d_act, 0, bytes);
    layernorm_backward(d_act, d_ln_w, d_ln_b, d_ln_out, act, ln_w, ln_mean, ln_rstd, M, C);
    activation_backward(activation, d_pre, d_act, pre, (long)M * C, false);
    linear_backward(dinp, d_dense_w, d_dense_b, d_pre, inp, dense_w, M, C, C);
}
