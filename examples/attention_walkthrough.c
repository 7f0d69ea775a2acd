/* attention_walkthrough.c — one attention head worked through by hand, with
 * the library's own attention_forward and attention_backward.
 *
 * A toy: T = 3 tokens, hidden size C = 2, one head (hd = 2), hand-set weights,
 * no mask, no dropout. The loss is a binary cross-entropy on one output,
 *     z = out[0][0],  p = σ(z),  L = −log p   (target y = 1),
 * so dL/dz = p − y and the upstream gradient dout is zero except at (0, 0).
 * The program prints every intermediate (Q, K, V, scores, softmax, context,
 * output, loss) and every gradient back to dW_q, dW_k, dW_v, then checks the
 * gradients against central finite differences. docs/attention.md ("A worked
 * example") shows this output, and tests/test_examples.c checks that the two
 * agree. Build: `make` (build/f64/examples/attention_walkthrough, and the
 * float one in build/f32/examples/). */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "core/real.h"
#include "layers/attention.h"

enum { T = 3, C = 2, NH = 1, C3 = 3 * C };

/* X: three tokens of two features */
static real inp[T * C] = {
    1.0, 0.0,
    0.0, 1.0,
    1.0, 1.0,
};
/* w_qkv[3C, C]: rows 0..1 W_q, rows 2..3 W_k, rows 4..5 W_v ([out, in], as nn.Linear) */
static real w_qkv[C3 * C] = {
    1.0, 0.5,    /* W_q */
    -0.5, 1.0,
    0.5, -1.0,   /* W_k */
    1.0, 0.5,
    1.0, 0.0,    /* W_v */
    0.5, -1.0,
};
static real b_qkv[C3] = { 0.0, 0.1, 0.0, 0.0, 0.2, -0.1 };
static real w_out[C * C] = {
    1.0, -1.0,
    0.5, 1.0,
};
static real b_out[C] = { 0.1, 0.0 };

static real out[T * C], qkv[T * C3], probs[T * T], context[T * C];

static void print_matrix(const char *name, const real *m, int rows, int cols, int ld) {
    printf("%s [%d,%d]\n", name, rows, cols);
    for (int i = 0; i < rows; i++) {
        printf("  ");
        for (int j = 0; j < cols; j++) printf(" %10.6f", (double)m[(long)i * ld + j]);
        printf("\n");
    }
}

/* Forward pass and the loss. */
static double loss_of(double *p_out) {
    attention_forward(out, qkv, probs, NULL, NULL, context, inp, NULL, w_qkv, b_qkv, w_out, b_out,
                      0, 0, false, false, 1, T, C, NH);
    double z = out[0], p = 1 / (1 + exp(-z));
    if (p_out) *p_out = p;
    return -log(p);
}

/* Largest |analytic − numeric| over a tensor, relative to its largest entry. */
static double check(const char *name, real *x, const real *analytic, int n) {
    const double h = sizeof(real) == sizeof(double) ? 1e-5 : 1e-2;
    double max_err = 0, scale = 1e-3;
    for (int i = 0; i < n; i++) {
        real saved = x[i];
        x[i] = (real)(saved + h);
        double plus = loss_of(NULL);
        x[i] = (real)(saved - h);
        double minus = loss_of(NULL);
        x[i] = saved;
        double numeric = (plus - minus) / (2 * h);
        max_err = fmax(max_err, fabs(numeric - analytic[i]));
        scale = fmax(scale, fabs((double)analytic[i]));
    }
    loss_of(NULL);
    printf("  %-6s rel err %.1e\n", name, max_err / scale);
    return max_err / scale;
}

int main(void) {
    printf("attention walkthrough: T = %d tokens, C = %d, one head (hd = %d), in %s\n\n", T, C, C, REAL_NAME);
    print_matrix("X (input)", inp, T, C, C);
    double p;
    double L = loss_of(&p);

    printf("\n-- forward --\n");
    print_matrix("Q = X W_q^T + b_q", qkv, T, C, C3);
    print_matrix("K = X W_k^T + b_k", qkv + C, T, C, C3);
    print_matrix("V = X W_v^T + b_v", qkv + 2 * C, T, C, C3);
    /* the scores are written over by the softmax inside attention_forward, so
     * recompute them here for the printout: Q K^T / sqrt(hd) */
    real scores[T * T];
    for (int i = 0; i < T; i++)
        for (int j = 0; j < T; j++) {
            double s = 0;
            for (int d = 0; d < C; d++) s += (double)qkv[i * C3 + d] * qkv[j * C3 + C + d];
            scores[i * T + j] = (real)(s / sqrt((double)C));
        }
    print_matrix("scores = Q K^T / sqrt(hd)", scores, T, T, T);
    print_matrix("probs = softmax(scores) (rows sum to 1)", probs, T, T, T);
    print_matrix("context = probs V", context, T, C, C);
    print_matrix("out = context W_o^T + b_o", out, T, C, C);
    printf("z = out[0][0] = %.6f, p = sigmoid(z) = %.6f, target y = 1\n", (double)out[0], p);
    printf("loss L = -log p = %.6f\n", L);

    /* upstream gradient of the binary cross-entropy: dL/dz = p − y at (0, 0) */
    real dout[T * C] = { 0 };
    dout[0] = (real)(p - 1);
    real dinp[T * C] = { 0 }, d_w_qkv[C3 * C] = { 0 }, d_b_qkv[C3] = { 0 }, d_w_out[C * C] = { 0 }, d_b_out[C] = { 0 };
    real d_qkv[T * C3], d_context[T * C], d_probs[T * T];
    attention_backward(dinp, d_w_qkv, d_b_qkv, d_w_out, d_b_out, d_qkv, d_context, d_probs, dout, inp, qkv,
                       probs, NULL, context, w_qkv, w_out, 0, 1, T, C, NH);

    printf("\n-- backward --\n");
    print_matrix("dout (dL/dz = p - y at [0][0])", dout, T, C, C);
    print_matrix("dW_o = dout^T context", d_w_out, C, C, C);
    print_matrix("db_o", d_b_out, 1, C, C);
    print_matrix("d_context = dout W_o", d_context, T, C, C);
    print_matrix("dV = probs^T d_context", d_qkv + 2 * C, T, C, C3);
    print_matrix("d_scores = probs * (d_probs - rowsum(d_probs * probs))", d_probs, T, T, T);
    print_matrix("dQ = d_scores K / sqrt(hd)", d_qkv, T, C, C3);
    print_matrix("dK = d_scores^T Q / sqrt(hd)", d_qkv + C, T, C, C3);
    print_matrix("dW_q = dQ^T X", d_w_qkv, C, C, C);
    print_matrix("dW_k = dK^T X", d_w_qkv + C * C, C, C, C);
    print_matrix("dW_v = dV^T X", d_w_qkv + 2 * C * C, C, C, C);
    print_matrix("db_q, db_k, db_v", d_b_qkv, 3, C, C);
    print_matrix("dX = dQ W_q + dK W_k + dV W_v", dinp, T, C, C);

    printf("\n-- finite differences (central, h = %.0e) --\n", sizeof(real) == sizeof(double) ? 1e-5 : 1e-2);
    double worst = 0;
    worst = fmax(worst, check("W_q", w_qkv, d_w_qkv, C * C));
    worst = fmax(worst, check("W_k", w_qkv + C * C, d_w_qkv + C * C, C * C));
    worst = fmax(worst, check("W_v", w_qkv + 2 * C * C, d_w_qkv + 2 * C * C, C * C));
    worst = fmax(worst, check("W_o", w_out, d_w_out, C * C));
    worst = fmax(worst, check("X", inp, dinp, T * C));
    double tol = sizeof(real) == sizeof(double) ? 1e-6 : 2e-2;
    printf("%s (tolerance %.0e)\n", worst < tol ? "all gradients agree" : "GRADIENTS DISAGREE", tol);
    return worst < tol ? 0 : 1;
}
