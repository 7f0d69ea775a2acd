/* adamw.c — AdamW over one flat parameter buffer described by segments:
 * global-norm clipping, then one fused element-wise pass over the buffer.
 * Equations: docs/optimizer.md. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <omp.h>
#include "train/adamw.h"

AdamWConfig adamw_config_bert(void) {
    AdamWConfig cfg = {
        .lr = 0, .beta1 = (real)0.9, .beta2 = (real)0.999, .eps = (real)1e-6,
        .weight_decay = (real)0.01, .bias_correction = false, .max_grad_norm = 1,
    };
    return cfg;
}

int adamw_state_init(AdamWState *st, long n) {
    st->n = 0;
    st->step = 0;
    size_t count = n > 0 ? (size_t)n : 1;
    st->m = calloc(count, sizeof(real));
    st->v = calloc(count, sizeof(real));
    if (n < 0 || !st->m || !st->v) {
        free(st->m);
        free(st->v);
        st->m = st->v = NULL;
        return -1;
    }
    st->n = n;
    return 0;
}

void adamw_state_free(AdamWState *st) {
    free(st->m);
    free(st->v);
    st->m = st->v = NULL;
    st->n = 0;
    st->step = 0;
}

int adamw_check_segments(const ParamSegment *segments, int n_segments, long n,
                         char *err, size_t err_size) {
    for (int i = 0; i < n_segments; i++) {
        const ParamSegment *s = &segments[i];
        if (!s->name) {
            snprintf(err, err_size, "parameter segment %d has no name", i);
            return -1;
        }
        if (s->offset < 0 || s->count < 0 || s->count > n || s->offset > n - s->count) {
            snprintf(err, err_size, "parameter segment %d (%s): elements [%ld, %ld) lie outside the buffer of %ld",
                     i, s->name, s->offset, s->offset + s->count, n);
            return -1;
        }
        for (int j = 0; j < i; j++) {
            const ParamSegment *o = &segments[j];
            if (s->count > 0 && o->count > 0 &&
                s->offset < o->offset + o->count && o->offset < s->offset + s->count) {
                snprintf(err, err_size, "parameter segments %d (%s) [%ld, %ld) and %d (%s) [%ld, %ld) overlap",
                         j, o->name, o->offset, o->offset + o->count,
                         i, s->name, s->offset, s->offset + s->count);
                return -1;
            }
        }
    }
    return 0;
}

/* The chunk count is a constant, so chunk boundaries depend only on n and the
 * partial sums are added in the same order whatever the thread count. */
#define NORM_CHUNKS 64

/* Below this many elements a loop runs on the calling thread: forking threads
 * costs more than the work (BERT has ~100 bias and LayerNorm segments of a few
 * hundred elements). Results do not depend on it, only speed. */
#define PARALLEL_MIN 32768

/* docs/optimizer.md, equation (OP1). */
double grad_global_norm(const real *grads, long n) {
    double partial[NORM_CHUNKS];
    long chunk = (n + NORM_CHUNKS - 1) / NORM_CHUNKS;
    #pragma omp parallel for schedule(static) if (n >= PARALLEL_MIN)
    for (int c = 0; c < NORM_CHUNKS; c++) {
        long begin = (long)c * chunk, end = begin + chunk < n ? begin + chunk : n;
        double sum = 0;
        #pragma omp simd reduction(+:sum)
        for (long i = begin; i < end; i++) sum += (double)grads[i] * (double)grads[i];
        partial[c] = sum;
    }
    double total = 0;
    for (int c = 0; c < NORM_CHUNKS; c++) total += partial[c];
    return sqrt(total);
}

/* docs/optimizer.md, equation (OP2). */
double grad_clip_scale(double global_norm, double max_norm) {
    if (max_norm <= 0) return 1;
    return max_norm / (global_norm > max_norm ? global_norm : max_norm);
}

/* Google's AdamWeightDecayOptimizer, equations (OP3)–(OP5). */
static void update_google(real *restrict p, real *restrict m, real *restrict v, const real *restrict g, long count, real scale,
                          real lr, real beta1, real beta2, real eps, real wd) {
    #pragma omp simd
    for (long i = 0; i < count; i++) {
        real grad = g[i] * scale;
        m[i] = beta1 * m[i] + (1 - beta1) * grad;
        v[i] = beta2 * v[i] + (1 - beta2) * grad * grad;
        real update = m[i] / (sqrt(v[i]) + eps) + wd * p[i];
        p[i] -= lr * update;
    }
}

/* torch.optim.AdamW, equations (OP6)–(OP9); step_size = lr / (1 − β1ᵗ) and
 * sqrt_bc2 = sqrt(1 − β2ᵗ) are computed once per step in double, as torch does. */
static void update_torch(real *restrict p, real *restrict m, real *restrict v, const real *restrict g, long count, real scale,
                         real lr, real beta1, real beta2, real eps, real wd,
                         real step_size, real sqrt_bc2) {
    real shrink = 1 - lr * wd;
    #pragma omp simd
    for (long i = 0; i < count; i++) {
        real grad = g[i] * scale;
        p[i] *= shrink;
        m[i] = beta1 * m[i] + (1 - beta1) * grad;
        v[i] = beta2 * v[i] + (1 - beta2) * grad * grad;
        real denom = sqrt(v[i]) / sqrt_bc2 + eps;
        p[i] -= step_size * (m[i] / denom);
    }
}

double adamw_step(AdamWState *st, real *params, const real *grads,
                  const ParamSegment *segments, int n_segments, const AdamWConfig *cfg) {
    double norm = grad_global_norm(grads, st->n);
    if (!isfinite(norm)) return norm;
    real scale = (real)grad_clip_scale(norm, (double)cfg->max_grad_norm);
    st->step += 1;
    double t = (double)st->step;
    real step_size = (real)((double)cfg->lr / (1.0 - pow((double)cfg->beta1, t)));
    real sqrt_bc2 = (real)sqrt(1.0 - pow((double)cfg->beta2, t));
    /* One pass over the flat buffer: each thread takes a contiguous share of
     * it and updates the parts of the segments that fall in its share, with
     * one vectorised loop per part. The update is element-wise, so the result
     * does not depend on how the buffer is shared out. */
    #pragma omp parallel if (st->n >= PARALLEL_MIN)
    {
        int nthreads = omp_get_num_threads(), tid = omp_get_thread_num();
        long lo = st->n * tid / nthreads, hi = st->n * (tid + 1) / nthreads;
        for (int s = 0; s < n_segments; s++) {
            const ParamSegment *seg = &segments[s];
            long a = seg->offset > lo ? seg->offset : lo;
            long b = seg->offset + seg->count < hi ? seg->offset + seg->count : hi;
            if (a >= b) continue;
            real wd = seg->decay ? cfg->weight_decay : 0;
            if (cfg->bias_correction)
                update_torch(params + a, st->m + a, st->v + a, grads + a, b - a, scale,
                             cfg->lr, cfg->beta1, cfg->beta2, cfg->eps, wd, step_size, sqrt_bc2);
            else
                update_google(params + a, st->m + a, st->v + a, grads + a, b - a, scale,
                              cfg->lr, cfg->beta1, cfg->beta2, cfg->eps, wd);
        }
    }
    return norm;
}
