/* cross_entropy.c — softmax + negative log-likelihood, fused, with an ignore
 * index and the mean taken over the rows that count. */
#include <math.h>
#include <stdbool.h>
#include "layers/cross_entropy.h"
#include "core/parallel.h"
#include "core/simd_math.h"

/* The loss is summed over fixed blocks of rows, each block in row order, then
 * the block sums in block order: the same additions in the same order for any
 * thread count, so the loss is bitwise reproducible. */
#define CE_BLOCKS 64

static int is_counted(int target) { return target != IGNORE_INDEX; }

/* The first index of x[0..n) equal to value, or n − 1 if none is (value is
 * NaN). Blocks of 64 are tested in one vector compare each, and only the
 * block that holds the value is scanned element by element. */
static int first_index_of(const real *x, int n, real value) {
    for (int b0 = 0; b0 < n; b0 += 64) {
        int b1 = b0 + 64 < n ? b0 + 64 : n, hit = 0;
        #pragma omp simd reduction(|:hit)
        for (int v = b0; v < b1; v++) hit |= x[v] == value;
        if (hit)
            for (int v = b0; v < b1; v++)
                if (x[v] == value) return v;
    }
    return n - 1;
}

/* docs/cross_entropy.md, equations (CE1)–(CE3). The log-probability of the
 * target is taken as (z_t − max) − log Σ exp(z − max) rather than log(probs),
 * which would be −∞ once probs underflows. A target outside [0, V) (other than
 * IGNORE_INDEX) cannot be scored: the loss is then NaN, never a read out of
 * bounds. Each row is read once from memory: the first pass writes the
 * (biased) logits into the row of probs and the later passes work on that
 * row while it is in cache. */
real cross_entropy_forward(real *probs, int *predicted, const real *logits, const real *bias,
                           const int *targets, int N, int V, int *count) {
    double block_loss[CE_BLOCKS] = { 0 };
    int block_count[CE_BLOCKS] = { 0 };
    #pragma omp parallel for schedule(static) if ((long)N * V >= PARALLEL_MIN_WORK)
    for (int k = 0; k < CE_BLOCKS; k++) {
        int n0 = (int)((long)N * k / CE_BLOCKS), n1 = (int)((long)N * (k + 1) / CE_BLOCKS);
        for (int n = n0; n < n1; n++) {
            const real *z = logits + (long)n * V;
            real *p = probs + (long)n * V;
            real maxz = p[0] = z[0] + (bias ? bias[0] : 0);
            if (bias) {
                #pragma omp simd reduction(max:maxz)
                for (int v = 1; v < V; v++) { p[v] = z[v] + bias[v]; maxz = p[v] > maxz ? p[v] : maxz; }
            } else {
                #pragma omp simd reduction(max:maxz)
                for (int v = 1; v < V; v++) { p[v] = z[v]; maxz = p[v] > maxz ? p[v] : maxz; }
            }
            if (predicted) predicted[n] = first_index_of(p, V, maxz);
            int t = targets[n];
            real z_target = t >= 0 && t < V ? p[t] : 0;
            real sumexp = 0;
            #pragma omp simd reduction(+:sumexp)
            for (int v = 0; v < V; v++) { p[v] = exp(p[v] - maxz); sumexp += p[v]; }
            real inv = 1 / sumexp;
            #pragma omp simd
            for (int v = 0; v < V; v++) p[v] *= inv;
            if (is_counted(t)) {
                block_count[k]++;
                if (t < 0 || t >= V) block_loss[k] = NAN;
                else block_loss[k] += log((double)sumexp) - (double)(z_target - maxz);
            }
        }
    }
    double loss = 0;
    int counted = 0;
    for (int k = 0; k < CE_BLOCKS; k++) { loss += block_loss[k]; counted += block_count[k]; }
    if (count) *count = counted;
    return counted > 0 ? (real)(loss / counted) : 0;
}

/* docs/cross_entropy.md, equations (CE4)–(CE6):
 *   dlogits[n,:] = dloss/count · (probs[n,:] − onehot(targets[n])) on counted rows. */
void cross_entropy_backward(real *dlogits, const real *probs, const int *targets,
                            real dloss, int N, int V) {
    int counted = 0;
    for (int n = 0; n < N; n++) counted += is_counted(targets[n]);
    bool in_place = dlogits == probs;
    real scale = counted > 0 ? dloss / counted : 0;
    #pragma omp parallel for schedule(static) if ((long)N * V >= PARALLEL_MIN_WORK)
    for (int n = 0; n < N; n++) {
        const real *p = probs + (long)n * V;
        real *d = dlogits + (long)n * V;
        int t = targets[n];
        if (!is_counted(t) || t < 0 || t >= V) {
            if (in_place) for (int v = 0; v < V; v++) d[v] = 0;
            continue;
        }
        if (in_place) for (int v = 0; v < V; v++) d[v] = scale * p[v];
        else for (int v = 0; v < V; v++) d[v] += scale * p[v];
        d[t] -= scale;
    }
}
