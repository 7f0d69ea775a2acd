/* tanh.c — tanh activation (BERT's pooler); the backward uses the saved output. */
#include "layers/tanh.h"
#include "core/parallel.h"

/* docs/tanh.md, equation (TH1). */
void tanh_forward(real *out, const real *inp, long N) {
    #pragma omp parallel for schedule(static) if (N >= PARALLEL_MIN_WORK)
    for (long i = 0; i < N; i++) out[i] = tanh(inp[i]);
}

/* docs/tanh.md, equation (TH2): d tanh(x)/dx = 1 − tanh(x)² = 1 − out². */
void tanh_backward(real *dinp, const real *dout, const real *out, long N) {
    #pragma omp parallel for schedule(static) if (N >= PARALLEL_MIN_WORK)
    for (long i = 0; i < N; i++) dinp[i] += dout[i] * (1 - out[i] * out[i]);
}
