/* encoder_layer.h — one post-LN BERT encoder layer (Hugging Face BertLayer):
 *
 *   a   = attention(x)                          (Q,K,V, softmax, output projection)
 *   h   = LayerNorm(x + dropout(a))             (BertSelfOutput)
 *   f   = W2 · gelu(W1 · h + b1) + b2           (BertIntermediate + BertOutput.dense;
 *                                                 relu instead with activation HIDDEN_ACT_RELU)
 *   out = LayerNorm(h + dropout(f))             (BertOutput)
 *
 * Derivation: docs/encoder_layer.md. Shapes: N = B·T rows of C features, NH
 * heads, I the intermediate size. */
#ifndef BERT_ENCODER_LAYER_H
#define BERT_ENCODER_LAYER_H

#include <stdbool.h>
#include <stdint.h>
#include "core/real.h"
#include "layers/activation.h"

/* Views into the model's parameter (or gradient) buffer for one layer. */
typedef struct {
    real *w_qkv;      /* [3C,C]  query, key, value weights stacked (HF: attention.self.{query,key,value}.weight) */
    real *b_qkv;      /* [3C] */
    real *w_attn_out; /* [C,C]   attention.output.dense.weight */
    real *b_attn_out; /* [C] */
    real *ln1_w;      /* [C]     attention.output.LayerNorm.weight */
    real *ln1_b;      /* [C] */
    real *w_ff1;      /* [I,C]   intermediate.dense.weight */
    real *b_ff1;      /* [I] */
    real *w_ff2;      /* [C,I]   output.dense.weight */
    real *b_ff2;      /* [C] */
    real *ln2_w;      /* [C]     output.LayerNorm.weight */
    real *ln2_b;      /* [C] */
} EncoderLayerParams;

/* What the forward pass saves for the backward pass, per layer. */
typedef struct {
    real *qkv;              /* [B,T,3C] */
    real *probs;            /* [B,NH,T,T] attention probabilities */
    uint8_t *probs_mask;    /* [B,NH,T,T] attention-dropout mask */
    real *probs_dropped;    /* [B,NH,T,T] (forward only: attention_backward rebuilds it) */
    real *context;          /* [B,T,C] heads concatenated */
    real *attn_out;         /* [B,T,C] attention output after hidden dropout (forward only: backward reads its mask, not it) */
    uint8_t *attn_out_mask; /* [B,T,C] */
    real *ln1_sum;          /* [B,T,C] x + dropout(a) */
    real *ln1_mean, *ln1_rstd; /* [B,T] */
    real *ln1_out;          /* [B,T,C] h */
    real *ff_pre;           /* [B,T,I] before GELU */
    real *ff_act;           /* [B,T,I] after GELU (forward only: backward recomputes it from ff_pre) */
    real *ff_out;           /* [B,T,C] after hidden dropout (forward only, like attn_out) */
    uint8_t *ff_out_mask;   /* [B,T,C] */
    real *ln2_sum;          /* [B,T,C] h + dropout(f) */
    real *ln2_mean, *ln2_rstd; /* [B,T] */
    real *out;              /* [B,T,C] the layer's output */
} EncoderLayerCache;

/* Scratch for the backward pass, shared by all layers (overwritten). */
typedef struct {
    real *d_h;         /* [B,T,C] gradient w.r.t. h */
    real *d_branch;    /* [B,T,C] gradient of a sublayer's output after dropout */
    real *d_sublayer;  /* [B,T,C] the same before dropout */
    real *d_sum;       /* [B,T,C] LayerNorm input gradient */
    real *d_qkv;       /* [B,T,3C] */
    real *d_context;   /* [B,T,C] */
    real *d_probs;     /* [B,NH,T,T] */
    real *d_ff_act;    /* [B,T,I] */
    real *d_ff_pre;    /* [B,T,I] */
} EncoderLayerScratch;

typedef struct {
    int B, T, C, NH, I;
    real layer_norm_eps;
    real hidden_dropout, attention_dropout;  /* probabilities; used only when training */
    bool training;
    bool causal;                             /* query t attends to keys 0..t only (is_decoder) */
    HiddenAct activation;                    /* the feed-forward's (hidden_act); 0 = GELU */
    uint64_t dropout_key;                    /* distinct per layer and step */
    long first_row;                          /* row 0 is this row of the whole batch (model.h
                                              * BertBatch): masks are drawn from there on */
} EncoderLayerShape;

/* inp[B,T,C] → cache->out[B,T,C]; mask_add[B,T] as in attention.h (NULL = none). */
void encoder_layer_forward(EncoderLayerCache *cache, const real *inp, const real *mask_add,
                           const EncoderLayerParams *params, const EncoderLayerShape *shape);

/* Accumulates dinp[B,T,C] and every parameter gradient in grads from dout[B,T,C]. */
void encoder_layer_backward(real *dinp, EncoderLayerParams *grads, EncoderLayerScratch *scratch,
                            const real *dout, const real *inp, const EncoderLayerCache *cache,
                            const EncoderLayerParams *params, const EncoderLayerShape *shape);

#endif
