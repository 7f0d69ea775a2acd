/* embeddings.c — BERT's input embedding: three table lookups summed, and the
 * scatter-add that sends the gradient back to the looked-up rows. */
#include <stddef.h>
#include <omp.h>
#include "layers/embeddings.h"
#include "core/parallel.h"

/* docs/embeddings.md, equation (EM1). Ids are trusted: the data loader checks
 * them against V and TV, which this layer is not told. */
void embeddings_forward(real *out, const int *input_ids, const int *token_type_ids,
                        const real *word_emb, const real *pos_emb, const real *type_emb,
                        int B, int T, int C) {
    #pragma omp parallel for schedule(static) if ((long)B * T * C >= PARALLEL_MIN_WORK)
    for (int bt = 0; bt < B * T; bt++) {
        int t = bt % T;
        const real *w = word_emb + (long)input_ids[bt] * C;
        const real *p = pos_emb + (long)t * C;
        const real *s = type_emb + (long)token_type_ids[bt] * C;
        real *o = out + (long)bt * C;
        for (int c = 0; c < C; c++) o[c] = w[c] + p[c] + s[c];
    }
}

/* docs/embeddings.md, equations (EM2)–(EM4). Two tokens with the same id add
 * into the same row, so the tokens are visited serially, in order, and the
 * threads split the hidden axis instead: each owns a contiguous block of
 * columns of every table. Every element therefore receives its additions in
 * token order whatever the thread count, which makes the result bitwise
 * reproducible and free of races. */
void embeddings_backward(real *d_word_emb, real *d_pos_emb, real *d_type_emb, const real *dout,
                         const int *input_ids, const int *token_type_ids, int B, int T, int C) {
    #pragma omp parallel if ((long)B * T * C >= PARALLEL_MIN_WORK)
    {
        int nthreads = omp_get_num_threads(), tid = omp_get_thread_num();
        int c0 = (int)((long)C * tid / nthreads), c1 = (int)((long)C * (tid + 1) / nthreads);
        for (int bt = 0; bt < B * T; bt++) {
            const real *g = dout + (long)bt * C;
            real *dw = d_word_emb ? d_word_emb + (long)input_ids[bt] * C : NULL;
            real *dp = d_pos_emb ? d_pos_emb + (long)(bt % T) * C : NULL;
            real *ds = d_type_emb ? d_type_emb + (long)token_type_ids[bt] * C : NULL;
            if (dw) for (int c = c0; c < c1; c++) dw[c] += g[c];
            if (dp) for (int c = c0; c < c1; c++) dp[c] += g[c];
            if (ds) for (int c = c0; c < c1; c++) ds[c] += g[c];
        }
    }
}

/* docs/positions.md, equation (PO1). Columns 2i and 2i+1 share the frequency
 * ω_i = 10000^(−2i/C); an odd C leaves the last column a sine. */
void embeddings_sinusoidal_table(real *table, int P, int C) {
    for (int pos = 0; pos < P; pos++)
        for (int c = 0; c < C; c++) {
            int two_i = c - c % 2;
            double angle = pos / pow(10000.0, (double)two_i / C);
            table[(long)pos * C + c] = (real)(c % 2 == 0 ? sin(angle) : cos(angle));
        }
}
