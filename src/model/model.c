/* model.c — BERT assembled from the layers: the parameter layout and its
 * Hugging Face names, BERT's initialisation, the activation arena, and the
 * forward and backward passes of the pretraining and classification models. */
#include <assert.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "model/model.h"
#include "core/gemm.h"
#include "core/gemm_bf16.h"
#include "core/pages.h"
#include "layers/attention.h"
#include "layers/embeddings.h"
#include "layers/layernorm.h"
#include "layers/dropout.h"
#include "layers/pooler.h"
#include "layers/sequence_pooling.h"
#include "layers/mlm_head.h"
#include "layers/nsp_head.h"
#include "layers/classifier_head.h"
#include "layers/cross_entropy.h"
#include "core/rng.h"
#include "core/profile.h"

/* ---- parameter layout ------------------------------------------------------ */

/* Walks the parameter layout in buffer order. With assign = false it only
 * records names, shapes and offsets (and so sizes the buffers); with
 * assign = true it also points the views of m->params and m->grads into the
 * allocated buffers. One walk for both, so the two can never disagree. */
typedef struct {
    BertModel *m;
    long cursor;
    bool assign;
    /* Sizing stops at the first tensor that would take the count past
     * MAX_PARAMS; these name it and the config key of its larger dimension. */
    const char *too_large_key;
    int64_t too_large_value;
    char too_large_tensor[96];
} LayoutWalk;

/* Elements of one parameter buffer: its size in bytes must fit in ptrdiff_t. */
#define MAX_PARAMS ((int64_t)(PTRDIFF_MAX / sizeof(real)))

/* key0 and key1 are the config keys of d0 and d1, for the error message. */
static void place(LayoutWalk *w, real **param_view, real **grad_view, const char *name,
                  int ndim, int64_t d0, const char *key0, int64_t d1, const char *key1, bool decay) {
    BertModel *m = w->m;
    if (w->too_large_key) return;
    int64_t count = d0, end;
    if ((ndim == 2 && __builtin_mul_overflow(d0, d1, &count)) ||
        __builtin_add_overflow((int64_t)w->cursor, count, &end) || end > MAX_PARAMS) {
        bool first = ndim == 1 || d0 >= d1;
        w->too_large_key = first ? key0 : key1;
        w->too_large_value = first ? d0 : d1;
        snprintf(w->too_large_tensor, sizeof w->too_large_tensor, "%s", name);
        return;
    }
    if (w->assign) {
        if (param_view) *param_view = m->params_memory + w->cursor;
        if (grad_view) *grad_view = m->grads_memory + w->cursor;
    } else {
        ParamTensor *t = &m->tensors[m->num_tensors++];
        snprintf(t->name, sizeof t->name, "%s", name);
        t->ndim = ndim;
        t->shape[0] = d0;
        t->shape[1] = ndim == 2 ? d1 : 0;
        t->offset = w->cursor;
        t->count = count;
        t->decay = decay;
    }
    w->cursor += count;
}

/* A weight matrix (decayed) or a bias / LayerNorm vector (not decayed), as in
 * Google's optimization.py exclusion of "LayerNorm", "layer_norm" and "bias". */
#define WEIGHT(field, name, d0, d1) place(w, &P->field, &G->field, name, 2, d0, #d0, d1, #d1, true)
#define VECTOR(field, name, d0) place(w, &P->field, &G->field, name, 1, d0, #d0, 0, "", false)

static void walk_layout(LayoutWalk *w) {
    BertModel *m = w->m;
    const BertConfig *c = &m->config;
    /* named as the config keys: place() reports a dimension by its name */
    int64_t vocab_size = c->vocab_size, hidden_size = c->hidden_size, intermediate_size = c->intermediate_size;
    int64_t max_position_embeddings = c->max_position_embeddings, type_vocab_size = c->type_vocab_size;
    int64_t num_labels = m->num_labels;
    char name[96];
    BertParams *P = &m->params, *G = &m->grads;
    WEIGHT(word_emb, "bert.embeddings.word_embeddings.weight", vocab_size, hidden_size);
    /* A sinusoidal table (docs/positions.md) is kept in the same place, so the
     * checkpoint holds it, but it is not trained: no decay, no optimizer
     * segment (bert_param_segments), no gradient (bert_backward). */
    place(w, &P->pos_emb, &G->pos_emb, "bert.embeddings.position_embeddings.weight", 2, max_position_embeddings,
          "max_position_embeddings", hidden_size, "hidden_size", !bert_config_sinusoidal(c));
    WEIGHT(type_emb, "bert.embeddings.token_type_embeddings.weight", type_vocab_size, hidden_size);
    VECTOR(emb_ln_w, "bert.embeddings.LayerNorm.weight", hidden_size);
    VECTOR(emb_ln_b, "bert.embeddings.LayerNorm.bias", hidden_size);
    for (int l = 0; l < c->num_hidden_layers; l++) {
        EncoderLayerParams *LP = &m->layer_params[l], *LG = &m->layer_grads[l];
        static const char *qkv_names[3] = { "query", "key", "value" };
#define LAYER_TENSOR(field, suffix, ndim, d0, d1, decay) do { \
            snprintf(name, sizeof name, "bert.encoder.layer.%d.%s", l, suffix); \
            place(w, &LP->field, &LG->field, name, ndim, d0, #d0, d1, #d1, decay); } while (0)
        /* Q, K, V weights back to back form the stacked w_qkv[3C,C]; their
         * biases likewise b_qkv[3C]. Only the first of each sets the view. */
        for (int k = 0; k < 3; k++) {
            snprintf(name, sizeof name, "bert.encoder.layer.%d.attention.self.%s.weight", l, qkv_names[k]);
            place(w, k == 0 ? &LP->w_qkv : NULL, k == 0 ? &LG->w_qkv : NULL, name, 2, hidden_size, "hidden_size", hidden_size, "hidden_size", true);
        }
        for (int k = 0; k < 3; k++) {
            snprintf(name, sizeof name, "bert.encoder.layer.%d.attention.self.%s.bias", l, qkv_names[k]);
            place(w, k == 0 ? &LP->b_qkv : NULL, k == 0 ? &LG->b_qkv : NULL, name, 1, hidden_size, "hidden_size", 0, "", false);
        }
        LAYER_TENSOR(w_attn_out, "attention.output.dense.weight", 2, hidden_size, hidden_size, true);
        LAYER_TENSOR(b_attn_out, "attention.output.dense.bias", 1, hidden_size, 0, false);
        LAYER_TENSOR(ln1_w, "attention.output.LayerNorm.weight", 1, hidden_size, 0, false);
        LAYER_TENSOR(ln1_b, "attention.output.LayerNorm.bias", 1, hidden_size, 0, false);
        LAYER_TENSOR(w_ff1, "intermediate.dense.weight", 2, intermediate_size, hidden_size, true);
        LAYER_TENSOR(b_ff1, "intermediate.dense.bias", 1, intermediate_size, 0, false);
        LAYER_TENSOR(w_ff2, "output.dense.weight", 2, hidden_size, intermediate_size, true);
        LAYER_TENSOR(b_ff2, "output.dense.bias", 1, hidden_size, 0, false);
        LAYER_TENSOR(ln2_w, "output.LayerNorm.weight", 1, hidden_size, 0, false);
        LAYER_TENSOR(ln2_b, "output.LayerNorm.bias", 1, hidden_size, 0, false);
#undef LAYER_TENSOR
    }
    WEIGHT(pool_w, "bert.pooler.dense.weight", hidden_size, hidden_size);
    VECTOR(pool_b, "bert.pooler.dense.bias", hidden_size);
    if (m->heads & BERT_HEADS_PRETRAINING) {
        WEIGHT(mlm_dense_w, "cls.predictions.transform.dense.weight", hidden_size, hidden_size);
        VECTOR(mlm_dense_b, "cls.predictions.transform.dense.bias", hidden_size);
        VECTOR(mlm_ln_w, "cls.predictions.transform.LayerNorm.weight", hidden_size);
        VECTOR(mlm_ln_b, "cls.predictions.transform.LayerNorm.bias", hidden_size);
        VECTOR(mlm_bias, "cls.predictions.bias", vocab_size);
        WEIGHT(nsp_w, "cls.seq_relationship.weight", NSP_CLASSES, hidden_size);
        VECTOR(nsp_b, "cls.seq_relationship.bias", NSP_CLASSES);
    }
    if (m->heads & BERT_HEADS_CLASSIFIER) {
        WEIGHT(cls_w, "classifier.weight", num_labels, hidden_size);
        VECTOR(cls_b, "classifier.bias", num_labels);
    }
}
#undef WEIGHT
#undef VECTOR

int bert_create(BertModel *m, const BertConfig *cfg, int heads, int num_labels, char *err, size_t err_len) {
    memset(m, 0, sizeof *m);
    m->config = *cfg;
    m->config.id2label = NULL;  /* labels belong to the caller's config, not the model */
    m->heads = heads;
    m->num_labels = num_labels;
    m->nsp_loss_weight = 1;
    if (cfg->hidden_size % cfg->num_attention_heads != 0) {
        snprintf(err, err_len, "hidden_size %d is not a multiple of num_attention_heads %d",
                 cfg->hidden_size, cfg->num_attention_heads);
        return -1;
    }
    if ((heads & BERT_HEADS_CLASSIFIER) && num_labels < 2) {
        snprintf(err, err_len, "a classifier needs at least 2 labels, got %d", num_labels);
        return -1;
    }
    int L = cfg->num_hidden_layers;
    m->layer_params = calloc((size_t)L, sizeof(EncoderLayerParams));
    m->layer_grads = calloc((size_t)L, sizeof(EncoderLayerParams));
    m->tensors = calloc(16 * (size_t)L + 32, sizeof(ParamTensor));
    m->params.layers = m->layer_params;
    m->grads.layers = m->layer_grads;
    LayoutWalk w = { .m = m, .cursor = 0, .assign = false };
    if (m->layer_params && m->layer_grads && m->tensors) walk_layout(&w);
    if (w.too_large_key) {
        snprintf(err, err_len, "%s %lld is too large: the parameter count overflows at %s "
                 "(more than %lld values)", w.too_large_key, (long long)w.too_large_value,
                 w.too_large_tensor, (long long)MAX_PARAMS);
        bert_free(m);
        return -1;
    }
    m->num_params = w.cursor;
    m->params_memory = calloc((size_t)m->num_params, sizeof(real));
    m->grads_memory = calloc((size_t)m->num_params, sizeof(real));
    if (!m->layer_params || !m->layer_grads || !m->tensors || !m->params_memory || !m->grads_memory) {
        snprintf(err, err_len, "out of memory allocating %ld parameters", m->num_params);
        bert_free(m);
        return -1;
    }
    w = (LayoutWalk){ .m = m, .cursor = 0, .assign = true };
    walk_layout(&w);
    return 0;
}

/* The standard deviation (or, uniform, the bound) of a weight matrix
 * [fan_out, fan_in] under a scheme: docs/initialisation.md (IN1)–(IN5). */
static double init_scale(InitScheme scheme, double fan_in, double fan_out) {
    switch (scheme) {
    case INIT_XAVIER_UNIFORM: return sqrt(6.0 / (fan_in + fan_out));   /* bound a of U(−a, a) */
    case INIT_XAVIER_NORMAL: return sqrt(2.0 / (fan_in + fan_out));
    case INIT_HE_NORMAL: return sqrt(2.0 / fan_in);
    case INIT_LECUN_NORMAL: return sqrt(1.0 / fan_in);
    default: return 0;
    }
}

void bert_init_weights(BertModel *m, uint64_t seed) {
    Rng rng = rng_seeded(seed);
    double sigma = m->config.initializer_range;
    InitScheme scheme = bert_config_init_scheme(&m->config);
    for (int i = 0; i < m->num_tensors; i++) {
        const ParamTensor *t = &m->tensors[i];
        real *p = m->params_memory + t->offset;
        bool layernorm_gamma = strstr(t->name, "LayerNorm.weight") != NULL;
        /* The embedding tables are lookups, not products: they have no fan-in,
         * and keep BERT's N(0, initializer_range) under every scheme. */
        bool embedding = strstr(t->name, "embeddings.") != NULL;
        if (t->ndim == 2 && scheme != INIT_BERT && !embedding) {
            double a = init_scale(scheme, (double)t->shape[1], (double)t->shape[0]);
            for (long k = 0; k < t->count; k++)
                p[k] = (real)(scheme == INIT_XAVIER_UNIFORM ? a * (2 * rng_uniform(&rng) - 1) : a * rng_normal(&rng));
            continue;
        }
        for (long k = 0; k < t->count; k++) {
            if (t->ndim == 2) p[k] = (real)rng_truncated_normal(&rng, sigma);
            else p[k] = layernorm_gamma ? 1 : 0;
        }
    }
    /* drawn like a learned table (the other weights are those of the same
     * seed), then replaced by the fixed encoding */
    if (bert_config_sinusoidal(&m->config))
        embeddings_sinusoidal_table(m->params.pos_emb, m->config.max_position_embeddings, m->config.hidden_size);
}

const ParamTensor *bert_find_tensor(const BertModel *m, const char *name) {
    for (int i = 0; i < m->num_tensors; i++)
        if (strcmp(m->tensors[i].name, name) == 0) return &m->tensors[i];
    return NULL;
}

int bert_param_segments(const BertModel *m, ParamSegment *segments) {
    int n = 0;
    for (int i = 0; i < m->num_tensors; i++) {
        const ParamTensor *t = &m->tensors[i];
        /* a sinusoidal position table is fixed, not a parameter to train */
        if (t->offset == m->params.pos_emb - m->params_memory && bert_config_sinusoidal(&m->config)) continue;
        segments[n++] = (ParamSegment){ t->name, t->offset, t->count, t->decay };
    }
    return n;
}

void bert_zero_grad(BertModel *m) { memset(m->grads_memory, 0, sizeof(real) * (size_t)m->num_params); }

/* ---- activation arena ------------------------------------------------------ */

/* Like the parameter layout: one walk sizes the arena, a second assigns views. */
typedef struct {
    char *base;     /* NULL while sizing */
    size_t cursor;
    bool overflow;  /* a view's size or the total does not fit in size_t */
} ArenaWalk;

static void *arena_take(ArenaWalk *a, size_t count, size_t elem) {
    size_t bytes, start, end;
    if (a->overflow || __builtin_mul_overflow(count, elem, &bytes) ||
        __builtin_add_overflow(a->cursor, (size_t)63, &start) ||
        __builtin_add_overflow(start & ~(size_t)63, bytes, &end)) {   /* cache-line aligned views */
        a->overflow = true;
        return NULL;
    }
    start &= ~(size_t)63;
    a->cursor = end;
    return a->base ? a->base + start : NULL;
}
#define REALS(n) arena_take(a, (size_t)(n), sizeof(real))
#define BYTES(n) arena_take(a, (size_t)(n), 1)
#define INTS(n) arena_take(a, (size_t)(n), sizeof(int))

/* The largest products walk_arena forms (every other view is a factor of
 * one of them); false if one overflows a long, so the views' sizes below can
 * be computed in long. */
static bool arena_products_fit(const BertModel *m) {
    const BertConfig *c = &m->config;
    long B = m->max_B, T = m->max_T, P = m->max_P, r;
    long C3 = 3L * c->hidden_size, I = c->intermediate_size, V = c->vocab_size, C = c->hidden_size;
    long NH = c->num_attention_heads, K = m->num_labels > 0 ? m->num_labels : 1;
    return !__builtin_mul_overflow(B * T, C3, &r) && !__builtin_mul_overflow(B * T, I, &r) &&
           !__builtin_mul_overflow(B * NH, T * T, &r) && !__builtin_mul_overflow(B * P, V, &r) &&
           !__builtin_mul_overflow(B * P, C, &r) && !__builtin_mul_overflow(B, K, &r) &&
           !__builtin_mul_overflow(B * NH * T, T, &r);
}

/* The arena's dimensions: N = B·T tokens, M = B·P masked-LM predictions,
 * att = B·NH·T·T attention probabilities. */
typedef struct {
    long B, T, C, I, NH, V, K, N, M, att;
    bool forward_only;   /* bert_reserve_inference: no dropout masks, no backward scratch */
    bool keeps_bf16;     /* BertActivations.keeps_bf16 */
} ArenaDims;

/* Embeddings. bert_forward writes all of them first; mask_add is read by
 * every layer's attention forward; emb_out is layer 0's input, read again
 * by layer 0's backward; emb_sum, the LayerNorm statistics and emb_mask are
 * read last by bert_backward's embeddings stage. */
static void walk_embeddings_arena(BertModel *m, ArenaWalk *a, const ArenaDims *d) {
    BertActivations *x = &m->acts;
    x->mask_add = REALS(d->N);
    x->emb_sum = REALS(d->N * d->C);
    x->emb_ln_mean = REALS(d->N);
    x->emb_ln_rstd = REALS(d->N);
    x->emb_out = REALS(d->N * d->C);
    /* Dropout masks and probs after dropout exist only for training: a
     * forward-only model leaves them NULL (bert_forward then refuses
     * training = true). */
    x->emb_mask = d->forward_only ? NULL : BYTES(d->N * d->C);
}

/* Encoder layers. Layer l's caches are written by its forward and read last
 * by its backward (in reverse layer order), so a training arena keeps one
 * set per layer. Buffers that backward does not read are shared by all
 * layers, and each layer's forward overwrites them: probs_dropped here, the
 * sublayer output after dropout and gelu(ff_pre) in walk_overlaid_arena. A
 * forward-only arena overlays every layer on layer 0's caches. Returns
 * probs_dropped (NULL forward-only), which the backward scratch reuses as
 * d_probs. With keeps_bf16 the views are the same; qkv, context, ln1_out
 * and out (but the last layer's) then hold bf16 in their first halves, and
 * the second halves are never touched, so they take no memory. */
static real *walk_encoder_arena(BertModel *m, ArenaWalk *a, const ArenaDims *d) {
    BertActivations *x = &m->acts;
    const long N = d->N, C = d->C, I = d->I, att = d->att;
    const bool forward_only = d->forward_only;
    /* Attention's probs after dropout are forward-only (its backward
     * rebuilds them from probs and the mask). */
    real *probs_dropped = forward_only ? NULL : REALS(att);
    /* Forward-only: layer l reads only layer l − 1's output, so every layer
     * gets layer 0's caches and the outputs alternate between two buffers. */
    real *alternate_out = forward_only ? REALS(N * C) : NULL;
    for (int l = 0; l < m->config.num_hidden_layers; l++) {
        EncoderLayerCache *e = &x->layers[l];
        if (forward_only && l > 0) {
            *e = x->layers[0];
            if (l % 2) e->out = alternate_out;
            continue;
        }
        e->qkv = REALS(N * 3 * C);
        e->probs = REALS(att);
        e->probs_mask = forward_only ? NULL : BYTES(att);
        e->probs_dropped = probs_dropped;
        e->context = REALS(N * C);
        e->attn_out_mask = forward_only ? NULL : BYTES(N * C);
        e->ln1_sum = REALS(N * C);
        e->ln1_mean = REALS(N);
        e->ln1_rstd = REALS(N);
        e->ln1_out = REALS(N * C);
        e->ff_pre = REALS(N * I);
        e->ff_out_mask = forward_only ? NULL : BYTES(N * C);
        e->ln2_sum = REALS(N * C);
        e->ln2_mean = REALS(N);
        e->ln2_rstd = REALS(N);
        e->out = REALS(N * C);
    }
    return probs_dropped;
}

/* Pooler and heads, except the MLM logits (walk_overlaid_arena places
 * them). Written by bert_forward after the last layer, read last by the
 * heads' backward at the start of bert_backward (the predictions and probs
 * also by the caller, after forward). */
static void walk_heads_arena(BertModel *m, ArenaWalk *a, const ArenaDims *d) {
    BertActivations *x = &m->acts;
    const long B = d->B, C = d->C, M = d->M, K = d->K;
    x->pooled = REALS(B * C);
    x->pool_pre_scratch = REALS(B * C);
    x->pool_argmax = (m->heads & BERT_HEADS_CLASSIFIER) ? INTS(B * C) : NULL;
    if (m->heads & BERT_HEADS_PRETRAINING) {
        x->mlm_rows = INTS(M);
        x->mlm_targets = INTS(M);
        x->mlm_predicted = INTS(M);
        x->mlm_inp = REALS(M * C);
        x->mlm_pre = REALS(M * C);
        x->mlm_act = REALS(M * C);
        x->mlm_ln_out = REALS(M * C);
        x->mlm_ln_mean = REALS(M);
        x->mlm_ln_rstd = REALS(M);
        x->nsp_logits = REALS(B * NSP_CLASSES);
        x->nsp_probs = REALS(B * NSP_CLASSES);
        x->nsp_predicted = INTS(B);
    }
    if (m->heads & BERT_HEADS_CLASSIFIER) {
        x->cls_dropped = REALS(B * C);
        x->cls_mask = BYTES(B * C);
        x->cls_logits = REALS(B * K);
        x->cls_probs = REALS(B * K);
        x->cls_predicted = INTS(B);
    }
}

/* The encoder's forward-only buffers, the MLM logits and the backward
 * scratch. Lifetimes let three regions overlap (they are the largest after
 * the per-layer caches), so all three start at the same offset: the buffers
 * only the encoder's forward pass uses (the sublayer output after dropout,
 * gelu(ff_pre), with keeps_bf16 the forward reals) are dead once the last
 * layer is done; the MLM scores live from the head's forward to its
 * backward; the encoder layers' backward scratch only after that. And
 * attention's d_probs takes the forward-only probs_dropped. The rest of
 * the scratch (d_hidden_a/b, the pooler's and heads' gradients) is written
 * and read within bert_backward, so it lies after all three. A forward-only
 * arena ends after the first two. */
static void walk_overlaid_arena(BertModel *m, ArenaWalk *a, const ArenaDims *d, real *probs_dropped) {
    BertActivations *x = &m->acts;
    const long B = d->B, N = d->N, C = d->C, I = d->I, M = d->M, V = d->V;
    size_t overlap_start = a->cursor, end = a->cursor;

    /* A sublayer's output after dropout (attn_out, ff_out) is only added into
     * the residual sum that LayerNorm reads; backward needs just its dropout
     * mask. So every layer writes both into the same one buffer; and
     * gelu(ff_pre) is recomputed by feedforward_backward. */
    real *sublayer_out = REALS(N * C);
    real *ff_act = REALS(N * I);
    for (int l = 0; l < m->config.num_hidden_layers; l++) {
        EncoderLayerCache *e = &x->layers[l];
        e->attn_out = e->ff_out = sublayer_out;
        e->ff_act = ff_act;
    }
    BertForwardReals *f = &x->forward_reals;
    *f = (BertForwardReals){ 0 };
    if (d->keeps_bf16) {
        f->qkv = REALS(N * 3 * C);
        f->context = REALS(N * C);
        f->ln1_out = REALS(N * C);
        f->hidden[0] = REALS(N * C);
        f->hidden[1] = REALS(N * C);
    }
    if (a->cursor > end) end = a->cursor;

    a->cursor = overlap_start;
    if (m->heads & BERT_HEADS_PRETRAINING) x->mlm_logits = REALS(M * V);
    if (a->cursor > end) end = a->cursor;
    if (d->forward_only) {
        a->cursor = end;
        return;
    }
    a->cursor = overlap_start;
    BertScratch *s = &m->scratch;
    s->layer.d_h = REALS(N * C);
    s->layer.d_branch = REALS(N * C);
    s->layer.d_sublayer = REALS(N * C);
    s->layer.d_sum = REALS(N * C);
    s->layer.d_qkv = REALS(N * 3 * C);
    s->layer.d_context = REALS(N * C);
    s->layer.d_probs = probs_dropped;
    s->layer.d_ff_act = REALS(N * I);
    s->layer.d_ff_pre = REALS(N * I);
    if (a->cursor < end) a->cursor = end;
    s->d_hidden_a = REALS(N * C);
    s->d_hidden_b = REALS(N * C);
    s->d_pooled = REALS(B * C);
    s->d_pre = REALS(B * C);
    if (m->heads & BERT_HEADS_PRETRAINING) {
        s->d_mlm_inp = REALS(M * C);
        s->d_mlm_a = REALS(M * C);
        s->d_mlm_b = REALS(M * C);
        s->d_mlm_c = REALS(M * C);
    }
    if (m->heads & BERT_HEADS_CLASSIFIER) s->d_cls_dropped = REALS(B * C);
}

/* Sizes (a->base NULL) or assigns the whole arena, region by region in
 * buffer order. */
static void walk_arena(BertModel *m, ArenaWalk *a) {
    const BertConfig *c = &m->config;
    ArenaDims d = {
        .B = m->max_B, .T = m->max_T, .C = c->hidden_size, .I = c->intermediate_size,
        .NH = c->num_attention_heads, .V = c->vocab_size, .K = m->num_labels,
        .forward_only = m->forward_only, .keeps_bf16 = m->acts.keeps_bf16,
    };
    d.N = d.B * d.T;
    d.M = d.B * m->max_P;
    d.att = d.B * d.NH * d.T * d.T;
    walk_embeddings_arena(m, a, &d);
    real *probs_dropped = walk_encoder_arena(m, a, &d);
    walk_heads_arena(m, a, &d);
    walk_overlaid_arena(m, a, &d, probs_dropped);
}
#undef REALS
#undef BYTES
#undef INTS

#ifndef BERT_DOUBLE   /* bf16 is a float-build feature */
/* The weight matrices that matrix products read, in layout order: each
 * layer's stacked Q/K/V, attention output, FF1 and FF2 weights, the
 * pooler's, the heads' dense and output weights, and with the MLM head the
 * word embeddings (its decoder). Everything else (the lookups, LayerNorm,
 * biases) is read as f32. Returns the count; out holds 4·L + 5 at most. */
static int find_product_weights(const BertModel *m, bool with_decoder, ParamRange *out) {
    const real *base = m->params_memory;
    const long C = m->config.hidden_size, I = m->config.intermediate_size;
    int n = 0;
#define RANGE(ptr, count) (out[n++] = (ParamRange){ (ptr) - base, (count) })
    if (with_decoder && (m->heads & BERT_HEADS_PRETRAINING)) RANGE(m->params.word_emb, (long)m->config.vocab_size * C);
    for (int l = 0; l < m->config.num_hidden_layers; l++) {
        const EncoderLayerParams *lp = &m->layer_params[l];
        RANGE(lp->w_qkv, 3 * C * C);
        RANGE(lp->w_attn_out, C * C);
        RANGE(lp->w_ff1, I * C);
        RANGE(lp->w_ff2, C * I);
    }
    RANGE(m->params.pool_w, C * C);
    if (m->heads & BERT_HEADS_PRETRAINING) {
        RANGE(m->params.mlm_dense_w, C * C);
        RANGE(m->params.nsp_w, (long)NSP_CLASSES * C);
    }
    if (m->heads & BERT_HEADS_CLASSIFIER) RANGE(m->params.cls_w, (long)m->num_labels * C);
#undef RANGE
    return n;
}

/* A forward-only bf16 model reads its product weights only as bf16 and the
 * word embeddings only as f32 (the lookup; the decoder rounds them block by
 * block, gemm_bf16.h): each keeps one copy. The products then read the
 * bf16 copy everywhere but the word embeddings, which lie first. */
static int release_f32_product_weights(BertModel *m, char *err, size_t err_len) {
    if (m->f32_product_weights_released) return 0;
    m->f32_product_weights_released = true;
    long words = (long)m->config.vocab_size * m->config.hidden_size;
    assert(m->params.word_emb == m->params_memory);
    for (int i = 0; i < m->num_product_weights; i++) {
        const ParamRange *r = &m->product_weights[i];
        if (r->offset < words) release_whole_pages(m->params_bf16 + r->offset, sizeof(uint16_t) * (size_t)r->count);
        else release_whole_pages(m->params_memory + r->offset, sizeof(real) * (size_t)r->count);
    }
    m->num_product_weights = find_product_weights(m, false, m->product_weights);
    return gemm_use_bf16(m->params_memory + words, m->params_bf16 + words, m->num_params - words, err, err_len);
}

static void free_bf16_copy(BertModel *m) {
    free(m->params_bf16);
    free(m->product_weights);
    m->params_bf16 = NULL;
    m->product_weights = NULL;
}
#else
static int release_f32_product_weights(BertModel *m, char *err, size_t err_len) {
    (void)m; (void)err; (void)err_len;
    return 0;   /* never reached: the double build has no bf16 copy */
}
#endif

static int reserve(BertModel *m, int B, int T, int P, bool forward_only, char *err, size_t err_len) {
    if (T > m->config.max_position_embeddings) {
        snprintf(err, err_len, "sequence length %d exceeds max_position_embeddings %d",
                 T, m->config.max_position_embeddings);
        return -1;
    }
    if ((long)B * T > INT_MAX) {   /* the layers take the token count B·T as an int */
        snprintf(err, err_len, "batch %d × %d is more than %d tokens", B, T, INT_MAX);
        return -1;
    }
    if (m->f32_product_weights_released && !forward_only) {
        snprintf(err, err_len, "this model gave back its f32 weights for bf16 inference and cannot train");
        return -1;
    }
    free(m->acts_memory);
    free(m->acts.layers);
    m->acts_memory = NULL;
    m->max_B = B;
    m->max_T = T;
    m->max_P = P > 0 ? P : 1;
    m->forward_only = forward_only;
    memset(&m->scratch, 0, sizeof m->scratch);
    m->acts.keeps_bf16 = !forward_only && m->params_bf16 && !m->bf16_arena_as_f32 &&
                         m->config.num_hidden_layers > 0;
    m->acts.kept_in_last_forward = false;
    m->acts.layers = calloc((size_t)m->config.num_hidden_layers, sizeof(EncoderLayerCache));
    ArenaWalk sizing = { NULL, 0, false };
    if (!arena_products_fit(m)) sizing.overflow = true;
    else if (m->acts.layers) walk_arena(m, &sizing);
    if (sizing.overflow || sizing.cursor > PTRDIFF_MAX - 64) {
        snprintf(err, err_len, "batch %d × %d with %d predictions is too large for this model "
                 "(hidden_size %d, intermediate_size %d, vocab_size %d): the activations' size overflows",
                 B, T, m->max_P, m->config.hidden_size, m->config.intermediate_size, m->config.vocab_size);
        free(m->acts.layers);
        m->acts.layers = NULL;
        return -1;
    }
    m->acts_memory = calloc(1, sizing.cursor + 64);
    if (!m->acts.layers || !m->acts_memory) {
        snprintf(err, err_len, "out of memory reserving %.1f MB of activations for batch %d × %d",
                 sizing.cursor / 1e6, B, T);
        return -1;
    }
    ArenaWalk assign = { (char *)(((uintptr_t)m->acts_memory + 63) & ~(uintptr_t)63), 0, false };
    walk_arena(m, &assign);
    return forward_only && m->params_bf16 ? release_f32_product_weights(m, err, err_len) : 0;
}

int bert_reserve(BertModel *m, int B, int T, int P, char *err, size_t err_len) {
    return reserve(m, B, T, P, false, err, err_len);
}

int bert_reserve_inference(BertModel *m, int B, int T, int P, char *err, size_t err_len) {
    return reserve(m, B, T, P, true, err, err_len);
}

void bert_set_training_dropout(BertModel *m, double p) {
    if (p < 0) return;
    if (!m->trains_with_other_dropout) {
        m->config_hidden_dropout = m->config.hidden_dropout_prob;
        m->config_attention_dropout = m->config.attention_probs_dropout_prob;
        m->trains_with_other_dropout = true;
    }
    m->config.hidden_dropout_prob = p;
    m->config.attention_probs_dropout_prob = p;
}

int bert_use_bf16(BertModel *m, char *err, size_t err_len) {
#ifdef BERT_DOUBLE
    return gemm_use_bf16(m->params_memory, NULL, 0, err, err_len);   /* says the double build has none */
#else
    if (m->f32_product_weights_released) return 0;
    if (!m->params_bf16) {
        m->params_bf16 = malloc(sizeof(uint16_t) * (size_t)m->num_params);
        m->product_weights = malloc(sizeof(ParamRange) * (4 * (size_t)m->config.num_hidden_layers + 5));
        if (!m->params_bf16 || !m->product_weights) {
            free_bf16_copy(m);
            snprintf(err, err_len, "out of memory for the bf16 copy of %ld weights", m->num_params);
            return -1;
        }
        /* a model planned forward-only first never rounds its word embeddings */
        m->num_product_weights = find_product_weights(m, !m->forward_only, m->product_weights);
    }
    bert_refresh_bf16(m);
    if (gemm_use_bf16(m->params_memory, m->params_bf16, m->num_params, err, err_len) != 0) {
        free_bf16_copy(m);
        return -1;
    }
    return m->forward_only && m->acts_memory ? release_f32_product_weights(m, err, err_len) : 0;
#endif
}

void bert_keep_bf16_activations(BertModel *m, bool keep) {
    m->bf16_arena_as_f32 = !keep;
}

void bert_refresh_bf16(BertModel *m) {
#ifndef BERT_DOUBLE
    if (!m->params_bf16) return;
    assert(!m->f32_product_weights_released && "bert_refresh_bf16 on a forward-only bf16 model");
    for (int i = 0; i < m->num_product_weights; i++) {
        const ParamRange *r = &m->product_weights[i];
        bf16_convert_parallel(m->params_bf16 + r->offset, m->params_memory + r->offset, (size_t)r->count);
    }
#else
    (void)m;
#endif
}

void bert_free(BertModel *m) {
    if (m->params_bf16) {
        char unused[8];
        gemm_use_bf16(NULL, NULL, 0, unused, sizeof unused);
        free(m->params_bf16);
    }
    free(m->product_weights);
    free(m->params_memory);
    free(m->grads_memory);
    free(m->layer_params);
    free(m->layer_grads);
    free(m->tensors);
    free(m->acts_memory);
    free(m->acts.layers);
    memset(m, 0, sizeof *m);
}

/* ---- forward ----------------------------------------------------------------- */

/* Every dropout site draws from its own stream of the step's key. */
enum { SITE_EMBEDDINGS = 1, SITE_CLASSIFIER = 2, SITE_FIRST_LAYER = 100 };
static uint64_t dropout_site(uint64_t step_key, int site) {
    return splitmix64_mix(step_key ^ (0x9e3779b97f4a7c15ULL * (uint64_t)site));
}

/* The site's stream entered at the batch's first row, row_elems elements per
 * sequence (BertBatch.first_row; rng_key_skip). */
static uint64_t slice_site(uint64_t step_key, int site, long first_row, long row_elems) {
    return rng_key_skip(dropout_site(step_key, site), (uint64_t)first_row * (uint64_t)row_elems);
}

static EncoderLayerShape layer_shape(const BertModel *m, int B, int T, bool training, uint64_t key,
                                     long first_row) {
    const BertConfig *c = &m->config;
    EncoderLayerShape s = {
        .B = B, .T = T, .C = c->hidden_size, .NH = c->num_attention_heads, .I = c->intermediate_size,
        .layer_norm_eps = (real)c->layer_norm_eps,
        .hidden_dropout = (real)c->hidden_dropout_prob,
        .attention_dropout = (real)c->attention_probs_dropout_prob,
        .training = training, .dropout_key = key, .first_row = first_row,
        .causal = c->is_decoder, .activation = bert_config_hidden_act(c),
    };
    return s;
}

/* What the classifier reads (classifier_pooling, docs/sequence_pooling.md):
 * the pooler on [CLS], or the mean or max of the final hidden states. A
 * model with the pretraining heads always pools [CLS] (NSP is trained on it). */
static ClassifierPooling model_pooling(const BertModel *m) {
    return (m->heads & BERT_HEADS_PRETRAINING) ? POOLING_CLS : bert_config_pooling(&m->config);
}

/* Hugging Face's rule: classifier_dropout, or hidden_dropout_prob when null. */
static real classifier_dropout(const BertConfig *c) {
    return (real)(c->has_classifier_dropout ? c->classifier_dropout : c->hidden_dropout_prob);
}

void bert_forward(BertModel *m, const BertBatch *batch, bool training, uint64_t dropout_key) {
    const BertConfig *c = &m->config;
    int B = batch->B, T = batch->T, C = c->hidden_size, V = c->vocab_size, N = B * T;
    BertParams *p = &m->params;
    BertActivations *x = &m->acts;
    assert(!(training && m->forward_only) && "training forward after bert_reserve_inference");
    m->batch = *batch;
    m->training = training;
    real p_hidden = training ? (real)c->hidden_dropout_prob : 0;

    PROFILE_BEGIN(t_emb);
    for (int i = 0; i < N; i++)
        x->mask_add[i] = (!batch->attention_mask || batch->attention_mask[i]) ? 0 : ATTENTION_MASK_VALUE;

    /* bf16 training: activations that backward reads only through products
     * are written as reals into forward_reals and kept as bf16 alone
     * (BertActivations.keeps_bf16, docs/bf16.md) */
    const bool keep = x->keeps_bf16 && gemm_bf16_active();
    const BertForwardReals *f = &x->forward_reals;
    x->kept_in_last_forward = keep;
    real *emb_out = keep ? f->hidden[1] : x->emb_out;
    embeddings_forward(x->emb_sum, batch->input_ids, batch->token_type_ids,
                       p->word_emb, p->pos_emb, p->type_emb, B, T, C);
    layernorm_forward(emb_out, x->emb_ln_mean, x->emb_ln_rstd, x->emb_sum,
                      p->emb_ln_w, p->emb_ln_b, (real)c->layer_norm_eps, N, C);
    dropout_forward(emb_out, x->emb_mask, emb_out, p_hidden,
                    slice_site(dropout_key, SITE_EMBEDDINGS, batch->first_row, (long)T * C), (long)N * C, training);
    if (keep) gemm_keep_operand(x->emb_out, emb_out, N, C, C);
    PROFILE_END(PROFILE_EMBEDDINGS, t_emb);

    const real *hidden = emb_out;
    const int L = c->num_hidden_layers;
    for (int l = 0; l < L; l++) {
        EncoderLayerShape s = layer_shape(m, B, T, training, dropout_site(dropout_key, SITE_FIRST_LAYER + l),
                                          batch->first_row);
        EncoderLayerCache *e = &x->layers[l];
        if (!keep) {
            encoder_layer_forward(e, hidden, x->mask_add, &m->layer_params[l], &s);
            hidden = e->out;
            continue;
        }
        /* layer 0 reads hidden[1] and writes hidden[0], layer 1 the reverse, … */
        EncoderLayerCache reals = *e;
        reals.qkv = f->qkv;
        reals.context = f->context;
        reals.ln1_out = f->ln1_out;
        if (l < L - 1) reals.out = f->hidden[l % 2];   /* the last layer's output the heads read as reals */
        encoder_layer_forward(&reals, hidden, x->mask_add, &m->layer_params[l], &s);
        gemm_keep_operand(e->qkv, reals.qkv, N, 3 * C, 3 * C);
        gemm_keep_operand(e->context, reals.context, N, C, C);
        gemm_keep_operand(e->ln1_out, reals.ln1_out, N, C, C);
        if (l < L - 1) gemm_keep_operand(e->out, reals.out, N, C, C);
        hidden = reals.out;
    }
    PROFILE_BEGIN(t_pool);
    switch (model_pooling(m)) {
    case POOLING_MEAN: sequence_pooling_mean_forward(x->pooled, hidden, batch->attention_mask, B, T, C); break;
    case POOLING_MAX:
        sequence_pooling_max_forward(x->pooled, x->pool_argmax, hidden, batch->attention_mask, B, T, C);
        break;
    default: pooler_forward(x->pooled, hidden, p->pool_w, p->pool_b, B, T, C);
    }
    PROFILE_END(PROFILE_NSP_POOLER, t_pool);

    m->mlm_loss = m->nsp_loss = m->cls_loss = 0;
    m->mlm_correct = m->nsp_correct = m->cls_correct = 0;
    m->M = 0;
    if ((m->heads & BERT_HEADS_PRETRAINING) && batch->mlm_labels) {
        PROFILE_BEGIN(t_mlm);
        /* Gather the hidden states of the labelled positions only: the decoder
         * over the vocabulary is the costliest product, and BERT scores only
         * the masked tokens. */
        int M = 0;
        for (int b = 0; b < B; b++)
            for (int k = 0; k < batch->P; k++) {
                int label = batch->mlm_labels[b * batch->P + k];
                if (label == IGNORE_INDEX) continue;
                int row = b * T + batch->mlm_positions[b * batch->P + k];
                x->mlm_rows[M] = row;
                x->mlm_targets[M] = label;
                memcpy(x->mlm_inp + (long)M * C, hidden + (long)row * C, sizeof(real) * (size_t)C);
                M++;
            }
        m->M = M;
        if (M > 0) {
            mlm_head_forward(x->mlm_logits, x->mlm_pre, x->mlm_act, x->mlm_ln_out, x->mlm_ln_mean,
                             x->mlm_ln_rstd, x->mlm_inp, p->mlm_dense_w, p->mlm_dense_b, p->mlm_ln_w,
                             p->mlm_ln_b, p->word_emb, NULL, (real)c->layer_norm_eps, M, C, V,
                             bert_config_hidden_act(c));
            /* In place: logits → probs (an M×V buffer is the largest activation
             * of a small model). The decoder's bias is added in the loss's
             * pass over the logits, not written into the M×V product first. */
            m->mlm_loss = cross_entropy_forward(x->mlm_logits, x->mlm_predicted, x->mlm_logits, p->mlm_bias,
                                                x->mlm_targets, M, V, NULL);
            for (int i = 0; i < M; i++) m->mlm_correct += x->mlm_predicted[i] == x->mlm_targets[i];
        }
        PROFILE_END(PROFILE_MLM_HEAD, t_mlm);
    }
    PROFILE_BEGIN(t_heads);
    if ((m->heads & BERT_HEADS_PRETRAINING) && batch->nsp_labels) {
        nsp_head_forward(x->nsp_logits, x->pooled, p->nsp_w, p->nsp_b, B, C);
        m->nsp_loss = cross_entropy_forward(x->nsp_probs, x->nsp_predicted, x->nsp_logits, NULL,
                                            batch->nsp_labels, B, NSP_CLASSES, NULL);
        for (int b = 0; b < B; b++) m->nsp_correct += x->nsp_predicted[b] == batch->nsp_labels[b];
    }
    if (m->heads & BERT_HEADS_CLASSIFIER) {
        int K = m->num_labels;
        real p_cls = training ? classifier_dropout(c) : 0;
        classifier_head_forward(x->cls_logits, x->cls_dropped, x->cls_mask, x->pooled, p->cls_w, p->cls_b,
                                p_cls, slice_site(dropout_key, SITE_CLASSIFIER, batch->first_row, C), training, B, C, K);
        if (batch->class_labels) {
            m->cls_loss = cross_entropy_forward(x->cls_probs, x->cls_predicted, x->cls_logits, NULL,
                                                batch->class_labels, B, K, NULL);
            for (int b = 0; b < B; b++) m->cls_correct += x->cls_predicted[b] == batch->class_labels[b];
        }
    }
    PROFILE_END(PROFILE_NSP_POOLER, t_heads);
    m->loss = m->mlm_loss + m->nsp_loss_weight * m->nsp_loss + m->cls_loss;
}

/* ---- backward ---------------------------------------------------------------- */

/* docs/model.md: the heads' gradients meet at the final hidden states (MLM
 * rows scattered back to their positions, NSP/classifier through the pooler
 * into the [CLS] rows), then flow down the layers and into the embeddings. */
void bert_backward(BertModel *m, real loss_scale) {
    const BertConfig *c = &m->config;
    const BertBatch *batch = &m->batch;
    int B = batch->B, T = batch->T, C = c->hidden_size, V = c->vocab_size, N = B * T, L = c->num_hidden_layers;
    BertParams *p = &m->params, *g = &m->grads;
    BertActivations *x = &m->acts;
    BertScratch *s = &m->scratch;
    assert(!m->forward_only && "bert_backward after bert_reserve_inference");
    size_t hidden_bytes = sizeof(real) * (size_t)N * C;
    real p_hidden = m->training ? (real)c->hidden_dropout_prob : 0;
    const real *hidden = L > 0 ? x->layers[L - 1].out : x->emb_out;

    memset(s->d_hidden_a, 0, hidden_bytes);
    memset(s->d_pooled, 0, sizeof(real) * (size_t)B * C);
    /* A slice's share of the whole batch (BertBatch.first_row): the
     * per-sequence losses are means over whole_rows sequences, the MLM loss
     * over whole_predictions tokens. */
    real sequence_scale = batch->whole_rows > 0 ? loss_scale * (real)((double)B / batch->whole_rows) : loss_scale;
    real mlm_scale = batch->whole_predictions > 0 ? loss_scale * (real)((double)m->M / batch->whole_predictions)
                                                  : loss_scale;

    PROFILE_BEGIN(t_heads);
    if ((m->heads & BERT_HEADS_CLASSIFIER) && batch->class_labels) {
        int K = m->num_labels;
        real p_cls = m->training ? classifier_dropout(c) : 0;
        cross_entropy_backward(x->cls_probs, x->cls_probs, batch->class_labels, sequence_scale, B, K);
        classifier_head_backward(s->d_pooled, g->cls_w, g->cls_b, s->d_cls_dropped, x->cls_probs,
                                 x->cls_dropped, x->cls_mask, p->cls_w, p_cls, B, C, K);
    }
    if ((m->heads & BERT_HEADS_PRETRAINING) && batch->nsp_labels) {
        cross_entropy_backward(x->nsp_probs, x->nsp_probs, batch->nsp_labels,
                               sequence_scale * (real)m->nsp_loss_weight, B, NSP_CLASSES);
        nsp_head_backward(s->d_pooled, g->nsp_w, g->nsp_b, x->nsp_probs, x->pooled, p->nsp_w, B, C);
    }
    PROFILE_END(PROFILE_NSP_POOLER, t_heads);
    if ((m->heads & BERT_HEADS_PRETRAINING) && m->M > 0) {
        PROFILE_BEGIN(t_mlm);
        int M = m->M;
        cross_entropy_backward(x->mlm_logits, x->mlm_logits, x->mlm_targets, mlm_scale, M, V);
        memset(s->d_mlm_inp, 0, sizeof(real) * (size_t)M * C);
        mlm_head_backward(s->d_mlm_inp, g->mlm_dense_w, g->mlm_dense_b, g->mlm_ln_w, g->mlm_ln_b,
                          g->word_emb, g->mlm_bias, s->d_mlm_a, s->d_mlm_b, s->d_mlm_c, x->mlm_logits,
                          x->mlm_inp, x->mlm_pre, x->mlm_act, x->mlm_ln_out, x->mlm_ln_mean,
                          x->mlm_ln_rstd, p->mlm_dense_w, p->mlm_ln_w, p->word_emb, M, C, V,
                          bert_config_hidden_act(c));
        for (int i = 0; i < M; i++) {
            real *d_row = s->d_hidden_a + (long)x->mlm_rows[i] * C;
            const real *d_pred = s->d_mlm_inp + (long)i * C;
            for (int k = 0; k < C; k++) d_row[k] += d_pred[k];
        }
        PROFILE_END(PROFILE_MLM_HEAD, t_mlm);
    }
    PROFILE_BEGIN(t_pool);
    switch (model_pooling(m)) {
    case POOLING_MEAN: sequence_pooling_mean_backward(s->d_hidden_a, s->d_pooled, batch->attention_mask, B, T, C); break;
    case POOLING_MAX: sequence_pooling_max_backward(s->d_hidden_a, s->d_pooled, x->pool_argmax, B, T, C); break;
    default:
        pooler_backward(s->d_hidden_a, g->pool_w, g->pool_b, s->d_pre, s->d_pooled, x->pooled,
                        hidden, p->pool_w, B, T, C);
    }
    PROFILE_END(PROFILE_NSP_POOLER, t_pool);

    /* the layers' inputs and the activations kept as bf16 (bert_forward) */
    const bool kept = x->kept_in_last_forward;
    assert(!kept || gemm_bf16_active());
    for (int l = L - 1; l >= 0; l--) {
        const EncoderLayerCache *e = &x->layers[l];
        const real *layer_inp = l > 0 ? x->layers[l - 1].out : x->emb_out;
        EncoderLayerShape shape = layer_shape(m, B, T, m->training, 0, 0);
        memset(s->d_hidden_b, 0, hidden_bytes);
        if (kept) {
            gemm_hold_kept(e->qkv, N, 3 * C);
            gemm_hold_kept(e->context, N, C);
            gemm_hold_kept(e->ln1_out, N, C);
            gemm_hold_kept(layer_inp, N, C);
        }
        encoder_layer_backward(s->d_hidden_b, &m->layer_grads[l], &s->layer, s->d_hidden_a,
                               layer_inp, e, &m->layer_params[l], &shape);
        if (kept) {
            gemm_release_operand(layer_inp);
            gemm_release_operand(e->ln1_out);
            gemm_release_operand(e->context);
            gemm_release_operand(e->qkv);
        }
        real *swap = s->d_hidden_a;
        s->d_hidden_a = s->d_hidden_b;
        s->d_hidden_b = swap;
    }

    /* d_hidden_a now holds ∂loss/∂emb_out */
    PROFILE_BEGIN(t_emb);
    memset(s->d_hidden_b, 0, hidden_bytes);
    dropout_backward(s->d_hidden_b, s->d_hidden_a, x->emb_mask, p_hidden, (long)N * C);
    memset(s->d_hidden_a, 0, hidden_bytes);
    layernorm_backward(s->d_hidden_a, g->emb_ln_w, g->emb_ln_b, s->d_hidden_b, x->emb_sum,
                       p->emb_ln_w, x->emb_ln_mean, x->emb_ln_rstd, N, C);
    embeddings_backward(g->word_emb, bert_config_sinusoidal(c) ? NULL : g->pos_emb, g->type_emb, s->d_hidden_a,
                        batch->input_ids, batch->token_type_ids, B, T, C);
    PROFILE_END(PROFILE_EMBEDDINGS, t_emb);
}

/* ---- input validation -------------------------------------------------------- */

BertBatch bert_batch_slice(const BertBatch *whole, long first, long rows) {
    BertBatch s = *whole;
    long T = whole->T, P = whole->P;
    s.B = (int)rows;
    s.input_ids = whole->input_ids + first * T;
    s.token_type_ids = whole->token_type_ids ? whole->token_type_ids + first * T : NULL;
    s.attention_mask = whole->attention_mask ? whole->attention_mask + first * T : NULL;
    s.mlm_positions = whole->mlm_positions ? whole->mlm_positions + first * P : NULL;
    s.mlm_labels = whole->mlm_labels ? whole->mlm_labels + first * P : NULL;
    s.nsp_labels = whole->nsp_labels ? whole->nsp_labels + first : NULL;
    s.class_labels = whole->class_labels ? whole->class_labels + first : NULL;
    s.first_row = whole->first_row + first;
    s.whole_rows = whole->whole_rows > 0 ? whole->whole_rows : whole->B;
    if (whole->whole_predictions > 0) s.whole_predictions = whole->whole_predictions;
    else {
        s.whole_predictions = 0;
        if (whole->mlm_labels)
            for (long i = 0; i < (long)whole->B * P; i++) s.whole_predictions += whole->mlm_labels[i] != IGNORE_INDEX;
    }
    return s;
}

int bert_check_batch(const BertModel *m, const BertBatch *b, char *err, size_t err_len) {
    const BertConfig *c = &m->config;
    if (b->B < 1 || b->B > m->max_B || b->T < 1 || b->T > m->max_T) {
        snprintf(err, err_len, "batch %d × %d exceeds the reserved %d × %d", b->B, b->T, m->max_B, m->max_T);
        return -1;
    }
    for (int i = 0; i < b->B * b->T; i++) {
        if (b->input_ids[i] < 0 || b->input_ids[i] >= c->vocab_size) {
            snprintf(err, err_len, "token id %d at sequence %d position %d is outside the vocabulary (size %d)",
                     b->input_ids[i], i / b->T, i % b->T, c->vocab_size);
            return -1;
        }
        if (b->token_type_ids[i] < 0 || b->token_type_ids[i] >= c->type_vocab_size) {
            snprintf(err, err_len, "token type %d at sequence %d position %d is outside type_vocab_size %d",
                     b->token_type_ids[i], i / b->T, i % b->T, c->type_vocab_size);
            return -1;
        }
    }
    if (b->mlm_labels) {
        if (b->P > m->max_P) {
            snprintf(err, err_len, "%d prediction slots exceed the reserved %d", b->P, m->max_P);
            return -1;
        }
        for (int i = 0; i < b->B * b->P; i++) {
            if (b->mlm_labels[i] == IGNORE_INDEX) continue;
            if (b->mlm_labels[i] < 0 || b->mlm_labels[i] >= c->vocab_size ||
                b->mlm_positions[i] < 0 || b->mlm_positions[i] >= b->T) {
                snprintf(err, err_len, "masked-LM slot %d of sequence %d: position %d / label %d out of range",
                         i % b->P, i / b->P, b->mlm_positions[i], b->mlm_labels[i]);
                return -1;
            }
        }
    }
    for (int i = 0; b->nsp_labels && i < b->B; i++)
        if (b->nsp_labels[i] != 0 && b->nsp_labels[i] != 1) {
            snprintf(err, err_len, "next-sentence label %d of sequence %d is not 0 or 1", b->nsp_labels[i], i);
            return -1;
        }
    for (int i = 0; b->class_labels && i < b->B; i++)
        if (b->class_labels[i] < 0 || b->class_labels[i] >= m->num_labels) {
            snprintf(err, err_len, "class label %d of sequence %d is outside 0..%d", b->class_labels[i], i, m->num_labels - 1);
            return -1;
        }
    return 0;
}
