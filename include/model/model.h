/* model.h — the whole BERT: parameters, gradients and activations in three
 * contiguous buffers with named views, and the forward/backward passes of
 * BertForPreTraining (MLM + NSP heads) and BertForSequenceClassification.
 *
 *   embeddings:  e   = dropout(LayerNorm(word[ids] + pos[t] + type[segment]))
 *   encoder:     x_l = encoder_layer(x_{l−1}),  l = 1..L
 *   pooler:      p   = tanh(W_p x_L[:,0] + b_p)
 *   MLM head:    logits at the masked positions (decoder tied to word embeddings)
 *   NSP head:    2 logits from p;   classifier: dropout(p) → K logits
 *
 * Derivation of the whole chain: docs/model.md. */
#ifndef BERT_MODEL_H
#define BERT_MODEL_H

#include <stdbool.h>
#include <stdint.h>
#include "core/real.h"
#include "io/bert_config.h"
#include "layers/encoder_layer.h"
#include "train/adamw.h"

/* Which heads a model carries beside the encoder and pooler. */
enum { BERT_HEADS_PRETRAINING = 1, BERT_HEADS_CLASSIFIER = 2 };

/* Views into a parameter buffer (or, with the same offsets, a gradient buffer). */
typedef struct {
    real *word_emb;    /* [V,C]  bert.embeddings.word_embeddings.weight (also the MLM decoder) */
    real *pos_emb;     /* [P,C]  bert.embeddings.position_embeddings.weight */
    real *type_emb;    /* [TV,C] bert.embeddings.token_type_embeddings.weight */
    real *emb_ln_w, *emb_ln_b;   /* [C] bert.embeddings.LayerNorm */
    EncoderLayerParams *layers;  /* [L] bert.encoder.layer.N.* */
    real *pool_w, *pool_b;       /* [C,C], [C] bert.pooler.dense */
    real *mlm_dense_w, *mlm_dense_b;  /* [C,C], [C] cls.predictions.transform.dense */
    real *mlm_ln_w, *mlm_ln_b;        /* [C] cls.predictions.transform.LayerNorm */
    real *mlm_bias;                   /* [V] cls.predictions.bias */
    real *nsp_w, *nsp_b;              /* [2,C], [2] cls.seq_relationship */
    real *cls_w, *cls_b;              /* [K,C], [K] classifier */
} BertParams;

/* One named tensor of the checkpoint (Hugging Face name and shape), as a view:
 * params + offset (and grads + offset). The fused QKV weight appears as its
 * three HF tensors, query/key/value. */
typedef struct {
    char name[96];
    int ndim;
    int64_t shape[2];
    long offset, count;
    bool decay;        /* AdamW weight decay applies (not LayerNorm, not biases) */
} ParamTensor;

/* count reals at offset in params_memory */
typedef struct {
    long offset, count;
} ParamRange;

/* One batch of model inputs. Sizes may be smaller than those reserved. */
typedef struct {
    int B, T;
    const int *input_ids;       /* [B,T] */
    const int *token_type_ids;  /* [B,T] */
    const int *attention_mask;  /* [B,T] 1 = token, 0 = padding */
    int P;                      /* prediction slots per sequence */
    const int *mlm_positions;   /* [B,P] position in the sequence */
    const int *mlm_labels;      /* [B,P] original token id, −100 for an unused slot */
    const int *nsp_labels;      /* [B] 0 = IsNext, 1 = NotNext (NULL: no NSP loss) */
    const int *class_labels;    /* [B] (NULL: no classification loss) */
    /* A slice of a larger batch (data-parallel training, docs/distributed.md):
     * row 0 here is row first_row of a whole batch of whole_rows sequences
     * with whole_predictions counted MLM labels. Dropout masks are then the
     * ones the whole batch would draw at those rows, and each loss's gradient
     * is weighted by the slice's share of its rows or predictions, so the
     * slices' gradients sum to the whole batch's. All 0: the batch is whole. */
    long first_row, whole_rows, whole_predictions;
} BertBatch;

/* A bf16 training arena's f32 working copies (docs/bf16.md, "Activations
 * kept in bf16"): where the forward pass writes the activations that each
 * layer then keeps as bf16 only, because its backward pass reads them only
 * through products. One set for all layers; they share memory with the
 * backward scratch. */
typedef struct {
    real *qkv;        /* [B,T,3C] */
    real *context;    /* [B,T,C] */
    real *ln1_out;    /* [B,T,C] */
    real *hidden[2];  /* [B,T,C] the embeddings' output and the layers' outputs, alternately */
} BertForwardReals;

/* What the forward pass saves (views into one arena planned by bert_reserve). */
typedef struct {
    real *mask_add;            /* [B,T] 0 or ATTENTION_MASK_VALUE */
    real *emb_sum;             /* [B,T,C] word + pos + type */
    real *emb_ln_mean, *emb_ln_rstd; /* [B,T] */
    real *emb_out;             /* [B,T,C] after LayerNorm and dropout */
    uint8_t *emb_mask;         /* [B,T,C] */
    EncoderLayerCache *layers; /* [L] */
    real *pooled;              /* [B,C] the pooler's output, or with classifier_pooling mean/max
                                * the pooled final hidden states (what the classifier reads) */
    int *pool_argmax;          /* [B,C] classifier_pooling max: the position of each maximum */
    real *pool_pre_scratch;    /* [B,C] */
    int *mlm_rows;             /* [M] row b·T + t of each counted prediction */
    int *mlm_targets;          /* [M] */
    int *mlm_predicted;        /* [M] argmax of each prediction's logits */
    real *mlm_inp;             /* [M,C] hidden states gathered at the predictions */
    real *mlm_pre, *mlm_act, *mlm_ln_out;  /* [M,C] */
    real *mlm_ln_mean, *mlm_ln_rstd;       /* [M] */
    real *mlm_logits;          /* [M,V] decoder scores; one buffer for the three M×V arrays:
                                * the forward pass overwrites the logits with their softmax
                                * (the loss needs nothing else), backward with d_logits */
    real *nsp_logits, *nsp_probs;  /* [B,2] */
    int *nsp_predicted;        /* [B] */
    real *cls_dropped;         /* [B,C] */
    uint8_t *cls_mask;         /* [B,C] */
    real *cls_logits, *cls_probs;  /* [B,K] */
    int *cls_predicted;        /* [B] */
    /* bf16 training (bert_use_bf16 before bert_reserve): emb_out and every
     * layer's qkv, context, ln1_out and out (but the last layer's) hold bf16
     * copies in the first half of their storage, made from forward_reals */
    bool keeps_bf16;
    bool kept_in_last_forward;   /* the last bert_forward kept them (bf16 products were on) */
    BertForwardReals forward_reals;
} BertActivations;

/* Backward scratch (one layer's worth, reused). The encoder layers' part
 * shares memory with forward-only buffers and the MLM scores (bert_reserve). */
typedef struct {
    EncoderLayerScratch layer;
    real *d_hidden_a, *d_hidden_b;  /* [B,T,C] gradient flowing between layers */
    real *d_pooled, *d_pre;         /* [B,C] */
    real *d_mlm_inp, *d_mlm_a, *d_mlm_b, *d_mlm_c;  /* [M,C] */
    real *d_cls_dropped;            /* [B,C] */
} BertScratch;

typedef struct {
    BertConfig config;
    int heads;                  /* BERT_HEADS_* */
    int num_labels;             /* K, for the classifier */
    /* parameters and gradients: two buffers of num_params reals, same layout */
    real *params_memory, *grads_memory;
    /* --dropout (bert_set_training_dropout): the config's own values, which
     * checkpoints keep writing; trains_with_other_dropout false: none. */
    bool trains_with_other_dropout;
    double config_hidden_dropout, config_attention_dropout;
    /* The next-sentence loss's weight in the pretraining loss (loss = mlm +
     * nsp_loss_weight · nsp): 1 as BERT; `--nsp-weight` sets it. */
    double nsp_loss_weight;
    /* --precision bf16 (bert_use_bf16): the weight matrices that products
     * read (product_weights), rounded to bf16 at their offsets in the
     * layout of params_memory; the rest of the buffer is never touched, so
     * it takes no memory. NULL in f32. */
    uint16_t *params_bf16;
    ParamRange *product_weights;
    int num_product_weights;
    /* A forward-only bf16 model (bert_use_bf16 and bert_reserve_inference)
     * needs the f32 values of its product weights no more: their pages are
     * given back to the system (docs/bf16.md, "Inference keeps one copy
     * of each weight"), and the MLM decoder rounds the f32 word embeddings
     * block by block as it reads them. Such a model cannot train, refresh its copy or be saved. */
    bool f32_product_weights_released;
    bool bf16_arena_as_f32;     /* bert_keep_bf16_activations(m, false): a bf16 training
                                 * arena laid out as the f32 one (tests compare the two) */
    long num_params;
    BertParams params, grads;
    EncoderLayerParams *layer_params, *layer_grads;
    ParamTensor *tensors;
    int num_tensors;
    /* activations, planned for at most (max_B, max_T, max_P) */
    int max_B, max_T, max_P;
    bool forward_only;          /* planned by bert_reserve_inference: no backward */
    void *acts_memory;
    BertActivations acts;
    BertScratch scratch;
    /* the last forward pass */
    BertBatch batch;
    bool training;
    int M;                      /* counted MLM predictions */
    double mlm_loss, nsp_loss, cls_loss, loss;
    int mlm_correct, nsp_correct, cls_correct;
} BertModel;

/* Allocates parameters and gradients for cfg with the given heads (and
 * num_labels for BERT_HEADS_CLASSIFIER). Returns 0, or −1 with err filled. */
int bert_create(BertModel *m, const BertConfig *cfg, int heads, int num_labels, char *err, size_t err_len);

/* BERT's initialisation: weights and embeddings ~ truncated normal(0, initializer_range)
 * cut at ±2σ; LayerNorm γ = 1, β = 0; biases 0. Deterministic for a seed.
 * config.initializer picks another scheme for the weight matrices (Xavier,
 * He, LeCun: docs/initialisation.md); position_embedding_type "sinusoidal"
 * sets the fixed position table (docs/positions.md). */
void bert_init_weights(BertModel *m, uint64_t seed);

/* Plans the activation arena for batches up to B × T with P prediction slots;
 * the only allocation of the training loop. Returns 0 or −1 with err filled. */
int bert_reserve(BertModel *m, int B, int T, int P, char *err, size_t err_len);

/* The same for forward passes only (evaluation, prediction): the layers share
 * one set of caches, since nothing reads them after the next layer runs, and
 * there is no backward scratch. bert_backward must not follow. A bf16
 * model planned so gives back its f32 product weights (bert_use_bf16) and
 * is refused by bert_reserve and checkpoint_save afterwards. */
int bert_reserve_inference(BertModel *m, int B, int T, int P, char *err, size_t err_len);

/* Runs the model on batch; computes the losses of the heads whose labels the
 * batch carries (loss = their sum) and the accuracies. dropout_key names this
 * step's dropout masks (ignored unless training). Inputs are assumed valid
 * (ids < vocab_size, T ≤ max_position_embeddings): bert_check_batch says so. */
void bert_forward(BertModel *m, const BertBatch *batch, bool training, uint64_t dropout_key);

/* Accumulates into m->grads the gradient of loss_scale · loss from the last
 * forward (loss_scale = 1/accumulation_steps for gradient accumulation). */
void bert_backward(BertModel *m, real loss_scale);

void bert_zero_grad(BertModel *m);

/* Checks a batch against the model (ids in range, sizes within the reserve).
 * Returns 0, or −1 with err naming the problem. */
int bert_check_batch(const BertModel *m, const BertBatch *batch, char *err, size_t err_len);

/* Rows [first, first + rows) of WHOLE as a slice of it (first_row,
 * whole_rows and whole_predictions set; the arrays are views into whole's):
 * what one rank of a data-parallel job trains on. rows may be 0. */
BertBatch bert_batch_slice(const BertBatch *whole, long first, long rows);

/* Describes the parameter buffer to the optimizer: one segment per trained
 * tensor (segments must hold m->num_tensors entries; a sinusoidal position
 * table is left out, as it is fixed). Returns the count. */
int bert_param_segments(const BertModel *m, ParamSegment *segments);

/* Finds a tensor by its Hugging Face name, or NULL. */
const ParamTensor *bert_find_tensor(const BertModel *m, const char *name);

void bert_free(BertModel *m);

/* --dropout P: train with dropout P on the hidden states and the attention
 * probabilities (and before the classifier, unless the config sets
 * classifier_dropout) instead of the config's. The config's values are kept
 * and are what checkpoint_save writes, so a model pretrained without dropout
 * still tells fine-tuning to use its usual 0.1. p < 0 changes nothing. */
void bert_set_training_dropout(BertModel *m, double p);

/* --precision bf16 (docs/bf16.md): makes the bf16 copy of the weights and
 * routes every matrix product through it (gemm_use_bf16); master weights,
 * gradients and everything outside the products stay f32. One model at a
 * time. With bert_reserve_inference too (in either order) the model keeps
 * one copy of each weight (f32_product_weights_released). Returns −1 with
 * a message in the double build, on a CPU without AVX512-BF16 or without
 * memory. */
int bert_use_bf16(BertModel *m, char *err, size_t err_len);
/* Re-rounds the copy from params_memory: after every change of the weights
 * (the optimizer step: train_step's after_update). No-op in f32. */
void bert_refresh_bf16(BertModel *m);
/* Whether a bf16 training arena (bert_use_bf16, then bert_reserve) keeps
 * the activations that backward reads only through products as bf16 alone
 * (BertActivations.keeps_bf16; the default, true) or as f32, as the f32
 * arena does. Takes effect at the next bert_reserve. Every value is the same
 * either way; tests check that. */
void bert_keep_bf16_activations(BertModel *m, bool keep);

#endif
