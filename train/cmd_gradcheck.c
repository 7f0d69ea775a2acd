/* cmd_gradcheck.c — `bert gradcheck [--layer NAME] [--double] [--seed N]`:
 * the teaching demo. Prints, for every layer and parameter tensor, the max
 * absolute and relative error of the analytic gradient against central finite
 * differences, and exits non-zero if any tensor fails.
 *
 * --double re-runs the same command in `bert-f64`, the same source compiled
 * with real = double (see real.h), which sits beside the `bert` executable. */
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
    printf("usage: bert gradcheck [--layer NAME] [--double] [--seed N]\n\n"
           "  --layer NAME  check one layer only (default: all)\n"
           "  --double      run in the double-precision build (tolerance 1e-6 instead of 5e-2)\n"
           "  --seed N      seed for the random inputs and parameters (default 1234)\n\n"
           "layers:\n");
    for (int i = 0; i < gradcheck_case_count; i++)
        printf("  %-20s %s\n", gradcheck_cases[i].name, gradcheck_cases[i].description);
}

int cmd_gradcheck(int argc, char **argv) {
    const char *layer = NULL;
    uint64_t seed = 1234;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--double") == 0) {
#ifndef BERT_DOUBLE
            return exec_double_build(argc, argv);
#endif
        } else if (strcmp(argv[i], "--layer") == 0 && i + 1 < argc) {
            layer = argv[++i];
        } else if (strcmp(argv[i], "--seed") == 0 && i + 1 < argc) {
            seed = strtoull(argv[++i], NULL, 10);
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
    printf("gradient check in %s: rel err = max|analytic − numeric| / max(|numeric|, |analytic|, %.0e), "
           "tolerance %.0e\n", REAL_NAME, gradcheck_floor(), gradcheck_tolerance());
    printf("%-44s %9s %12s %12s  %s\n", "layer: tensor", "elements", "max abs err", "rel err", "result");
    int failures = 0, checked = 0;
    for (int c = 0; c < gradcheck_case_count; c++) {
        if (layer && strcmp(layer, gradcheck_cases[c].name) != 0) continue;
        GradCheckReport report = { .n = 0 };
        gradcheck_cases[c].run(&report, seed);
        for (int i = 0; i < report.n; i++) {
            const GradCheckLine *l = &report.lines[i];
            printf("%-44s %9ld %12.3e %12.3e  %s\n", l->name, l->count, l->max_abs_err, l->rel_err,
                   l->passed ? "ok" : "FAIL");
            failures += !l->passed;
            checked++;
        }
    }
    printf("%d tensors checked, %d failed\n", checked, failures);
    return failures ? 1 : 0;
}
