/* sequence_pooling.c — mean and max over the real tokens of each sequence.
 * Each sequence is summed over t in order by one thread, so results do not
 * depend on the thread count. */
#include <string.h>
#include "layers/sequence_pooling.h"

static int is_token(const int *mask, int b, int T, int t) { return !mask || mask[(long)b * T + t] != 0; }

/* docs/sequence_pooling.md, equation (SP1). */
void sequence_pooling_mean_forward(real *out, const real *inp, const int *mask, int B, int T, int C) {
    for (int b = 0; b < B; b++) {
        real *o = out + (long)b * C;
        memset(o, 0, sizeof(real) * (size_t)C);
        int n = 0;
        for (int t = 0; t < T; t++) {
            if (!is_token(mask, b, T, t)) continue;
            const real *x = inp + ((long)b * T + t) * C;
            for (int c = 0; c < C; c++) o[c] += x[c];
            n++;
        }
        if (n > 0)
            for (int c = 0; c < C; c++) o[c] /= (real)n;
    }
}

/* docs/sequence_pooling.md, equation (SP2): every real token of sequence b
 * receives dout[b,:] / n_b; padding receives nothing. */
void sequence_pooling_mean_backward(real *dinp, const real *dout, const int *mask, int B, int T, int C) {
    for (int b = 0; b < B; b++) {
        int n = 0;
        for (int t = 0; t < T; t++) n += is_token(mask, b, T, t);
        if (n == 0) continue;
        const real *g = dout + (long)b * C;
        for (int t = 0; t < T; t++) {
            if (!is_token(mask, b, T, t)) continue;
            real *d = dinp + ((long)b * T + t) * C;
            for (int c = 0; c < C; c++) d[c] += g[c] / (real)n;
        }
    }
}

/* docs/sequence_pooling.md, equation (SP3); a tie keeps the first t (strict >). */
void sequence_pooling_max_forward(real *out, int *argmax, const real *inp, const int *mask, int B, int T, int C) {
    for (int b = 0; b < B; b++) {
        real *o = out + (long)b * C;
        int *a = argmax + (long)b * C;
        for (int c = 0; c < C; c++) { o[c] = 0; a[c] = -1; }
        for (int t = 0; t < T; t++) {
            if (!is_token(mask, b, T, t)) continue;
            const real *x = inp + ((long)b * T + t) * C;
            for (int c = 0; c < C; c++)
                if (a[c] < 0 || x[c] > o[c]) { o[c] = x[c]; a[c] = t; }
        }
    }
}

/* docs/sequence_pooling.md, equation (SP4): ∂out[b,c]/∂inp[b,t,c] = [t = argmax[b,c]]. */
void sequence_pooling_max_backward(real *dinp, const real *dout, const int *argmax, int B, int T, int C) {
    for (int b = 0; b < B; b++)
        for (int c = 0; c < C; c++) {
            int t = argmax[(long)b * C + c];
            if (t >= 0) dinp[((long)b * T + t) * C + c] += dout[(long)b * C + c];
        }
}
