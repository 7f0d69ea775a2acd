/* activation.h — the feed-forward (and masked-LM transform) activation chosen
 * by config.json's hidden_act: GELU (BERT's, docs/gelu.md) or ReLU
 * (docs/relu.md). Hugging Face uses the same hidden_act in both places. */
#ifndef BERT_ACTIVATION_H
#define BERT_ACTIVATION_H

#include "core/real.h"
#include "layers/gelu.h"
#include "layers/relu.h"

typedef enum { HIDDEN_ACT_GELU = 0, HIDDEN_ACT_RELU = 1 } HiddenAct;

/* out[N] = act(inp[N]) */
static inline void activation_forward(HiddenAct act, real *out, const real *inp, long N) {
    if (act == HIDDEN_ACT_RELU) relu_forward(out, inp, N);
    else gelu_forward(out, inp, N);
}

/* pre[N,C] += bias; out = act(pre) */
static inline void activation_forward_with_bias(HiddenAct act, real *out, real *pre, const real *bias, int N, int C) {
    if (act == HIDDEN_ACT_RELU) relu_forward_with_bias(out, pre, bias, N, C);
    else gelu_forward_with_bias(out, pre, bias, N, C);
}

/* dinp[N] += dout[N] · act'(inp[N]); with accumulate false, dinp = … (dinp may be dout) */
static inline void activation_backward(HiddenAct act, real *dinp, const real *dout, const real *inp, long N,
                                       bool accumulate) {
    if (act == HIDDEN_ACT_RELU) relu_backward(dinp, dout, inp, N, accumulate);
    else gelu_backward(dinp, dout, inp, N, accumulate);
}

#endif
