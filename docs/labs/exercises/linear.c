/* docs/labs/exercises/linear.c — an exercise: src/layers/linear.c with the body
 * of linear_backward taken out. Fill it in, then check it with
 *     make lab LAB=linear STUDENT=docs/labs/exercises/linear.c
 * (better: copy this file somewhere of your own first). The answer is the
 * library's src/layers/linear.c. Below: the library's file, unchanged except
 * for that body. */
/* linear.c — the fully connected layer; every product goes through gemm(). */
#include <omp.h>
#include "layers/linear.h"
#include "core/parallel.h"
#include "core/gemm.h"

/* docs/linear.md, equation (LI1). gemm_bias adds the bias after the
 * product, or with bf16 products inside it (gemm.h). */
void linear_forward(real *out, const real *inp, const real *weight, const real *bias,
                    int N, int IC, int OC) {
    if (bias) gemm_bias(false, true, N, OC, IC, inp, IC, weight, IC, bias, out, OC);
    else gemm(false, true, N, OC, IC, 1, inp, IC, weight, IC, 0, out, OC);
}

/* docs/linear.md, equations (LI2)–(LI4). */
void linear_backward(real *dinp, real *dweight, real *dbias, const real *dout,
                     const real *inp, const real *weight, int N, int IC, int OC) {
    /* TODO (docs/labs/03_fill_in.md): write linear_backward. The comment above names
     * the equations of docs/linear.md it implements; the header
     * include/layers/linear.h says which arguments are accumulated (+=),
     * which are scratch and which may be NULL. Until it is written every
     * gradient stays as it was, and the checks fail. */
}

/* (LI4) reads dout as reals, so it goes first; then one rounding serves
 * both products (LI2), (LI3). */
void linear_backward_consuming(real *dinp, real *dweight, real *dbias, real *dout,
                               const real *inp, const real *weight, int N, int IC, int OC) {
    linear_backward(NULL, NULL, dbias, dout, inp, weight, N, IC, OC);
    gemm_consume_operand(dout, N, OC);
    linear_backward(dinp, dweight, NULL, dout, inp, weight, N, IC, OC);
    gemm_release_operand(dout);
}
