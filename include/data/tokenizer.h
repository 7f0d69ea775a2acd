/* tokenizer.h — BERT's WordPiece tokenizer: text → token ids exactly as Google's
 * FullTokenizer / Hugging Face's BertTokenizer (bert-base-uncased), and the
 * helpers that build BERT's model inputs ([CLS] A [SEP] B [SEP]).
 * The algorithm, its Unicode details and where the references differ:
 * docs/tokenizer.md. */
#ifndef BERT_TOKENIZER_H
#define BERT_TOKENIZER_H

#include <stdbool.h>
#include <stddef.h>
#include "core/intvec.h"

/* Longer words (in code points) become [UNK], as in Hugging Face's BertTokenizer. */
#define TOKENIZER_MAX_WORD_CHARS 100

typedef struct Tokenizer Tokenizer;   /* immutable after load: safe to share across threads */

/* Loads vocab.txt (one token per line, id = 0-based line number). lower_case
 * selects the uncased pipeline (lowercase + strip accents). Returns NULL and a
 * message naming the file and line on error: missing file, empty line,
 * duplicate token, CRLF line end, invalid UTF-8, or a missing special token
 * ([PAD], [UNK], [CLS], [SEP], [MASK]). */
Tokenizer *tokenizer_load(const char *vocab_path, bool lower_case, char *err, size_t err_len);
/* The same from vocab.txt's contents already in memory: text holds size bytes
 * and one more (any value; it is overwritten), is malloc'd and owned by the
 * Tokenizer from the call on, also when loading fails. vocab_path names the
 * source in messages. */
Tokenizer *tokenizer_load_text(const char *vocab_path, char *text, long size, bool lower_case, char *err,
                               size_t err_len);
void tokenizer_free(Tokenizer *tok);

int tokenizer_vocab_size(const Tokenizer *tok);
bool tokenizer_lower_case(const Tokenizer *tok);
int tokenizer_token_id(const Tokenizer *tok, const char *token);   /* −1 if absent */
const char *tokenizer_id_to_token(const Tokenizer *tok, int id);   /* NULL if out of range */
bool tokenizer_is_continuation(const Tokenizer *tok, int id);      /* token starts with "##" */
int tokenizer_pad_id(const Tokenizer *tok);
int tokenizer_unk_id(const Tokenizer *tok);
int tokenizer_cls_id(const Tokenizer *tok);
int tokenizer_sep_id(const Tokenizer *tok);
int tokenizer_mask_id(const Tokenizer *tok);

/* Encodes len bytes of UTF-8 text, appending the ids to *ids. Returns the
 * number of ids appended, or −1 if memory ran out. Invalid UTF-8 bytes are
 * dropped (as Python's errors='ignore' decoding would) and counted into
 * *invalid_bytes (added to it; may be NULL). The special tokens [PAD] [UNK]
 * [CLS] [SEP] [MASK] written in the text (exact case) stay whole. The token
 * strings are tokenizer_id_to_token() of the ids: every piece is a vocab entry. */
long tokenizer_encode(const Tokenizer *tok, const char *text, size_t len, IntVec *ids,
                      long *invalid_bytes);

/* BERT's basic tokenizer alone (no vocab): clean, split CJK, optionally
 * lowercase + strip accents, split on whitespace and punctuation. Calls
 * emit(ctx, word, nbytes, nchars) for every word, in order; `word` is UTF-8,
 * not NUL-terminated, valid only during the call. Returns the number of invalid
 * UTF-8 bytes dropped, or −1 if memory ran out. Vocabulary training uses it so
 * that it sees exactly the words encoding will see. */
typedef void (*TokenizerWordFn)(void *ctx, const char *word, int nbytes, int nchars);
long tokenizer_basic_words(const char *text, size_t len, bool lower_case,
                           TokenizerWordFn emit, void *ctx);

/* Builds one model input as BERT's run_classifier.py / run_pretraining do:
 *   [CLS] a [SEP]            (b == NULL)   token_type 0 for every position
 *   [CLS] a [SEP] b [SEP]                  token_type 0 up to the first [SEP], 1 after
 * If the tokens do not fit, the longer segment loses its last token until they
 * do (Google's _truncate_seq_pair; on a tie b is shortened). attention_mask is
 * 1 on real tokens. With pad, positions up to max_seq_length are filled with
 * [PAD], type 0, mask 0. The three arrays hold max_seq_length ints.
 * Returns the number of real tokens, or −1 if max_seq_length < 2 (3 with b). */
int tokenizer_build_pair(const Tokenizer *tok, const int *a, int len_a, const int *b, int len_b,
                         int max_seq_length, bool pad,
                         int *input_ids, int *token_type_ids, int *attention_mask);

#endif
