/* bert_config.h — the model hyperparameters, read from and written to Hugging
 * Face's config.json (transformers.BertConfig); Google's bert_config.json uses
 * the same keys and loads too. Key policy (docs/checkpoints.md):
 *   - the five size keys (vocab_size, hidden_size, num_hidden_layers,
 *     num_attention_heads, intermediate_size) are required;
 *   - every other BertConfig key is optional with transformers' default;
 *   - known keys that do not change the model bert.c computes (e.g.
 *     transformers_version, use_cache, torch_dtype) are accepted and ignored;
 *   - keys that would change it to something bert.c does not implement are
 *     errors (hidden_act other than "gelu" or "relu", position_embedding_type
 *     other than "absolute" or bert.c's "sinusoidal", add_cross_attention true);
 *   - bert.c's own keys (initializer, classifier_pooling, bert_c_only) and
 *     position_embedding_type "sinusoidal" describe options Hugging Face BERT
 *     ignores or cannot express (docs/checkpoints.md "bert.c-only keys");
 *   - a key that is not one of those but is a near-miss of a key bert.c reads
 *     (at most two edits away, or equal up to case and '-' for '_', e.g.
 *     "num_hidden_layer", "Hidden_Size") is an error: the typo would leave
 *     that setting at its default and silently change the model;
 *   - any other key is ignored with a warning on stderr naming the file, the
 *     line and the key, and is listed in cfg->unknown_keys;
 *   - at most BERT_MAX_LABELS classification labels. */
#ifndef BERT_BERT_CONFIG_H
#define BERT_BERT_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include "layers/activation.h"   /* HiddenAct */

/* Most labels a config may declare (num_labels, id2label, label2id): far
 * above any classification task, and low enough that a mistyped num_labels
 * (1e8) is an error rather than gigabytes of label names. */
#define BERT_MAX_LABELS 100000

typedef struct {
    int vocab_size;                  /* 30522 */
    int hidden_size;                 /* H, 768 */
    int num_hidden_layers;           /* L, 12 */
    int num_attention_heads;         /* A, 12; H % A == 0 */
    int intermediate_size;           /* 3072 */
    char hidden_act[32];             /* "gelu" (exact erf form, BERT's) or "relu" (docs/relu.md) */
    double hidden_dropout_prob;      /* 0.1, in [0, 1) */
    double attention_probs_dropout_prob;   /* 0.1, in [0, 1) */
    int max_position_embeddings;     /* 512 */
    int type_vocab_size;             /* 2 */
    double initializer_range;        /* 0.02: std of the truncated-normal init */
    double layer_norm_eps;           /* 1e-12 */
    int pad_token_id;                /* 0 */
    /* Dropout before the classification head; "classifier_dropout": null (or
     * absent) means hidden_dropout_prob, and has_classifier_dropout is false. */
    bool has_classifier_dropout;
    double classifier_dropout;
    /* Options a teacher can switch on (docs/README.md "Options"); the
     * defaults are BERT's, and a default config is saved exactly as before. */
    char position_embedding_type[32];   /* "absolute" (learned, BERT) or "sinusoidal" (fixed,
                                         * bert.c only: docs/positions.md) */
    bool is_decoder;                 /* causal self-attention: token t attends to 0..t
                                      * (Hugging Face's key and mask; docs/attention.md) */
    char initializer[32];            /* "bert" (truncated normal, default), "xavier_uniform",
                                      * "xavier_normal", "he_normal", "lecun_normal"
                                      * (bert.c only: docs/initialisation.md) */
    char classifier_pooling[16];     /* "cls" (pooler on [CLS], BERT), "mean", "max"
                                      * (bert.c only: docs/sequence_pooling.md) */
    char architecture[64];           /* first entry of "architectures", "" if none */
    /* "regression", "single_label_classification", "multi_label_classification" or "" */
    char problem_type[32];
    /* Classification labels: id2label[i] for 0 <= i < num_labels (malloc'd).
     * Default: 2 labels named "LABEL_0", "LABEL_1", as transformers does. */
    int num_labels;
    char **id2label;
    /* Keys not recognised, comma-separated ("" if none; "..." at the end when
     * they do not fit); see the policy above. */
    char unknown_keys[256];
} BertConfig;

/* transformers.BertConfig() defaults (bert-base-uncased). Allocates id2label:
 * pair with bert_config_free. Returns 0, or -1 if out of memory. */
int bert_config_defaults(BertConfig *cfg);
void bert_config_free(BertConfig *cfg);

/* Reads config.json (HF) or bert_config.json (Google). On error returns -1,
 * leaves nothing to free, and err says "PATH:LINE: problem". */
int bert_config_load(BertConfig *cfg, const char *path, char *err, size_t err_len);

/* The same checks bert_config_load applies, on a config built in code. */
int bert_config_validate(const BertConfig *cfg, char *err, size_t err_len);

/* Writes HF-style config.json atomically, with "architectures": [architecture]
 * (NULL: cfg->architecture, omitted if that is empty) and "model_type": "bert",
 * so transformers.AutoConfig.from_pretrained reads it. */
int bert_config_save(const BertConfig *cfg, const char *architecture, const char *path,
                     char *err, size_t err_len);

/* The options, read from a config (an empty string counts as the default). */
typedef enum { POOLING_CLS = 0, POOLING_MEAN = 1, POOLING_MAX = 2 } ClassifierPooling;
typedef enum {
    INIT_BERT = 0, INIT_XAVIER_UNIFORM, INIT_XAVIER_NORMAL, INIT_HE_NORMAL, INIT_LECUN_NORMAL
} InitScheme;
HiddenAct bert_config_hidden_act(const BertConfig *cfg);
bool bert_config_sinusoidal(const BertConfig *cfg);
ClassifierPooling bert_config_pooling(const BertConfig *cfg);
InitScheme bert_config_init_scheme(const BertConfig *cfg);
/* Parses a --pooling / --init-scheme value: 0, or −1 if it is not one of the names. */
int bert_parse_pooling(const char *name, ClassifierPooling *out);
int bert_parse_init_scheme(const char *name, InitScheme *out);
/* "cls|mean|max", "bert|xavier_uniform|xavier_normal|he_normal|lecun_normal" */
extern const char *const bert_pooling_names[3];
extern const char *const bert_init_scheme_names[5];

#endif
