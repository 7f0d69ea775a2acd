/* encoder_layer.c — a post-LN transformer layer composed from the layers:
 * attention → dropout → residual+LayerNorm → feed-forward → dropout →
 * residual+LayerNorm. */
#include <string.h>
#include "layers/encoder_layer.h"
#include "layers/attention.h"
#include "layers/dropout.h"
#include "layers/residual_layernorm.h"
#include "layers/feedforward.h"
#include "layers/activation.h"
#include "core/rng.h"
#include "core/profile.h"

/* Dropout sites within a layer get independent streams derived from the
 * layer's key. */
enum { SITE_ATTENTION_PROBS = 1, SITE_ATTENTION_OUTPUT = 2, SITE_FEEDFORWARD_OUTPUT = 3 };
static uint64_t site_key(uint64_t layer_key, int site) { return splitmix64_mix(layer_key + (uint64_t)site); }

/* A site's stream, entered at this batch's first row of `row_elems` elements
 * per sequence (rng_key_skip), so a slice of a batch drops what the whole
 * batch would. */
static uint64_t slice_key(const EncoderLayerShape *s, int site, long row_elems) {
    return rng_key_skip(site_key(s->dropout_key, site), (uint64_t)s->first_row * (uint64_t)row_elems);
}

void encoder_layer_forward(EncoderLayerCache *cache, const real *inp, const real *mask_add,
                           const EncoderLayerParams *p, const EncoderLayerShape *s) {
    int B = s->B, T = s->T, C = s->C, N = B * T;
    long NC = (long)N * C;
    real p_att = s->training ? s->attention_dropout : 0;
    real p_hid = s->training ? s->hidden_dropout : 0;

    PROFILE_BEGIN(t_att);
    attention_forward(cache->attn_out, cache->qkv, cache->probs, cache->probs_mask,
                      cache->probs_dropped, cache->context, inp, mask_add,
                      p->w_qkv, p->b_qkv, p->w_attn_out, p->b_attn_out,
                      p_att, slice_key(s, SITE_ATTENTION_PROBS, (long)s->NH * T * T), s->training, s->causal,
                      B, T, C, s->NH);
    dropout_forward(cache->attn_out, cache->attn_out_mask, cache->attn_out, p_hid,
                    slice_key(s, SITE_ATTENTION_OUTPUT, (long)T * C), NC, s->training);
    PROFILE_END(PROFILE_ATTENTION, t_att);
    PROFILE_BEGIN(t_ln1);
    residual_layernorm_forward(cache->ln1_out, cache->ln1_sum, cache->ln1_mean, cache->ln1_rstd,
                               inp, cache->attn_out, p->ln1_w, p->ln1_b, s->layer_norm_eps, N, C);
    PROFILE_END(PROFILE_LAYERNORM, t_ln1);

    PROFILE_BEGIN(t_ffn);
    feedforward_forward(cache->ff_out, cache->ff_pre, cache->ff_act, cache->ln1_out,
                        p->w_ff1, p->b_ff1, p->w_ff2, p->b_ff2, N, C, s->I, s->activation);
    dropout_forward(cache->ff_out, cache->ff_out_mask, cache->ff_out, p_hid,
                    slice_key(s, SITE_FEEDFORWARD_OUTPUT, (long)T * C), NC, s->training);
    PROFILE_END(PROFILE_FFN, t_ffn);
    PROFILE_BEGIN(t_ln2);
    residual_layernorm_forward(cache->out, cache->ln2_sum, cache->ln2_mean, cache->ln2_rstd,
                               cache->ln1_out, cache->ff_out, p->ln2_w, p->ln2_b, s->layer_norm_eps, N, C);
    PROFILE_END(PROFILE_LAYERNORM, t_ln2);
}

/* docs/encoder_layer.md (EL5)–(EL9): the forward steps in reverse; h receives
 * gradient from both its residual path and the feed-forward branch, and x
 * from both its residual path and attention. */
void encoder_layer_backward(real *dinp, EncoderLayerParams *g, EncoderLayerScratch *sc,
                            const real *dout, const real *inp, const EncoderLayerCache *cache,
                            const EncoderLayerParams *p, const EncoderLayerShape *s) {
    int B = s->B, T = s->T, C = s->C, N = B * T;
    long NC = (long)N * C;
    size_t bytes = sizeof(real) * (size_t)NC;
    real p_att = s->training ? s->attention_dropout : 0;
    real p_hid = s->training ? s->hidden_dropout : 0;

    /* out = LN(h + dropout(f)) */
    PROFILE_BEGIN(t_ln2);
    memset(sc->d_h, 0, bytes);
    memset(sc->d_branch, 0, bytes);
    residual_layernorm_backward(sc->d_h, sc->d_branch, g->ln2_w, g->ln2_b, sc->d_sum, dout,
                                cache->ln2_sum, p->ln2_w, cache->ln2_mean, cache->ln2_rstd, N, C);
    PROFILE_END(PROFILE_LAYERNORM, t_ln2);
    PROFILE_BEGIN(t_ffn);
    memset(sc->d_sublayer, 0, bytes);
    dropout_backward(sc->d_sublayer, sc->d_branch, cache->ff_out_mask, p_hid, NC);
    feedforward_backward(sc->d_h, g->w_ff1, g->b_ff1, g->w_ff2, g->b_ff2, sc->d_ff_act, sc->d_ff_pre,
                         sc->d_sublayer, cache->ln1_out, cache->ff_pre,
                         p->w_ff1, p->w_ff2, N, C, s->I, s->activation);
    PROFILE_END(PROFILE_FFN, t_ffn);

    /* h = LN(x + dropout(a)) */
    PROFILE_BEGIN(t_ln1);
    memset(sc->d_branch, 0, bytes);
    residual_layernorm_backward(dinp, sc->d_branch, g->ln1_w, g->ln1_b, sc->d_sum, sc->d_h,
                                cache->ln1_sum, p->ln1_w, cache->ln1_mean, cache->ln1_rstd, N, C);
    PROFILE_END(PROFILE_LAYERNORM, t_ln1);
    PROFILE_BEGIN(t_att);
    memset(sc->d_sublayer, 0, bytes);
    dropout_backward(sc->d_sublayer, sc->d_branch, cache->attn_out_mask, p_hid, NC);
    attention_backward(dinp, g->w_qkv, g->b_qkv, g->w_attn_out, g->b_attn_out,
                       sc->d_qkv, sc->d_context, sc->d_probs, sc->d_sublayer, inp, cache->qkv,
                       cache->probs, cache->probs_mask, cache->context,
                       p->w_qkv, p->w_attn_out, p_att, B, T, C, s->NH);
    PROFILE_END(PROFILE_ATTENTION, t_att);
}
