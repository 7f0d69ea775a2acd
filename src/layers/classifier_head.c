/* classifier_head.c — dropout then a linear classifier on the pooled state. */
#include <string.h>
#include "layers/classifier_head.h"
#include "layers/dropout.h"
#include "layers/linear.h"

void classifier_head_forward(real *logits, real *dropped, uint8_t *mask, const real *pooled,
                             const real *weight, const real *bias, real p, uint64_t key,
                             bool training, int B, int C, int K) {
    dropout_forward(dropped, mask, pooled, p, key, (long)B * C, training);
    linear_forward(logits, dropped, weight, bias, B, C, K);
}

/* docs/heads.md#classification-head (HD12)–(HD13). */
void classifier_head_backward(real *d_pooled, real *dweight, real *dbias, real *d_dropped,
                              const real *dlogits, const real *dropped, const uint8_t *mask,
                              const real *weight, real p, int B, int C, int K) {
    memset(d_dropped, 0, sizeof(real) * (size_t)B * C);
    linear_backward(d_dropped, dweight, dbias, dlogits, dropped, weight, B, C, K);
    dropout_backward(d_pooled, d_dropped, mask, p, (long)B * C);
}
