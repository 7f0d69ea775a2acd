/* docs/labs/exercises/attention.c — an exercise: src/layers/attention.c with the body
 * of attention_backward taken out. Fill it in, then check it with
 *     make lab LAB=attention STUDENT=docs/labs/exercises/attention.c
 * (better: copy this file somewhere of your own first). The answer is the
 * library's src/layers/attention.c. Below: the library's file, unchanged except
 * for that body. */
/* attention.c — BERT's multi-head self-attention, forward and backward.
 * Derivation and notation: docs/attention.md.
 *
 * Every matrix product goes through gemm() on strided views of the stacked
 * qkv[B,T,3C] buffer: head h of batch b reads its queries, keys and values in
 * place with leading dimension 3C, and writes its context columns in place
 * with leading dimension C. Nothing is copied or transposed.
 *
 * The (batch, head) pairs are independent, so they are spread over OpenMP
 * threads, and each pair's small products (T×T×hd) run on one BLIS thread
 * (gemm() is serial inside a parallel region): a second thread does not speed
 * up a 128×128×64 product, but two pairs at once use both cores. Each pair
 * writes only its own slices, and the weight gradients come from the big
 * stacked QKV and output projections, not from per-head sums, so the results
 * do not depend on the thread count.
 *
 * The softmax and the dropout are softmax.c's and dropout.c's row functions,
 * applied row by row while the row is in cache: the probabilities are
 * softmax_forward's, and element i of the flattened probs[B,NH,T,T] is
 * dropped exactly when dropout_forward with dropout_key drops element i
 * (tests/test_attention.c checks both bit for bit). */
#include <assert.h>
#include <math.h>
#include <string.h>
#include "layers/attention.h"
#include "core/gemm.h"
#include "layers/linear.h"
#include "core/rng.h"
#include "layers/softmax.h"
#include "layers/dropout.h"

/* Below this many multiply-adds over all (batch, head) pairs the pairs run on
 * the calling thread: starting a team costs more than the work (gradient
 * checks call this thousands of times on tiny inputs). */
#define PARALLEL_MIN_PRODUCTS (64L * 64 * 64)

/* docs/attention.md, equations (AT1)–(AT7). */
void attention_forward(real *out, real *qkv, real *probs, uint8_t *dropout_mask,
                       real *probs_dropped, real *context,
                       const real *inp, const real *mask_add,
                       const real *w_qkv, const real *b_qkv,
                       const real *w_out, const real *b_out,
                       real dropout_p, uint64_t dropout_key, bool training, bool causal,
                       int B, int T, int C, int NH) {
    assert(C % NH == 0);
    const int hd = C / NH, C3 = 3 * C;
    const long TT = (long)T * T;
    const real scale = 1 / sqrt((real)hd);
    const bool dropping = training && dropout_p > 0;
    const real keep_scale = dropping ? dropout_keep_scale(dropout_p) : 1;
    const uint64_t drop_threshold = rng_threshold(dropout_p);   /* dropped ⇔ rng_bits_at < this */

    /* (AT1) qkv[B·T,3C] = inp · w_qkvᵀ + b_qkv */
    linear_forward(qkv, inp, w_qkv, b_qkv, B * T, C, C3);

    #pragma omp parallel for schedule(static) if (B * NH > 1 && B * NH * TT * hd >= PARALLEL_MIN_PRODUCTS)
    for (int bh = 0; bh < B * NH; bh++) {
        int b = bh / NH, h = bh % NH;
        const real *q = qkv + (long)b * T * C3 + h * hd;   /* Q_h[T,hd], ld 3C */
        const real *k = q + C;                              /* K_h[T,hd], ld 3C */
        const real *v = q + 2 * C;                          /* V_h[T,hd], ld 3C */
        real *p = probs + bh * TT;                          /* [T,T] */
        const real *madd = mask_add ? mask_add + (long)b * T : NULL;

        /* (AT2) scores[T,T] = Q_h K_hᵀ / √hd, written into probs */
        gemm(false, true, T, T, hd, scale, q, C3, k, C3, 0, p, T);

        /* (AT3)–(AT5) row by row while the row is in cache: add the key mask,
         * softmax over keys (docs/softmax.md (SM1)–(SM2)), then inverted dropout
         * with the element's index in the whole [B,NH,T,T] tensor. */
        for (int i = 0; i < T; i++) {
            real *row = p + (long)i * T;
            if (madd) {
                #pragma omp simd
                for (int j = 0; j < T; j++) row[j] += madd[j];
            }
            if (causal)
                for (int j = i + 1; j < T; j++) row[j] += ATTENTION_MASK_VALUE;
            softmax_row_forward(row, row, T);
            if (dropping) {
                long e0 = bh * TT + (long)i * T;
                dropout_row_forward(probs_dropped + e0, dropout_mask + e0, row, T, keep_scale,
                                    drop_threshold, dropout_key, (uint64_t)e0);
            }
        }

        /* (AT6) context_h[T,hd] = probs_dropped · V_h, into columns h·hd.. of context (ld C) */
        const real *pd = dropping ? probs_dropped + bh * TT : p;
        gemm(false, false, T, hd, T, 1, pd, T, v, C3, 0, context + (long)b * T * C + h * hd, C);
    }

    /* (AT7) out[B·T,C] = context · w_outᵀ + b_out */
    linear_forward(out, context, w_out, b_out, B * T, C, C);
}

/* docs/attention.md, equations (AT8)–(AT19). dropout_p must be the p used in the
 * forward call when it ran with training on, and 0 when training was off
 * (the same contract as dropout_backward); the saved mask supplies which
 * elements were dropped, p only the 1/(1 − p) scale of the kept ones. */
void attention_backward(real *dinp, real *d_w_qkv, real *d_b_qkv, real *d_w_out, real *d_b_out,
                        real *d_qkv, real *d_context, real *d_probs,
                        const real *dout, const real *inp, const real *qkv,
                        const real *probs, const uint8_t *dropout_mask, const real *context,
                        const real *w_qkv, const real *w_out,
                        real dropout_p, int B, int T, int C, int NH) {
    /* TODO (docs/labs/03_fill_in.md): write attention_backward. The comment above names
     * the equations of docs/attention.md it implements; the header
     * include/layers/attention.h says which arguments are accumulated (+=),
     * which are scratch and which may be NULL. Until it is written every
     * gradient stays as it was, and the checks fail. */
}
