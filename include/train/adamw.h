/* adamw.h — the AdamW optimizer exactly as BERT trains with it: Google's
 * AdamWeightDecayOptimizer (no bias correction, weight decay added to the
 * Adam update), or optionally torch.optim.AdamW (bias-corrected, decoupled
 * decay applied first), preceded by global-norm gradient clipping as in
 * Google's tf.clip_by_global_norm. Equations (OP1)–(OP9): docs/optimizer.md.
 *
 * Parameters and gradients each live in ONE contiguous `real` buffer of n
 * elements (llm.c style). The model describes that buffer as named segments,
 * one per tensor, saying which tensors take weight decay (BERT excludes every
 * bias and every LayerNorm γ/β). The optimizer state is two more buffers of n
 * elements, m and v, plus a step counter; they are plain fields so a trainer
 * can write them to a checkpoint and read them back for an exact resume. */
#ifndef BERT_ADAMW_H
#define BERT_ADAMW_H

#include <stdbool.h>
#include <stddef.h>
#include "core/real.h"

/* One tensor inside the flat buffer: elements offset .. offset+count−1.
 * decay = apply weight decay (false for LayerNorm γ/β and all biases). */
typedef struct { const char *name; long offset, count; bool decay; } ParamSegment;

typedef struct {
    real lr;                /* set per step by the schedule (lr_schedule.h) */
    real beta1, beta2, eps; /* 0.9, 0.999, 1e-6 (BERT) */
    real weight_decay;      /* 0.01 */
    bool bias_correction;   /* false = Google's AdamWeightDecayOptimizer; true = torch.optim.AdamW / HF AdamW */
    real max_grad_norm;     /* 1.0; <= 0 disables clipping */
} AdamWConfig;

/* BERT's settings (Google's optimization.py): β1 0.9, β2 0.999, ε 1e-6,
 * weight decay 0.01, no bias correction, clipping at global norm 1.0; lr = 0
 * until the caller sets it from the schedule. */
AdamWConfig adamw_config_bert(void);

/* m, v: first and second moments, n elements each, in the same layout as the
 * parameter buffer. step: updates applied so far (0 for a fresh state); the
 * update that is running uses t = step + 1 in the bias correction (OP6).
 * To checkpoint, save m[0..n), v[0..n) and step; to resume, init a state of
 * the same n and copy them back. */
typedef struct { real *m, *v; long n; long step; } AdamWState;

/* Allocates m and v zeroed and sets step = 0; the optimizer's only allocation.
 * Returns 0, or −1 if memory runs out (st is then left empty). */
int adamw_state_init(AdamWState *st, long n);
void adamw_state_free(AdamWState *st);

/* Checks that every segment lies inside [0, n), has count >= 0 and a name,
 * and that no two overlap (gaps are allowed: their parameters are never
 * updated). Returns 0, or −1 with a message naming the segment(s) in err. */
int adamw_check_segments(const ParamSegment *segments, int n_segments, long n,
                         char *err, size_t err_size);

/* sqrt(Σ g²) over grads[n] (OP1), accumulated in double over a fixed set of
 * chunks whose boundaries depend only on n, then summed in chunk order: the
 * result is bitwise identical for any number of threads. */
double grad_global_norm(const real *grads, long n);

/* Google's clip_by_global_norm factor (OP2): max_norm / max(norm, max_norm),
 * i.e. 1 when norm <= max_norm; 1 when max_norm <= 0 (clipping disabled). */
double grad_clip_scale(double global_norm, double max_norm);

/* One optimizer step over the st->n parameters:
 *   norm = grad_global_norm(grads, st->n); the gradients used are
 *   grads · grad_clip_scale(norm, cfg->max_grad_norm), computed on the fly —
 *   the caller's grads buffer is NOT modified;
 *   then st->step += 1 and every segment is updated by (OP3)–(OP5) or
 *   (OP6)–(OP9) as cfg->bias_correction says, with decay where segment.decay.
 * Returns the pre-clip global norm. If it is not finite (a NaN or Inf
 * gradient) nothing is changed — params, m, v and step are left as they were —
 * and the NaN/Inf is returned for the caller to report. Segments must pass
 * adamw_check_segments for st->n. Deterministic for any thread count. */
double adamw_step(AdamWState *st, real *params, const real *grads,
                  const ParamSegment *segments, int n_segments, const AdamWConfig *cfg);

#endif
