/* residual_layernorm.c — BERT's post-LN sublayer output LayerNorm(residual + inp),
 * built on layernorm_forward/backward. */
#include "layers/residual_layernorm.h"
#include "core/parallel.h"
#include "layers/layernorm.h"

/* docs/residual_layernorm.md, equations (RL1)–(RL2). */
void residual_layernorm_forward(real *out, real *sum, real *mean, real *rstd,
                                const real *residual, const real *inp,
                                const real *weight, const real *bias, real eps, int N, int C) {
    long NC = (long)N * C;
    #pragma omp parallel for schedule(static) if (NC >= PARALLEL_MIN_WORK)
    for (long i = 0; i < NC; i++) sum[i] = residual[i] + inp[i];
    layernorm_forward(out, mean, rstd, sum, weight, bias, eps, N, C);
}

/* docs/residual_layernorm.md, equations (RL3)–(RL4): d_sum is LayerNorm's input
 * gradient; a sum passes its gradient unchanged to both addends. */
void residual_layernorm_backward(real *d_residual, real *d_inp, real *dweight, real *dbias,
                                 real *d_sum, const real *dout, const real *sum,
                                 const real *weight, const real *mean, const real *rstd,
                                 int N, int C) {
    long NC = (long)N * C;
    #pragma omp parallel for schedule(static) if (NC >= PARALLEL_MIN_WORK)
    for (long i = 0; i < NC; i++) d_sum[i] = 0;
    layernorm_backward(d_sum, dweight, dbias, dout, sum, weight, mean, rstd, N, C);
    /* Element by element, so d_residual == d_inp receives d_sum twice. */
    #pragma omp parallel for schedule(static) if (NC >= PARALLEL_MIN_WORK)
    for (long i = 0; i < NC; i++) {
        if (d_residual) d_residual[i] += d_sum[i];
        if (d_inp) d_inp[i] += d_sum[i];
    }
}
