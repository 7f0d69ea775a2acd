/* test_gradcheck.c — the gradient-check harness itself: a wrong derivative
 * fails in both builds (the tanh approximation's GELU derivative used with the
 * exact erf GELU, an error of under 1e-3 relative), a failing line names its
 * worst elements, the stacked QKV projection is reported as W_q, W_k, W_v,
 * and `bert gradcheck` prints its method. docs/gradcheck.md. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <limits.h>
#include "test_util.h"
#include "gradcheck/gradcheck.h"
#include "gradcheck/gradcheck_cases.h"
#include "layers/gelu.h"

/* The derivative of the tanh approximation
 *   gelu_tanh(x) = ½x(1 + tanh(u)), u = √(2/π)(x + 0.044715x³),
 * which is close to, but not, the derivative of the exact erf GELU that
 * gelu_forward computes (docs/gelu.md): the labs' "tanh-GELU derivative" bug. */
static void gelu_backward_tanh_approximation(real *dinp, const real *dout, const real *inp, long N) {
    const double k = 0.79788456080286535588;  /* √(2/π) */
    for (long i = 0; i < N; i++) {
        double x = inp[i], u = k * (x + 0.044715 * x * x * x), t = tanh(u);
        double d = 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * k * (1 + 3 * 0.044715 * x * x);
        dinp[i] += (real)(dout[i] * d);
    }
}

START_TEST(gradcheck_passes_the_library_gelu_backward) {
    GradCheckReport r = { .n = 0 };
    gradcheck_gelu(&r, 1234);
    ck_assert_int_eq(r.n, 1);
    ck_assert_msg(r.lines[0].passed, "rel err %.3g, tolerance %.3g", r.lines[0].rel_err, r.lines[0].tolerance);
}
END_TEST

START_TEST(gradcheck_fails_the_tanh_gelu_derivative) {
    /* In float too: the gelu tolerance is set from gelu's measured float
     * round-off, not from the worst layer's. Several seeds, so the failure is
     * no accident of one. */
    for (uint64_t seed = 1; seed <= 5; seed++) {
        GradCheckReport r = { .n = 0 };
        gradcheck_gelu_using(&r, seed, gelu_backward_tanh_approximation);
        const GradCheckLine *l = &r.lines[0];
        ck_assert_msg(!l->passed, "seed %d: the tanh-GELU derivative passed in %s: rel err %.3g < tolerance %.3g",
                      (int)seed, REAL_NAME, l->rel_err, l->tolerance);
        /* the report says where: the worst element's two values and their ratio */
        ck_assert_int_eq(l->n_worst, GRADCHECK_WORST);
        const GradCheckElement *w = &l->worst[0];
        ck_assert(w->index >= 0 && w->index < l->count);
        ck_assert_near(fabs(w->analytic - w->numeric), l->max_abs_err, 1e-12);
        ck_assert(fabs(w->analytic - w->numeric) >= fabs(l->worst[1].analytic - l->worst[1].numeric));
    }
}
END_TEST

START_TEST(gradcheck_float_tolerances_are_per_layer) {
#ifdef BERT_DOUBLE
    ck_assert(gradcheck_layer_tolerance("gelu") == 1e-6);
    ck_assert(gradcheck_layer_tolerance("model (MLM+NSP)") == 1e-6);
#else
    /* the element-wise layers' noise is far below the whole model's */
    ck_assert(gradcheck_layer_tolerance("gelu") < 1e-3);
    ck_assert(gradcheck_layer_tolerance("gelu") < gradcheck_layer_tolerance("model (MLM+NSP)"));
    ck_assert(gradcheck_layer_tolerance("no such layer") == gradcheck_tolerance());
#endif
}
END_TEST

START_TEST(gradcheck_reports_qkv_as_three_rows) {
    GradCheckReport r = { .n = 0 };
    gradcheck_find("attention")->run(&r, 1234);
    const char *want[] = { "attention: input", "attention: W_q", "attention: W_k", "attention: W_v",
                           "attention: b_q", "attention: b_k", "attention: b_v", "attention: w_out",
                           "attention: b_out" };
    ck_assert_int_eq(r.n, 9);
    for (int i = 0; i < 9; i++) ck_assert_str_eq(r.lines[i].name, want[i]);
    ck_assert_int_eq(r.lines[1].count, 64);   /* C·C of C = 8 */
}
END_TEST

START_TEST(gradcheck_parallel_case_runs_above_the_thresholds) {
    assert_gradcheck_passes("encoder_layer_parallel");
}
END_TEST

START_TEST(gradcheck_command_prints_its_method_and_worst_elements) {
    char command[PATH_MAX + 64], out[1 << 15];
    snprintf(command, sizeof command, "%s gradcheck --layer gelu --verbose 2>&1", bert_program_path());
    FILE *p = popen(command, "r");
    ck_assert_ptr_nonnull(p);
    size_t len = fread(out, 1, sizeof out - 1, p);
    out[len] = 0;
    ck_assert_int_eq(WEXITSTATUS(pclose(p)), 0);
    ck_assert_msg(strstr(out, "step h = ") && strstr(out, "L = sum(out * R)") && strstr(out, "rel err  max_i"),
                  "%s", out);
    ck_assert_msg(strstr(out, "gelu: input") && strstr(out, "analytic") && strstr(out, "numeric") &&
                  strstr(out, "ratio"), "%s", out);
}
END_TEST

Suite *gradcheck_suite(void) {
    Suite *s = suite_create("gradcheck");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, gradcheck_passes_the_library_gelu_backward);
    tcase_add_test(tc, gradcheck_fails_the_tanh_gelu_derivative);
    tcase_add_test(tc, gradcheck_float_tolerances_are_per_layer);
    tcase_add_test(tc, gradcheck_reports_qkv_as_three_rows);
    tcase_add_test(tc, gradcheck_parallel_case_runs_above_the_thresholds);
    tcase_add_test(tc, gradcheck_command_prints_its_method_and_worst_elements);
    suite_add_tcase(s, tc);
    return s;
}
