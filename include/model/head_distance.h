/* head_distance.h — how different a layer's attention heads are: the mean
 * pairwise Jensen–Shannon distance between their attention distributions
 * (docs/attention.md (AT20); used by docs/experiments.md, "Do more heads
 * find more correlations?").
 *
 * For two distributions p, q over n keys, with m = (p + q)/2,
 *
 *   JSD(p, q) = ½ Σ p log₂(p/m) + ½ Σ q log₂(q/m)        (0 ≤ JSD ≤ 1)
 *
 * and the Jensen–Shannon distance is √JSD (a metric: 0 for the same
 * distribution, 1 for two with disjoint support). Terms with p = 0 (or
 * q = 0) are 0, so masked keys, which get probability 0 exactly, add nothing.
 */
#ifndef BERT_HEAD_DISTANCE_H
#define BERT_HEAD_DISTANCE_H

#include "core/real.h"

/* √JSD(p, q) for two distributions of n entries each. */
double js_distance(const real *p, const real *q, int n);

/* The mean of js_distance over every pair of heads h < h' and every query
 * position i with attention_mask[i] = 1, between row i of head h and row i
 * of head h' of probs[NH,T,T] (one sequence's attention probabilities, as
 * BertActivations.layers[l].probs keeps them). *terms, when not NULL, gets
 * how many distances were averaged. 0 terms (one head, or no real token):
 * returns NaN. */
double attention_head_distance(const real *probs, const int *attention_mask, int NH, int T, long *terms);

#endif
