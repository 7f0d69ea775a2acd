/* tokenizer_json.h — the tokenizer files of a model directory beside vocab.txt,
 * for Hugging Face's fast tokenizer (BertTokenizerFast, the `tokenizers`
 * library): tokenizer.json and special_tokens_map.json; and loading a
 * directory's vocabulary from vocab.txt or, when it has none, tokenizer.json.
 * The format and where the fast tokenizer differs from bert.c's:
 * docs/tokenizer.md. */
#ifndef BERT_TOKENIZER_JSON_H
#define BERT_TOKENIZER_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include "data/tokenizer.h"

/* The five special tokens, in the order tokenizer.json lists them after
 * sorting by id. */
extern const char *const TOKENIZER_SPECIAL_TOKENS[5];

/* Writes DIR/tokenizer.json and DIR/special_tokens_map.json for tok (each to a
 * temporary file, then renamed). Returns 0, or −1 with a message. */
int tokenizer_json_save(const char *dir, const Tokenizer *tok, char *err, size_t err_len);

/* Writes tok's vocabulary as vocab.txt (one token per line, in id order). */
int tokenizer_save_vocab_txt(const Tokenizer *tok, const char *path, char *err, size_t err_len);

/* Loads a tokenizer.json written by bert.c or by `tokenizers` for a BERT
 * WordPiece model: model.type "WordPiece" with prefix "##", a BertNormalizer
 * (its lowercase chooses the uncased pipeline; strip_accents must be null or
 * equal to it, as bert.c strips accents exactly when it lowercases), and a
 * vocab whose ids are 0..n−1, each once. Returns NULL with a message naming
 * the file and the problem. */
Tokenizer *tokenizer_json_load(const char *path, char *err, size_t err_len);

/* A model directory's tokenizer: DIR/vocab.txt with lower_case (from
 * tokenizer_config.json), or, when DIR has no vocab.txt, DIR/tokenizer.json,
 * whose normalizer must then agree with lower_case if DIR has a
 * tokenizer_config.json (and otherwise decides alone). Sets *source (if not NULL)
 * to the file read, in a buffer of source_len bytes. */
Tokenizer *tokenizer_load_dir(const char *dir, bool lower_case, char *source, size_t source_len,
                              char *err, size_t err_len);

#endif
