/* head_distance.c — mean pairwise Jensen–Shannon distance between attention
 * heads (include/model/head_distance.h has the definition). */
#include <math.h>
#include "model/head_distance.h"

/* docs/attention.md (AT20): ½ Σ p log₂(p/m) + ½ Σ q log₂(q/m), m = (p + q)/2,
 * summed in double. */
double js_distance(const real *p, const real *q, int n) {
    double divergence = 0;
    for (int k = 0; k < n; k++) {
        double a = p[k], b = q[k], m = 0.5 * (a + b);
        if (a > 0) divergence += 0.5 * a * log2(a / m);
        if (b > 0) divergence += 0.5 * b * log2(b / m);
    }
    /* rounding can leave a tiny negative sum for equal rows */
    return divergence > 0 ? sqrt(divergence) : 0;
}

double attention_head_distance(const real *probs, const int *attention_mask, int NH, int T, long *terms) {
    double sum = 0;
    long count = 0;
    for (int h = 0; h < NH; h++)
        for (int g = h + 1; g < NH; g++)
            for (int i = 0; i < T; i++) {
                if (!attention_mask[i]) continue;
                sum += js_distance(probs + ((long)h * T + i) * T, probs + ((long)g * T + i) * T, T);
                count++;
            }
    if (terms) *terms = count;
    return count ? sum / (double)count : NAN;
}
