/* cmd_gradcheck.c — `bert gradcheck [--layer NAME] [--double] [--verbose]
 * [--seed N]`: the teaching demo. Prints the method (the loss, the step h, the
 * error measure), then for every layer and parameter tensor the max absolute
 * and relative error of the analytic gradient against central finite
 * differences and the layer's tolerance; for a failing tensor (with --verbose
 * for every one) the worst elements: index, analytic, numeric, ratio. Exits
 * non-zero if any tensor fails. docs/gradcheck.md says how to read it.
 *
 * --double re-runs the same command in `bert-f64`, the same source compiled
 * with real = double (see real.h), which sits beside the `bert` executable. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <libgen.h>
#include <limits.h>
#include "commands.h"
#include "gradcheck/gradcheck.h"
#include "core/gemm.h"

#ifndef BERT_DOUBLE
static int exec_double_build(int argc, char **argv) {
    char self[PATH_MAX];
    ssize_t len = readlink("/proc/self/exe", self, sizeof self - 1);
    if (len < 0) { perror("bert gradcheck: /proc/self/exe"); return 1; }
    self[len] = 0;
    char path[PATH_MAX + 16];
    snprintf(path, sizeof path, "%s/bert-f64", dirname(self));
    char **args = calloc((size_t)argc + 2, sizeof *args);
    args[0] = path;
    args[1] = "gradcheck";
    int n = 2;
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--double") != 0) args[n++] = argv[i];
    execv(path, args);
    fprintf(stderr, "bert gradcheck: cannot run the double-precision build %s (build it with `make`)\n", path);
    return 1;
}
#endif

static void print_help(void) {
    printf("usage: bert gradcheck [--layer NAME] [--double] [--verbose] [--seed N]\n\n"
           "  --layer NAME  check one layer only (default: all)\n"
           "  --double      run in the double-precision build (tolerance 1e-6 for every layer)\n"
           "  --verbose     print the worst elements of every tensor, not only of a failing one\n"
           "  --seed N      seed for the random inputs and parameters (default 1234)\n\n"
           "How to read the output: docs/gradcheck.md.\n\n"
           "layers:\n");
    for (int i = 0; i < gradcheck_case_count; i++)
        printf("  %-24s %s\n", gradcheck_cases[i].name, gradcheck_cases[i].description);
}

/* What is compared, printed before the table so the numbers can be read. */
static void print_method(void) {
    printf("gradient check in %s (docs/gradcheck.md)\n", REAL_NAME);
    printf("  loss     L = sum(out * R), R a fixed random tensor, so the layer's dout = R\n"
           "           (the model cases use the model's own loss)\n");
    printf("  numeric  (L(x_i + h) - L(x_i - h)) / 2h per element x_i, step h = %.0e\n", (double)gradcheck_step());
    printf("  rel err  max_i |analytic_i - numeric_i| / max(max_i |numeric_i|, max_i |analytic_i|, %.0e)\n",
           gradcheck_floor());
    printf("  passes   when rel err < tol, the layer's tolerance (%s)\n\n",
#ifdef BERT_DOUBLE
           "1e-6 for every layer in double"
#else
           "in float a few times the layer's measured round-off"
#endif
           );
}

static void print_worst(const GradCheckLine *l) {
    for (int k = 0; k < l->n_worst; k++) {
        const GradCheckElement *e = &l->worst[k];
        printf("      [%ld]  analytic %13.6e  numeric %13.6e  ", e->index, e->analytic, e->numeric);
        if (e->numeric != 0) printf("ratio %.6f", e->analytic / e->numeric);
        else printf("ratio -");
        printf("  |diff| %.3e\n", fabs(e->analytic - e->numeric));
    }
}

int cmd_gradcheck(int argc, char **argv) {
    const char *layer = NULL;
    uint64_t seed = 1234;
    bool verbose = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--double") == 0) {
#ifndef BERT_DOUBLE
            return exec_double_build(argc, argv);
#endif
        } else if (strcmp(argv[i], "--layer") == 0 && i + 1 < argc) {
            layer = argv[++i];
        } else if (strcmp(argv[i], "--seed") == 0 && i + 1 < argc) {
            seed = strtoull(argv[++i], NULL, 10);
        } else if (strcmp(argv[i], "--verbose") == 0 || strcmp(argv[i], "-v") == 0) {
            verbose = true;
        } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            print_help();
            return 0;
        } else {
            fprintf(stderr, "bert gradcheck: unknown or incomplete option '%s' (see bert gradcheck --help)\n", argv[i]);
            return 2;
        }
    }
    if (layer && !gradcheck_find(layer)) {
        fprintf(stderr, "bert gradcheck: no layer named '%s' (see bert gradcheck --help)\n", layer);
        return 2;
    }
    bert_runtime_init(1);
    print_method();
    printf("%-52s %11s %11s %11s %9s  %s\n", "layer: tensor", "elements", "max abs err", "rel err", "tol", "result");
    int failures = 0, checked = 0;
    for (int c = 0; c < gradcheck_case_count; c++) {
        if (layer && strcmp(layer, gradcheck_cases[c].name) != 0) continue;
        GradCheckReport report = { .n = 0 };
        gradcheck_cases[c].run(&report, seed);
        for (int i = 0; i < report.n; i++) {
            const GradCheckLine *l = &report.lines[i];
            char elements[32];
            if (l->count == l->total) snprintf(elements, sizeof elements, "%ld", l->count);
            else snprintf(elements, sizeof elements, "%ld/%ld", l->count, l->total);
            printf("%-52s %11s %11.3e %11.3e %9.0e  %s\n", l->name, elements, l->max_abs_err, l->rel_err,
                   l->tolerance, l->passed ? "ok" : "FAIL");
            if (verbose || !l->passed) print_worst(l);
            failures += !l->passed;
            checked++;
        }
    }
    printf("%d tensors checked, %d failed\n", checked, failures);
    if (failures)
        printf("a FAIL lists the elements with the largest |analytic - numeric|: a ratio far from 1 on every\n"
               "element is a wrong factor, a ratio near 1 with a few large differences a wrong term\n"
               "(docs/gradcheck.md, \"Reading a failure\")\n");
    return failures ? 1 : 0;
}
