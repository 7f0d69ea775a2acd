/* test_adamw.c — AdamW: single and double steps on 3 parameters against
 * numbers derived by hand (and reproduced by tests/reference/adamw_reference.py:
 * plain Python for Google's rule, torch.optim.AdamW for the bias-corrected
 * one), closed forms for constant gradients over many steps, exact clipping,
 * bitwise determinism across thread counts, exact resume from saved m, v and
 * step, and the checks on segments and non-finite gradients. */
#include <stdlib.h>
#include <string.h>
#include <omp.h>
#include "test_util.h"
#include "train/adamw.h"
#include "core/gemm.h"
#include "core/rng.h"

/* Tolerances. Parameters (values of order 1, a handful of operations):
 * absolute REAL_TOL (1e-12 double, 1e-5 float). Moments (as small as 4e-5):
 * relative MOMENT_RTOL; in float it is 3e-5 because β2 = 0.999 rounds to
 * 0.99900001287f, so the coefficient 1 − β2 is 0.00099998713, 1.3e-5 below
 * 0.001 (docs/optimizer.md, "Precision"). Many-step closed forms: CLOSED_TOL
 * (rounding accumulates over the 200 steps). */
#ifdef BERT_DOUBLE
#define MOMENT_RTOL 1e-12
#define CLOSED_TOL 1e-10
#else
#define MOMENT_RTOL 3e-5
#define CLOSED_TOL 1e-4
#endif

#define assert_rel_near(got, want, rtol) ck_assert_near(got, want, (rtol) * fabs((double)(want)))

/* The 3-parameter model of the hand-computed tests: p = [1, −2, 0.5];
 * segment "weight" = p[0..1] takes weight decay, "bias" = p[2] does not. */
static const ParamSegment three_segments[2] = {
    { "weight", 0, 2, true },
    { "bias", 2, 1, false },
};

static AdamWConfig test_config(bool bias_correction) {
    AdamWConfig cfg = adamw_config_bert();  /* β1 0.9, β2 0.999, ε 1e-6, wd 0.01, clip 1.0 */
    cfg.lr = (real)0.1;
    cfg.bias_correction = bias_correction;
    return cfg;
}

typedef struct { double p[3], m[3], v[3]; } Expected;

static void assert_state(const real *p, const AdamWState *st, const Expected *want) {
    for (int i = 0; i < 3; i++) {
        ck_assert_near(p[i], want->p[i], REAL_TOL);
        assert_rel_near(st->m[i], want->m[i], MOMENT_RTOL);
        assert_rel_near(st->v[i], want->v[i], MOMENT_RTOL);
    }
}

/* Runs one step from p = [1, −2, 0.5] with gradients g and checks the result. */
static void check_one_step(bool bias_correction, const real g[3], double want_norm, const Expected *want) {
    real p[3] = { 1, -2, (real)0.5 };
    AdamWState st;
    ck_assert_int_eq(adamw_state_init(&st, 3), 0);
    AdamWConfig cfg = test_config(bias_correction);
    real g_copy[3] = { g[0], g[1], g[2] };
    double norm = adamw_step(&st, p, g, three_segments, 2, &cfg);
    ck_assert_near(norm, want_norm, REAL_TOL);
    ck_assert_int_eq(st.step, 1);
    ck_assert(memcmp(g, g_copy, sizeof g_copy) == 0);   /* the caller's gradients are not clipped in place */
    assert_state(p, &st, want);
    adamw_state_free(&st);
}

/* Step 1, gradients g = [0.2, −0.4, 0.4]: global norm √0.36 = 0.6 <= 1, no clipping.
 *   (OP3) m = 0.1·g = [0.02, −0.04, 0.04];  (OP4) v = 0.001·g² = [4e-5, 1.6e-4, 1.6e-4].
 * Google (OP5): u = m/(√v + ε) = 0.1·g / (√0.001·|g| + 1e-6); for |g| = 0.2,
 *   u = 0.02 / (0.00632455532 + 1e-6) = 3.16177773; for |g| = 0.4, u = ±3.16202768.
 *   p[0] = 1 − 0.1·(3.16177773 + 0.01·1)   = 0.682822226  (decay)
 *   p[1] = −2 − 0.1·(−3.16202768 + 0.01·(−2)) = −1.681797232  (decay)
 *   p[2] = 0.5 − 0.1·3.16202768             = 0.183797232  (no decay)
 * torch (OP6)–(OP9), t = 1: m̂ = m/0.1 = g, v̂ = v/0.001 = g², so
 *   p[0] = 1·(1 − 0.1·0.01) − 0.1·0.2/(0.2 + 1e-6)   = 0.999 − 0.0999995000025 = 0.8990004999975
 *   p[1] = −2·0.999 + 0.1·0.4/(0.4 + 1e-6)           = −1.998 + 0.09999975 = −1.8980002499994
 *   p[2] = 0.5 − 0.1·0.4/(0.4 + 1e-6)  (no decay)    = 0.400000249999375 */
START_TEST(one_step_google_unclipped) {
    real g[3] = { (real)0.2, (real)-0.4, (real)0.4 };
    Expected want = { { 0.68282222607871801, -1.681797232006895, 0.18379723200689496 },
                      { 0.02, -0.04, 0.04 }, { 4e-5, 1.6e-4, 1.6e-4 } };
    check_one_step(false, g, 0.6, &want);
}
END_TEST

START_TEST(one_step_torch_unclipped) {
    real g[3] = { (real)0.2, (real)-0.4, (real)0.4 };
    Expected want = { { 0.89900049999750009, -1.8980002499993751, 0.400000249999375 },
                      { 0.02, -0.04, 0.04 }, { 4e-5, 1.6e-4, 1.6e-4 } };
    check_one_step(true, g, 0.6, &want);
}
END_TEST

/* Step 1, gradients g = [1, −2, 2]: norm 3 > 1, so (OP2) scales them by 1/3 to
 * [1/3, −2/3, 2/3] (norm exactly 1). m = [1/30, −1/15, 1/15], v = 0.001·g²/9.
 * Google: u = (g/30)/(√0.001·|g|/3 + 1e-6); for |g|/3 = 1/3: 0.0333333/(0.0105409255 + 1e-6)
 *   = 3.16197769, for 2/3: 3.16212769.
 *   p = [1 − 0.1·(3.16197769 + 0.01), −2 − 0.1·(−3.16212769 − 0.02), 0.5 − 0.316212769]
 *     = [0.682802231, −1.681787233, 0.183787233]
 * torch: p = [0.999 − 0.1·(1/3)/(1/3 + 1e-6), −1.998 + 0.1·(2/3)/(2/3 + 1e-6), 0.5 − 0.1·(2/3)/(2/3 + 1e-6)]
 *          = [0.8990002999991, −1.8980001499998, 0.4000001499998] */
START_TEST(one_step_google_clipped) {
    real g[3] = { 1, -2, 2 };
    Expected want = { { 0.68280223113738225, -1.6817872332716834, 0.1837872332716835 },
                      { 1.0 / 30, -1.0 / 15, 1.0 / 15 }, { 1e-3 / 9, 4e-3 / 9, 4e-3 / 9 } };
    check_one_step(false, g, 3.0, &want);
}
END_TEST

START_TEST(one_step_torch_clipped) {
    real g[3] = { 1, -2, 2 };
    Expected want = { { 0.89900029999910003, -1.898000149999775, 0.40000014999977501 },
                      { 1.0 / 30, -1.0 / 15, 1.0 / 15 }, { 1e-3 / 9, 4e-3 / 9, 4e-3 / 9 } };
    check_one_step(true, g, 3.0, &want);
}
END_TEST

/* Step 1 as in one_step_*_unclipped (lr 0.1), then step 2 with lr 0.05 and
 * g2 = [−0.1, 0.3, 0.2] (norm √0.14 < 1):
 *   m = 0.9·[0.02, −0.04, 0.04] + 0.1·g2 = [0.008, −0.006, 0.056]
 *   v = 0.999·[4e-5, 1.6e-4, 1.6e-4] + 0.001·g2² = [4.996e-5, 2.4984e-4, 1.9984e-4]
 * Google: p[0] = 0.682822226 − 0.05·(0.008/(√4.996e-5 + 1e-6) + 0.01·0.682822226) = 0.625897637
 * torch, t = 2: m̂ = m/0.19, v̂ = v/0.001999, p[0] = 0.8990005·(1 − 0.0005) − 0.05·m̂/(√v̂ + 1e-6) = 0.885234232
 * (all three values of each from tests/reference/adamw_reference.py). */
static void check_two_steps(bool bias_correction, const Expected *want) {
    real p[3] = { 1, -2, (real)0.5 };
    real g1[3] = { (real)0.2, (real)-0.4, (real)0.4 }, g2[3] = { (real)-0.1, (real)0.3, (real)0.2 };
    AdamWState st;
    ck_assert_int_eq(adamw_state_init(&st, 3), 0);
    AdamWConfig cfg = test_config(bias_correction);
    adamw_step(&st, p, g1, three_segments, 2, &cfg);
    cfg.lr = (real)0.05;
    double norm = adamw_step(&st, p, g2, three_segments, 2, &cfg);
    ck_assert_near(norm, sqrt(0.14), REAL_TOL);
    ck_assert_int_eq(st.step, 2);
    assert_state(p, &st, want);
    adamw_state_free(&st);
}

START_TEST(two_steps_google) {
    Expected want = { { 0.6258976367408039, -1.6619777936333926, -0.014257900016208747 },
                      { 0.008, -0.006, 0.056 }, { 4.996e-5, 2.4984e-4, 1.9984e-4 } };
    check_two_steps(false, &want);
}
END_TEST

START_TEST(two_steps_torch) {
    Expected want = { { 0.88523423199975826, -1.8925850121374226, 0.35339141547100561 },
                      { 0.008, -0.006, 0.056 }, { 4.996e-5, 2.4984e-4, 1.9984e-4 } };
    check_two_steps(true, &want);
}
END_TEST

/* Constant gradient g for T steps at constant lr, clipping off. Then
 * m_t = (1 − β1ᵗ)·g and v_t = (1 − β2ᵗ)·g² exactly (sum of a geometric series), so
 *   Google: u_t = (1 − β1ᵗ)·g / (√(1 − β2ᵗ)·|g| + ε), p_t = a·p_{t−1} − lr·u_t, a = 1 − lr·wd
 *           (a = 1 without decay), i.e. p_T = aᵀ p_0 − lr Σ_t a^{T−t} u_t;
 *   torch:  m̂ = g, v̂ = g², s = g/(|g| + ε) every step, p_t = a·p_{t−1} − lr·s, so
 *           p_T = aᵀ p_0 − lr·s·(1 − aᵀ)/(1 − a) = aᵀ p_0 − s·(1 − aᵀ)/wd  (decay),
 *           p_T = p_0 − T·lr·s                                          (no decay). */
START_TEST(constant_gradient_closed_form) {
    const int T = 200;
    const double lr = 0.01, wd = 0.01, b1 = 0.9, b2 = 0.999, eps = 1e-6;
    const double p0[3] = { 1, -2, 0.5 }, g[3] = { 0.5, -0.25, 2.0 };
    for (int variant = 0; variant < 2; variant++) {
        bool bias_correction = variant == 1;
        real p[3], gr[3];
        for (int i = 0; i < 3; i++) { p[i] = (real)p0[i]; gr[i] = (real)g[i]; }
        AdamWState st;
        ck_assert_int_eq(adamw_state_init(&st, 3), 0);
        AdamWConfig cfg = test_config(bias_correction);
        cfg.lr = (real)lr;
        cfg.max_grad_norm = 0;
        for (int t = 0; t < T; t++) adamw_step(&st, p, gr, three_segments, 2, &cfg);
        for (int i = 0; i < 3; i++) {
            double a = three_segments[i < 2 ? 0 : 1].decay ? 1 - lr * wd : 1, want;
            if (bias_correction) {
                double s = g[i] / (fabs(g[i]) + eps);
                want = a == 1 ? p0[i] - T * lr * s
                              : pow(a, T) * p0[i] - s * (1 - pow(a, T)) / wd;
            } else {
                want = pow(a, T) * p0[i];
                for (int t = 1; t <= T; t++) {
                    double u = (1 - pow(b1, t)) * g[i] / (sqrt(1 - pow(b2, t)) * fabs(g[i]) + eps);
                    want -= lr * pow(a, T - t) * u;
                }
            }
            ck_assert_near(p[i], want, CLOSED_TOL);
            assert_rel_near(st.m[i], (1 - pow(b1, T)) * g[i], 10 * MOMENT_RTOL);
            assert_rel_near(st.v[i], (1 - pow(b2, T)) * g[i] * g[i], 10 * MOMENT_RTOL);
        }
        adamw_state_free(&st);
    }
}
END_TEST

static real *random_buffer(long n, Rng *rng, double scale) {
    real *x = malloc(sizeof(real) * (size_t)n);
    ck_assert_ptr_nonnull(x);
    for (long i = 0; i < n; i++) x[i] = (real)(scale * rng_normal(rng));
    return x;
}

START_TEST(global_norm_by_hand) {
    real g[2] = { 3, -4 };
    ck_assert(grad_global_norm(g, 2) == 5);
    /* 1001 elements of 0.5: √(1001·0.25); not a multiple of the chunk count. */
    real *h = malloc(sizeof(real) * 1001);
    for (int i = 0; i < 1001; i++) h[i] = (real)0.5;
    ck_assert_near(grad_global_norm(h, 1001), sqrt(1001 * 0.25), 1e-12);
    ck_assert(grad_global_norm(h, 0) == 0);
    free(h);
}
END_TEST

/* (OP2): clipping scales the gradients to global norm exactly max_norm = 1. The
 * first Google step stores m = (1 − β1)·g_clipped, so ‖m‖/(1 − β1) must be 1. */
START_TEST(clipping_scales_to_max_norm) {
    const long n = 1000;
    Rng rng = rng_seeded(7);
    real *g = random_buffer(n, &rng, 1.0);   /* norm ≈ √1000 ≈ 31.6 */
    real *p = random_buffer(n, &rng, 1.0);
    double norm = grad_global_norm(g, n);
    ck_assert(norm > 10);
    ck_assert_near(grad_clip_scale(norm, 1.0) * norm, 1.0, 1e-15);
    ck_assert(grad_clip_scale(0.6, 1.0) == 1);   /* inactive below max_norm */
    ck_assert(grad_clip_scale(1.0, 1.0) == 1);   /* and at it */
    ck_assert(grad_clip_scale(50, 0) == 1);      /* disabled */
    ck_assert(grad_clip_scale(50, -1) == 1);

    ParamSegment all = { "all", 0, n, true };
    AdamWConfig cfg = test_config(false);
    AdamWState st;
    ck_assert_int_eq(adamw_state_init(&st, n), 0);
    ck_assert(adamw_step(&st, p, g, &all, 1, &cfg) == norm);
    ck_assert_near(grad_global_norm(st.m, n) / 0.1, 1.0, REAL_TOL);

    /* Disabled (max_grad_norm = 0): m = 0.1·g unscaled. */
    adamw_state_free(&st);
    ck_assert_int_eq(adamw_state_init(&st, n), 0);
    cfg.max_grad_norm = 0;
    adamw_step(&st, p, g, &all, 1, &cfg);
    ck_assert_near(grad_global_norm(st.m, n) / 0.1, norm, REAL_TOL * norm);
    adamw_state_free(&st);
    free(g);
    free(p);
}
END_TEST

/* Runs `steps` steps on a large random problem with `threads` OpenMP threads;
 * returns params, m and v concatenated and the last norm. */
static real *run_threads(int threads, bool bias_correction, long n, int steps, double *last_norm) {
    omp_set_num_threads(threads);
    Rng rng = rng_seeded(99);
    real *p = random_buffer(n, &rng, 0.02);
    ParamSegment segs[3] = { { "a", 0, n / 2, true }, { "b", n / 2, 7, false }, { "c", n / 2 + 7, n - n / 2 - 7, true } };
    AdamWConfig cfg = test_config(bias_correction);
    cfg.lr = (real)1e-3;
    AdamWState st;
    ck_assert_int_eq(adamw_state_init(&st, n), 0);
    for (int s = 0; s < steps; s++) {
        real *g = random_buffer(n, &rng, s == 0 ? 0.1 : 0.001);   /* clipped, then not */
        *last_norm = adamw_step(&st, p, g, segs, 3, &cfg);
        free(g);
    }
    real *out = malloc(sizeof(real) * 3 * (size_t)n);
    memcpy(out, p, sizeof(real) * (size_t)n);
    memcpy(out + n, st.m, sizeof(real) * (size_t)n);
    memcpy(out + 2 * n, st.v, sizeof(real) * (size_t)n);
    adamw_state_free(&st);
    free(p);
    omp_set_num_threads(bert_threads());
    return out;
}

START_TEST(bitwise_deterministic_across_thread_counts) {
    const long n = 200003;
    for (int variant = 0; variant < 2; variant++) {
        double norm1, norm2;
        real *one = run_threads(1, variant == 1, n, 3, &norm1);
        real *two = run_threads(2, variant == 1, n, 3, &norm2);
        ck_assert(norm1 == norm2);
        ck_assert(memcmp(one, two, sizeof(real) * 3 * (size_t)n) == 0);
        free(one);
        free(two);
    }
}
END_TEST

/* Saving m, v and step and loading them into a fresh state resumes exactly:
 * 2 + 2 steps equal 4 uninterrupted steps bit for bit. */
START_TEST(resume_from_saved_state_is_exact) {
    const long n = 1000;
    ParamSegment segs[2] = { { "w", 0, 900, true }, { "b", 900, 100, false } };
    Rng rng = rng_seeded(5);
    real *p_straight = random_buffer(n, &rng, 1.0);
    real *grads[4];
    for (int s = 0; s < 4; s++) grads[s] = random_buffer(n, &rng, s == 0 ? 1.0 : 0.01);
    real *p_resumed = malloc(sizeof(real) * (size_t)n);
    memcpy(p_resumed, p_straight, sizeof(real) * (size_t)n);
    for (int variant = 0; variant < 2; variant++) {
        AdamWConfig cfg = test_config(variant == 1);
        AdamWState straight, first, second;
        ck_assert_int_eq(adamw_state_init(&straight, n), 0);
        ck_assert_int_eq(adamw_state_init(&first, n), 0);
        for (int s = 0; s < 4; s++) adamw_step(&straight, p_straight, grads[s], segs, 2, &cfg);
        for (int s = 0; s < 2; s++) adamw_step(&first, p_resumed, grads[s], segs, 2, &cfg);
        /* "save" and "load": what a checkpoint holds */
        ck_assert_int_eq(adamw_state_init(&second, n), 0);
        memcpy(second.m, first.m, sizeof(real) * (size_t)n);
        memcpy(second.v, first.v, sizeof(real) * (size_t)n);
        second.step = first.step;
        adamw_state_free(&first);
        for (int s = 2; s < 4; s++) adamw_step(&second, p_resumed, grads[s], segs, 2, &cfg);
        ck_assert(memcmp(p_straight, p_resumed, sizeof(real) * (size_t)n) == 0);
        ck_assert(memcmp(straight.m, second.m, sizeof(real) * (size_t)n) == 0);
        ck_assert(memcmp(straight.v, second.v, sizeof(real) * (size_t)n) == 0);
        ck_assert_int_eq(straight.step, second.step);
        adamw_state_free(&straight);
        adamw_state_free(&second);
    }
    for (int s = 0; s < 4; s++) free(grads[s]);
    free(p_straight);
    free(p_resumed);
}
END_TEST

START_TEST(nonfinite_gradient_skips_the_step) {
    real p[3] = { 1, -2, (real)0.5 }, g[3] = { (real)0.2, NAN, (real)0.4 };
    AdamWState st;
    ck_assert_int_eq(adamw_state_init(&st, 3), 0);
    AdamWConfig cfg = test_config(false);
    ck_assert(isnan(adamw_step(&st, p, g, three_segments, 2, &cfg)));
    g[1] = INFINITY;
    ck_assert(isinf(adamw_step(&st, p, g, three_segments, 2, &cfg)));
    ck_assert_int_eq(st.step, 0);
    ck_assert(p[0] == 1 && p[1] == -2 && p[2] == (real)0.5);
    for (int i = 0; i < 3; i++) ck_assert(st.m[i] == 0 && st.v[i] == 0);
    adamw_state_free(&st);
}
END_TEST

START_TEST(parameters_outside_segments_are_untouched) {
    real p[3] = { 1, -2, (real)0.5 }, g[3] = { (real)0.2, (real)-0.4, (real)0.4 };
    ParamSegment only_weight = { "weight", 0, 2, true };
    AdamWState st;
    ck_assert_int_eq(adamw_state_init(&st, 3), 0);
    AdamWConfig cfg = test_config(false);
    adamw_step(&st, p, g, &only_weight, 1, &cfg);
    ck_assert_near(p[0], 0.68282222607871801, REAL_TOL);   /* as in one_step_google_unclipped */
    ck_assert(p[2] == (real)0.5 && st.m[2] == 0 && st.v[2] == 0);
    adamw_state_free(&st);
}
END_TEST

START_TEST(segment_checks) {
    char err[256];
    ck_assert_int_eq(adamw_check_segments(three_segments, 2, 3, err, sizeof err), 0);
    ParamSegment overlap[2] = { { "encoder.w", 0, 10, true }, { "encoder.b", 9, 2, false } };
    ck_assert_int_eq(adamw_check_segments(overlap, 2, 20, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "encoder.w") && strstr(err, "encoder.b") && strstr(err, "overlap"), "%s", err);
    ParamSegment outside = { "pooler.w", 15, 10, true };
    ck_assert_int_eq(adamw_check_segments(&outside, 1, 20, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "pooler.w") && strstr(err, "outside"), "%s", err);
    ParamSegment negative = { "x", -1, 2, true };
    ck_assert_int_eq(adamw_check_segments(&negative, 1, 20, err, sizeof err), -1);
    ParamSegment unnamed = { NULL, 0, 2, true };
    ck_assert_int_eq(adamw_check_segments(&unnamed, 1, 20, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "no name"), "%s", err);
}
END_TEST

START_TEST(state_init_and_free) {
    AdamWState st;
    ck_assert_int_eq(adamw_state_init(&st, 5), 0);
    ck_assert_int_eq(st.n, 5);
    ck_assert_int_eq(st.step, 0);
    for (int i = 0; i < 5; i++) ck_assert(st.m[i] == 0 && st.v[i] == 0);
    adamw_state_free(&st);
    ck_assert_ptr_null(st.m);
    ck_assert_int_eq(adamw_state_init(&st, -1), -1);
    ck_assert_ptr_null(st.m);
}
END_TEST

Suite *adamw_suite(void) {
    Suite *s = suite_create("adamw");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, one_step_google_unclipped);
    tcase_add_test(tc, one_step_torch_unclipped);
    tcase_add_test(tc, one_step_google_clipped);
    tcase_add_test(tc, one_step_torch_clipped);
    tcase_add_test(tc, two_steps_google);
    tcase_add_test(tc, two_steps_torch);
    tcase_add_test(tc, constant_gradient_closed_form);
    tcase_add_test(tc, global_norm_by_hand);
    tcase_add_test(tc, clipping_scales_to_max_norm);
    tcase_add_test(tc, bitwise_deterministic_across_thread_counts);
    tcase_add_test(tc, resume_from_saved_state_is_exact);
    tcase_add_test(tc, nonfinite_gradient_skips_the_step);
    tcase_add_test(tc, parameters_outside_segments_are_untouched);
    tcase_add_test(tc, segment_checks);
    tcase_add_test(tc, state_init_and_free);
    suite_add_tcase(s, tc);
    return s;
}
