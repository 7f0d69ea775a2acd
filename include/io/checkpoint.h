/* checkpoint.h — a BertModel to and from a Hugging Face model directory:
 * config.json + model.safetensors (+ vocab.txt), the layout that
 * transformers' BertForPreTraining / BertForSequenceClassification
 * .from_pretrained(dir) loads. Layout and naming: docs/checkpoints.md. */
#ifndef BERT_CHECKPOINT_H
#define BERT_CHECKPOINT_H

#include <stdbool.h>
#include <stddef.h>
#include "model/model.h"

/* Writes dir/config.json and dir/model.safetensors (each atomically), and
 * copies vocab_path to dir/vocab.txt when vocab_path is not NULL. The tied MLM
 * decoder is not written twice: like transformers' own safetensors files,
 * cls.predictions.decoder.{weight,bias} are left out and re-tied on load.
 * id2label (num_labels strings) is stored in config.json for classifiers. */
int checkpoint_save(const BertModel *m, const char *dir, const char *vocab_path,
                    const char *const *id2label, char *err, size_t err_len);

/* Writes dir/tokenizer_config.json ({"do_lower_case": …, "tokenizer_class":
 * "BertTokenizer", "model_max_length": …}) so transformers' AutoTokenizer
 * builds the same tokenizer from dir/vocab.txt. */
int checkpoint_save_tokenizer_config(const char *dir, bool lower_case, int model_max_length,
                                     char *err, size_t err_len);

/* Reads dir/tokenizer_config.json's do_lower_case into *lower_case: true
 * (uncased, BERT's default) when the file or the key is absent; a file that
 * is not a JSON object, or a non-boolean value, is an error. */
int checkpoint_read_lower_case(const char *dir, bool *lower_case, char *err, size_t err_len);

/* Reads dir/config.json and dir/model.safetensors into a new model with the
 * given heads. Tensors of heads the model does not carry (a pretraining
 * checkpoint's MLM/NSP heads when fine-tuning) are ignored; heads the file
 * lacks (a new classifier) keep BERT's initialisation from init_seed.
 * Accepted naming variants of published checkpoints: LayerNorm.gamma/.beta
 * for .weight/.bias, no "bert." prefix (a bare BertModel), an extra
 * embeddings.position_ids buffer, present or absent tied decoder tensors.
 * A missing encoder tensor, a shape mismatch, a corrupt file or a NaN or
 * infinite value in any tensor read is an error naming the file and tensor. num_labels is taken from config.json when the
 * caller passes 0. *loaded_heads (may be NULL) reports which heads the file had. */
int checkpoint_load(BertModel *m, const char *dir, int heads, int num_labels, uint64_t init_seed,
                    int *loaded_heads, char *err, size_t err_len);

/* checkpoint_load, but every tensor of the heads in required_heads (a subset
 * of heads) must be in the file: a missing one is an error naming the file
 * and the tensor instead of a randomly initialised head. eval and predict
 * require BERT_HEADS_CLASSIFIER. */
int checkpoint_load_requiring(BertModel *m, const char *dir, int heads, int num_labels, uint64_t init_seed,
                              int required_heads, int *loaded_heads, char *err, size_t err_len);

#endif
