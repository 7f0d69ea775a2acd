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
    assert(C % NH == 0);
    const int hd = C / NH, C3 = 3 * C;
    const long TT = (long)T * T;
    const real scale = 1 / sqrt((real)hd);
    const bool dropping = dropout_p > 0;
    const real keep_scale = dropping ? dropout_keep_scale(dropout_p) : 1;

    /* (AT8)–(AT10): output projection; d_context is scratch, so overwritten */
    linear_backward_overwrite(d_context, d_w_out, d_b_out, dout, context, w_out, B * T, C, C);
    /* with bf16 products: d_context and d_probs are read by two products
     * each, so they are rounded once (d_context here, d_probs per head) */
    gemm_hold_operand(d_context, B * T, C, C);

    /* every column block of d_qkv is written by exactly one (b, h) below with
     * beta = 0, so it needs no clearing */
    #pragma omp parallel for schedule(static) if (B * NH > 1 && B * NH * TT * hd >= PARALLEL_MIN_PRODUCTS)
    for (int bh = 0; bh < B * NH; bh++) {
        int b = bh / NH, h = bh % NH;
        long off = (long)b * T * C3 + h * hd;
        const real *q = qkv + off, *k = q + C, *v = q + 2 * C;
        real *dq = d_qkv + off, *dk = dq + C, *dv = dq + 2 * C;
        const real *dctx = d_context + (long)b * T * C + h * hd;    /* [T,hd], ld C */
        const real *p = probs + bh * TT;
        const uint8_t *m = dropping ? dropout_mask + bh * TT : NULL;
        real *dp = d_probs + bh * TT;                                /* [T,T] */

        /* (AT12) dV_h[T,hd] = probs_droppedᵀ · d_context_h, with probs_dropped
         * rebuilt from probs and the mask in dp (the same products as in the
         * forward pass, so the same values) before (AT11) overwrites dp. */
        const real *pd = p;
        if (dropping) {
            dropout_row_backward(dp, p, m, keep_scale, TT, false);
            pd = dp;
        }
        gemm(true, false, T, hd, T, 1, pd, T, dctx, C, 0, dv, C3);
        /* (AT11) d_probs_dropped[T,T] = d_context_h · V_hᵀ */
        gemm(false, true, T, T, hd, 1, dctx, C, v, C3, 0, dp, T);

        /* (AT13) through dropout, then (AT14) the softmax Jacobian, row by row
         * in place: dp ends as d_scores (the gradient of the masked,
         * scaled scores). A masked key has p = 0 exactly, so its d_score is 0. */
        for (int i = 0; i < T; i++) {
            real *g = dp + (long)i * T;
            const real *y = p + (long)i * T;
            if (m) dropout_row_backward(g, g, m + (long)i * T, keep_scale, T, false);
            softmax_row_backward(g, g, y, T, false);
        }

        gemm_hold_operand(dp, T, T, T);
        /* (AT15) dQ_h[T,hd] = d_scores · K_h / √hd */
        gemm(false, false, T, hd, T, scale, dp, T, k, C3, 0, dq, C3);
        /* (AT16) dK_h[T,hd] = d_scoresᵀ · Q_h / √hd */
        gemm(true, false, T, hd, T, scale, dp, T, q, C3, 0, dk, C3);
        gemm_release_operand(dp);
    }
    gemm_release_operand(d_context);

    /* (AT17)–(AT19) stacked QKV projection: d_w_qkv's three row blocks are dW_q,
     * dW_k, dW_v; dinp gets the sum of the three paths */
    linear_backward_consuming(dinp, d_w_qkv, d_b_qkv, d_qkv, inp, w_qkv, B * T, C, C3);
}
