/* embeddings.h — BERT's input embedding: word + position + token-type lookups,
 * summed. (The LayerNorm and dropout that follow are separate layers.)
 * Derivation: docs/embeddings.md. */
#ifndef BERT_EMBEDDINGS_H
#define BERT_EMBEDDINGS_H

#include "core/real.h"

/* out[B,T,C] = word_emb[input_ids[b,t], :] + pos_emb[t, :] + type_emb[token_type_ids[b,t], :]
 * word_emb[V,C], pos_emb[P,C] (T <= P), type_emb[TV,C]. */
void embeddings_forward(real *out, const int *input_ids, const int *token_type_ids,
                        const real *word_emb, const real *pos_emb, const real *type_emb,
                        int B, int T, int C);

/* Scatter-adds dout[B,T,C] into the rows that were looked up (+=). A NULL
 * table gradient is skipped (that table is not being trained). */
void embeddings_backward(real *d_word_emb, real *d_pos_emb, real *d_type_emb, const real *dout,
                         const int *input_ids, const int *token_type_ids, int B, int T, int C);

/* Vaswani et al. (2017)'s fixed position encodings, for position_embedding_type
 * "sinusoidal" (docs/positions.md (PO1)): table[P,C] with
 *   table[pos, 2i] = sin(pos / 10000^(2i/C)),  table[pos, 2i+1] = cos(pos / 10000^(2i/C)),
 * computed in double and rounded to real. It is used as pos_emb and never
 * trained (embeddings_backward is given a NULL d_pos_emb). */
void embeddings_sinusoidal_table(real *table, int P, int C);

#endif
