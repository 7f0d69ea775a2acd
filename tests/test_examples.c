/* test_examples.c — the example programs in examples/ run, and what
 * docs/attention.md shows of examples/attention_walkthrough's output is what
 * it prints (numbers to 1e-6 in double, 1e-4 in float), so the doc cannot go
 * stale. */
#include <libgen.h>
#include <limits.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include "test_util.h"

#define DOC_MARK "<!-- output of examples/attention_walkthrough"

/* Lines that differ between the builds by design: the title names the
 * precision, the finite-difference step and errors are the build's own. */
static bool build_specific(const char *line) {
    return strstr(line, "attention walkthrough:") || strstr(line, "rel err") || strstr(line, "finite differences") ||
           strstr(line, "tolerance");
}

/* Compares one line: the same words, and numbers within tol. */
static void compare_line(const char *got, const char *want, double tol, int line_no) {
    const char *g = got, *w = want;
    while (*g || *w) {
        while (*g == ' ') g++;
        while (*w == ' ') w++;
        char *ge, *we;
        double a = strtod(g, &ge), b = strtod(w, &we);
        if (ge != g && we != w) {
            ck_assert_msg(fabs(a - b) <= tol, "line %d: %g printed, %g in docs/attention.md\n  %s\n  %s", line_no, a, b,
                          got, want);
            g = ge; w = we;
        } else {
            ck_assert_msg(*g == *w, "line %d differs from docs/attention.md:\n  %s\n  %s", line_no, got, want);
            if (*g) { g++; w++; }
        }
    }
}

START_TEST(attention_walkthrough_matches_its_doc) {
    char exe[PATH_MAX + 64], self[PATH_MAX];
    snprintf(self, sizeof self, "%s", bert_program_path());
    snprintf(exe, sizeof exe, "%s/examples/attention_walkthrough", dirname(self));
    char command[PATH_MAX + 128];
    snprintf(command, sizeof command, "%s 2>&1", exe);
    FILE *p = popen(command, "r");
    ck_assert_ptr_nonnull(p);
    static char out[1 << 16];
    size_t len = fread(out, 1, sizeof out - 1, p);
    out[len] = 0;
    int status = pclose(p);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "%s exited %d:\n%s", exe, status, out);
    ck_assert_msg(strstr(out, "all gradients agree"), "%s", out);

    char *doc = read_text("docs/attention.md");
    char *block = strstr(doc, DOC_MARK);
    ck_assert_msg(block != NULL, "docs/attention.md has no \"%s\" block", DOC_MARK);
    block = strstr(block, "```");
    ck_assert_ptr_nonnull(block);
    block = strchr(block, '\n') + 1;
    char *end = strstr(block, "```");
    ck_assert_ptr_nonnull(end);
    *end = 0;
    double tol = sizeof(real) == sizeof(double) ? 1.01e-6 : 1e-4;
    char *save_g, *save_w;
    char *g = strtok_r(out, "\n", &save_g), *w = strtok_r(block, "\n", &save_w);
    int n = 0, compared = 0;
    while (g && w) {
        n++;
        if (!build_specific(w)) { compare_line(g, w, tol, n); compared++; }
        g = strtok_r(NULL, "\n", &save_g);
        w = strtok_r(NULL, "\n", &save_w);
    }
    ck_assert_msg(!g && !w, "the program printed %s lines than docs/attention.md shows", g ? "more" : "fewer");
    ck_assert_int_gt(compared, 60);
    free(doc);
}
END_TEST

Suite *examples_suite(void) {
    Suite *s = suite_create("examples");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, attention_walkthrough_matches_its_doc);
    suite_add_tcase(s, tc);
    return s;
}
