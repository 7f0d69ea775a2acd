/* cmd_bench.c — `bert bench`: the speed of a BERT pretraining step (or a
 * forward pass) on synthetic batches, in tokens/s, GFLOP/s, % of a measured
 * sgemm peak and peak RSS, with a per-layer-kind time breakdown.
 *
 * The FLOP count is analytic (docs/performance.md): matrix products only,
 * 2·M·N·K each, backward = 2 × forward, so a training step is 3 × forward. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <omp.h>
#include "commands.h"
#include "options.h"
#include "io/bert_config.h"
#include "model/model.h"
#include "train/adamw.h"
#include "core/gemm.h"
#include "core/gemm_bf16.h"
#include "core/profile.h"
#include "core/rng.h"
#include "layers/cross_entropy.h"

static int compare_doubles(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Forward FLOPs of the pretraining model on B sequences of T tokens with M
 * scored predictions (docs/performance.md, (PF1)–(PF4)). */
static double forward_flops(const BertConfig *c, int B, int T, int M) {
    double N = (double)B * T, C = c->hidden_size, I = c->intermediate_size, V = c->vocab_size;
    double L = c->num_hidden_layers;
    double per_layer = 2 * N * C * 3 * C            /* Q, K, V projections */
                     + 2 * 2 * (double)B * T * T * C /* scores and context, all heads */
                     + 2 * N * C * C                 /* attention output projection */
                     + 2 * 2 * N * C * I;            /* the two feed-forward products */
    double pooler_nsp = 2.0 * B * C * C + 2.0 * B * C * 2;
    double mlm = 2.0 * M * C * C + 2.0 * M * C * V;
    return L * per_layer + pooler_nsp + mlm;
}

/* Best of a few runs of an n³ sgemm on all threads bert_runtime_init set. */
static double sgemm_peak_gflops(int n) {
    real *a = malloc(sizeof(real) * (size_t)n * n), *b = malloc(sizeof(real) * (size_t)n * n);
    real *c = malloc(sizeof(real) * (size_t)n * n);
    if (!a || !b || !c) { free(a); free(b); free(c); return 0; }
    for (long i = 0; i < (long)n * n; i++) { a[i] = (real)((i % 7) - 3) / 8; b[i] = (real)((i % 5) - 2) / 4; c[i] = 0; }
    double best = 1e30;
    for (int r = 0; r < 4; r++) {
        double t0 = omp_get_wtime();
        gemm(false, false, n, n, n, 1, a, n, b, n, 0, c, n);
        double dt = omp_get_wtime() - t0;
        if (r > 0 && dt < best) best = dt;   /* the first run warms up BLIS */
    }
    free(a); free(b); free(c);
    return 2.0 * n * n * n / best / 1e9;
}

/* Best of a few runs of an n³ bf16 product (oneDNN) on bert_runtime_init's threads. */
static double bf16_peak_gflops(int n, char *kernel, size_t kernel_len) {
    bf16 *a = malloc(sizeof(bf16) * (size_t)n * n), *b = malloc(sizeof(bf16) * (size_t)n * n);
    float *c = malloc(sizeof(float) * (size_t)n * n);
    char err[256];
    GemmBf16Plan *plan = a && b && c ? gemm_bf16_plan_create(false, false, n, n, n, 1, n, n, 0, n, err, sizeof err) : NULL;
    double best = 1e30;
    if (plan) {
        snprintf(kernel, kernel_len, "%s", gemm_bf16_plan_kernel(plan));
        for (long i = 0; i < (long)n * n; i++) { a[i] = bf16_from_float((float)((i % 7) - 3) / 8); b[i] = bf16_from_float((float)((i % 5) - 2) / 4); }
        for (int r = 0; r < 4; r++) {
            double t0 = omp_get_wtime();
            gemm_bf16_run(plan, a, b, c);
            double dt = omp_get_wtime() - t0;
            if (r > 0 && dt < best) best = dt;
        }
    }
    gemm_bf16_plan_free(plan);
    free(a); free(b); free(c);
    return plan ? 2.0 * n * n * n / best / 1e9 : 0;
}

/* Best of 5 timed runs (after one warm-up) of M×N×K products, C = A·B:
 * sgemm through gemm() and bf16 through a GemmBf16Plan, both on all
 * bert_runtime_init's threads. `bert bench --mode peak` prints both. */
static int bench_peaks(void) {
    static const int shapes[][3] = { { 2048, 2048, 2048 }, { 4096, 1024, 256 }, { 4096, 256, 1024 } };
    bool have_bf16 = bf16_cpu_supported();
    printf("peak: matrix products C[M,N] = A[M,K]·B[K,N], best of 5, %d thread%s\n",
           bert_threads(), bert_threads() == 1 ? "" : "s");
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        int M = shapes[s][0], N = shapes[s][1], K = shapes[s][2];
        real *a = malloc(sizeof(real) * (size_t)M * K), *b = malloc(sizeof(real) * (size_t)K * N);
        real *c = malloc(sizeof(real) * (size_t)M * N);
        bf16 *ha = malloc(sizeof(bf16) * (size_t)M * K), *hb = malloc(sizeof(bf16) * (size_t)K * N);
        float *fc = malloc(sizeof(float) * (size_t)M * N);
        if (!a || !b || !c || !ha || !hb || !fc) { fprintf(stderr, "bert bench: out of memory\n"); return 1; }
        for (long i = 0; i < (long)M * K; i++) { a[i] = (real)((i % 7) - 3) / 8; ha[i] = bf16_from_float((float)a[i]); }
        for (long i = 0; i < (long)K * N; i++) { b[i] = (real)((i % 5) - 2) / 4; hb[i] = bf16_from_float((float)b[i]); }
        double flop = 2.0 * M * N * K, best_s = 1e30, best_h = 1e30;
        GemmBf16Plan *plan = NULL;
        char err[256] = "";
        if (have_bf16) plan = gemm_bf16_plan_create(false, false, M, N, K, 1, K, N, 0, N, err, sizeof err);
        for (int r = 0; r < 6; r++) {   /* alternated, so load on the machine hits both alike */
            double t0 = omp_get_wtime();
            gemm(false, false, M, N, K, 1, a, K, b, N, 0, c, N);
            double dt = omp_get_wtime() - t0;
            if (r > 0 && dt < best_s) best_s = dt;
            if (!plan) continue;
            t0 = omp_get_wtime();
            gemm_bf16_run(plan, ha, hb, fc);
            dt = omp_get_wtime() - t0;
            if (r > 0 && dt < best_h) best_h = dt;
        }
        printf("  %4d×%4d×%4d  sgemm %6.1f GFLOP/s", M, N, K, flop / best_s / 1e9);
        if (plan) printf("   bf16 %6.1f GFLOP/s  (%.2f×, oneDNN %s)\n", flop / best_h / 1e9, best_s / best_h,
                         gemm_bf16_plan_kernel(plan));
        else printf("   bf16: %s\n", have_bf16 ? err : "this CPU lacks AVX512-BF16");
        gemm_bf16_plan_free(plan);
        free(a); free(b); free(c); free(ha); free(hb); free(fc);
    }
    return 0;
}

/* A synthetic pretraining batch: random ids, full-length sequences with
 * segment A then B, round(0.15·T) positions (at most P, never [CLS]) masked
 * and labelled, random NSP labels. */
typedef struct { int *ids, *types, *mask, *positions, *labels, *nsp; } SyntheticBatch;

static void synthetic_batch(SyntheticBatch *s, BertBatch *batch, int B, int T, int P, int V, uint64_t seed) {
    Rng rng = rng_seeded(seed);
    int masked = (int)(0.15 * T + 0.5);
    if (masked > P) masked = P;
    if (masked > T - 1) masked = T - 1;
    for (int b = 0; b < B; b++) {
        for (int t = 0; t < T; t++) {
            int i = b * T + t;
            s->ids[i] = t == 0 ? 101 % V : (int)(1000 % V + rng_below(&rng, (uint64_t)(V - 1000 % V)));
            s->types[i] = t < T / 2 ? 0 : 1;
            s->mask[i] = 1;
        }
        for (int k = 0; k < P; k++) { s->positions[b * P + k] = 0; s->labels[b * P + k] = IGNORE_INDEX; }
        for (int k = 0; k < masked; k++) {
            int pos;
            bool taken;
            do {   /* distinct positions 1..T−1 */
                pos = 1 + (int)rng_below(&rng, (uint64_t)(T - 1));
                taken = false;
                for (int j = 0; j < k; j++) taken |= s->positions[b * P + j] == pos;
            } while (taken);
            s->positions[b * P + k] = pos;
            s->labels[b * P + k] = s->ids[b * T + pos];
            s->ids[b * T + pos] = 103 % V;   /* [MASK] */
        }
        s->nsp[b] = (int)rng_below(&rng, 2);
    }
    *batch = (BertBatch){ .B = B, .T = T, .input_ids = s->ids, .token_type_ids = s->types,
                          .attention_mask = s->mask, .P = P, .mlm_positions = s->positions,
                          .mlm_labels = s->labels, .nsp_labels = s->nsp };
}

int cmd_bench(int argc, char **argv) {
    const char *config_path = NULL, *mode = "train", *precision = "fp32";
    long batch_size = 32, seq = 128, predictions = 20, threads = 0, steps = 10, warmup = 2, peak_n = 2048;
    Option opts[] = {
        { "--config", OPT_STRING, &config_path, "model config.json (configs/bert-*.json); not for --mode peak", false, 0, 0 },
        { "--batch", OPT_INT, &batch_size, "sequences per step", false, 1, INT_MAX },
        { "--seq", OPT_INT, &seq, "tokens per sequence", false, 2, INT_MAX },
        { "--predictions", OPT_INT, &predictions, "masked-LM prediction slots per sequence", false, 0, INT_MAX },
        { "--threads", OPT_INT, &threads, "threads for BLIS and OpenMP (0 = all cores)", false, 0, MAX_THREADS },
        { "--steps", OPT_INT, &steps, "timed steps (the median is reported)", false, 1, INT_MAX },
        { "--warmup", OPT_INT, &warmup, "untimed steps first", false, 0, INT_MAX },
        { "--mode", OPT_STRING, &mode, "train (forward + backward + AdamW, dropout 0.1), infer (forward, no dropout) or peak (sgemm and bf16 product GFLOP/s)", false, 0, 0 },
        { "--peak-size", OPT_INT, &peak_n, "n of the n³ sgemm that measures the peak (0 skips it)", false, 0, 65536 },
        { "--precision", OPT_STRING, &precision, PRECISION_HELP, false, 0, 0 },
    };
    int n_opts = sizeof opts / sizeof opts[0];
    int status = options_parse("bench", "Times BERT pretraining steps on synthetic batches.", opts, n_opts, argc, argv);
    if (status) return status == 1 ? 0 : status;
    bool training = strcmp(mode, "train") == 0, peak_only = strcmp(mode, "peak") == 0, use_bf16 = false;
    if (parse_precision("bench", precision, &use_bf16) != 0) return 2;
    if (!training && !peak_only && strcmp(mode, "infer") != 0) {
        fprintf(stderr, "bert bench: --mode must be train, infer or peak, not '%s'\n", mode);
        return 2;
    }
    if (!peak_only && !config_path) {
        fprintf(stderr, "bert bench: missing required option --config\n");
        return 2;
    }
    if (batch_size < 1 || seq < 2 || predictions < 0 || threads < 0 || steps < 1 || warmup < 0 || peak_n < 0) {
        fprintf(stderr, "bert bench: --batch ≥ 1, --seq ≥ 2, --steps ≥ 1 and the other counts ≥ 0 are required\n");
        return 2;
    }
    bert_runtime_init((int)threads);
    if (peak_only) return bench_peaks();

    char err[512];
    BertConfig cfg;
    if (bert_config_load(&cfg, config_path, err, sizeof err) != 0) {
        fprintf(stderr, "bert bench: %s\n", err);
        return 1;
    }
    BertModel m;
    int B = (int)batch_size, T = (int)seq, P = (int)predictions;
    if (bert_create(&m, &cfg, BERT_HEADS_PRETRAINING, 0, err, sizeof err) != 0) {
        fprintf(stderr, "bert bench: %s: %s\n", config_path, err);
        bert_config_free(&cfg);
        return 1;
    }
    bert_init_weights(&m, 1);
    /* bf16 before the arena is planned, as pretrain and finetune do: a bf16
     * training arena keeps some activations as bf16 alone (model.h) */
    if ((use_bf16 && bert_use_bf16(&m, err, sizeof err) != 0) ||
        (training ? bert_reserve(&m, B, T, P, err, sizeof err)
                  : bert_reserve_inference(&m, B, T, P, err, sizeof err)) != 0) {
        fprintf(stderr, "bert bench: %s: %s\n", config_path, err);
        bert_free(&m);
        bert_config_free(&cfg);
        return 1;
    }
    AdamWState opt;
    ParamSegment *segments = calloc((size_t)m.num_tensors, sizeof *segments);
    if (adamw_state_init(&opt, m.num_params) != 0 || !segments) {
        fprintf(stderr, "bert bench: out of memory for the optimizer state\n");
        return 1;
    }
    int n_segments = bert_param_segments(&m, segments);
    AdamWConfig acfg = adamw_config_bert();
    acfg.lr = (real)1e-4;

    SyntheticBatch sb;
    size_t bt = (size_t)B * T, bp = (size_t)B * (P > 0 ? P : 1);
    sb.ids = malloc(bt * sizeof(int)); sb.types = malloc(bt * sizeof(int)); sb.mask = malloc(bt * sizeof(int));
    sb.positions = malloc(bp * sizeof(int)); sb.labels = malloc(bp * sizeof(int)); sb.nsp = malloc((size_t)B * sizeof(int));
    BertBatch batch;
    synthetic_batch(&sb, &batch, B, T, P, cfg.vocab_size, 7);
    if (bert_check_batch(&m, &batch, err, sizeof err) != 0) {
        fprintf(stderr, "bert bench: synthetic batch rejected: %s\n", err);
        return 1;
    }

    double *times = calloc((size_t)steps, sizeof(double));
    for (long s = 0; s < warmup + steps; s++) {
        bool timed = s >= warmup;
        if (timed && s == warmup) { bert_profile_reset(); bert_profiling = true; }
        double t0 = omp_get_wtime();
        if (training) {
            bert_zero_grad(&m);
            bert_forward(&m, &batch, true, (uint64_t)s + 1);
            bert_backward(&m, 1);
            PROFILE_BEGIN(t_opt);
            adamw_step(&opt, m.params_memory, m.grads_memory, segments, n_segments, &acfg);
            bert_refresh_bf16(&m);   /* bf16: the weights' copy, once per step */
            PROFILE_END(PROFILE_OPTIMIZER, t_opt);
        } else {
            bert_forward(&m, &batch, false, 0);
        }
        if (timed) times[s - warmup] = omp_get_wtime() - t0;
    }
    bert_profiling = false;
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);   /* before the peak measurement's own buffers */
    double total = 0;
    for (long s = 0; s < steps; s++) total += times[s];
    qsort(times, (size_t)steps, sizeof(double), compare_doubles);
    double median = steps % 2 ? times[steps / 2] : (times[steps / 2 - 1] + times[steps / 2]) / 2;
    double flops = forward_flops(&cfg, B, T, m.M) * (training ? 3 : 1);
    double gflops = flops / median / 1e9;
    /* The peak the step is measured against: of the products it runs. */
    gemm_use_bf16(NULL, NULL, 0, err, sizeof err);
    double peak = peak_n > 0 ? sgemm_peak_gflops((int)peak_n) : 0;
    char bf16_kernel[64] = "";
    double peak_bf16 = peak_n > 0 && use_bf16 ? bf16_peak_gflops((int)peak_n, bf16_kernel, sizeof bf16_kernel) : 0;

    printf("bench: %s, %s, batch %d × seq %d, %d masked predictions, %d thread%s, %s\n",
           config_path, training ? "train (forward + backward + AdamW, dropout 0.1)" : "infer (forward, no dropout)",
           B, T, m.M, bert_threads(), bert_threads() == 1 ? "" : "s",
           use_bf16 ? "bf16 products, float elsewhere" : sizeof(real) == 4 ? "32-bit float" : "64-bit float");
    printf("  tokens/s:     %.0f\n", (double)B * T / median);
    printf("  step time:    %.2f ms (median of %ld after %ld warm-up; min %.2f, max %.2f)\n",
           median * 1e3, steps, warmup, times[0] * 1e3, times[steps - 1] * 1e3);
    printf("  GFLOP/s:      %.1f (%.2f GFLOP per step)\n", gflops, flops / 1e9);
    if (peak > 0) printf("  sgemm peak:   %.1f GFLOP/s (%ld³, %d thread%s)%s%.0f%% of peak\n",
                         peak, peak_n, bert_threads(), bert_threads() == 1 ? "" : "s",
                         use_bf16 ? "; the step at " : ": step at ", 100 * gflops / peak);
    if (peak_bf16 > 0) printf("  bf16 peak:    %.1f GFLOP/s (%ld³, oneDNN %s): step at %.0f%% of peak\n", peak_bf16,
                              peak_n, bf16_kernel, 100 * gflops / peak_bf16);
    printf("  peak RSS:     %.1f MB\n", ru.ru_maxrss / 1024.0);
    printf("  breakdown (mean per step):\n");
    double accounted = 0, mean = total / steps;
    for (int k = 0; k < PROFILE_KINDS; k++) {
        double t = bert_profile_seconds[k] / steps;
        accounted += t;
        if (t > 0 || k == PROFILE_OPTIMIZER) printf("    %-12s %9.2f ms  %5.1f%%\n", bert_profile_names[k], t * 1e3, 100 * t / mean);
    }
    printf("    %-12s %9.2f ms  %5.1f%%\n", "other", (mean - accounted) * 1e3, 100 * (mean - accounted) / mean);

    free(times);
    free(sb.ids); free(sb.types); free(sb.mask); free(sb.positions); free(sb.labels); free(sb.nsp);
    free(segments);
    adamw_state_free(&opt);
    bert_free(&m);
    bert_config_free(&cfg);
    return 0;
}
