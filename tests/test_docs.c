/* test_docs.c — the documentation is checked against the code it describes.
 *
 * Equations: every docs page gives its equations labels with a prefix of its
 * own, (AT3) on docs/attention.md, (LN4) on docs/layernorm.md, so a label
 * names one equation wherever it is written. docs_equation_citations_exist
 * fails, naming file:line, for every label in src/ include/ train/ tests/,
 * docs/ and README.md that no page defines, for every "PAGE.md (LABEL)" whose
 * page does not define LABEL, and for an old one-letter label, (A3), left in
 * a C file or a docs page.
 *
 * Flags: docs_flags_exist_in_help runs the bert program built beside this
 * test (as tests/test_cli.c does) with `CMD --help` and fails for every
 * `bert CMD … --flag` in docs/ or README.md that CMD does not take, and for
 * any other --flag there that no bert command takes (a few flags of other
 * programs are listed below). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ctype.h>
#include <dirent.h>
#include <libgen.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>
#include "test_util.h"

/* ---- collecting failures -------------------------------------------------- */

static char failures[8192];
static int n_failures;

static void fail_at(const char *file, int line, const char *fmt, const char *a, const char *b) {
    char msg[512], item[640];
    snprintf(msg, sizeof msg, fmt, a, b);
    snprintf(item, sizeof item, "%s:%d: %s\n", file, line, msg);
    fputs(item, stderr);
    if (strlen(failures) + strlen(item) < sizeof failures) strcat(failures, item);
    n_failures++;
}

static char *read_all(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    rewind(f);
    char *s = malloc((size_t)n + 1);
    ck_assert_ptr_nonnull(s);
    size_t got = fread(s, 1, (size_t)n, f);
    s[got] = 0;
    fclose(f);
    return s;
}

/* Splits text into lines in place; returns the count. */
static int split_lines(char *text, char ***lines) {
    int n = 1;
    for (char *p = text; *p; p++) n += *p == '\n';
    *lines = malloc(sizeof(char *) * (size_t)n);
    ck_assert_ptr_nonnull(*lines);
    int i = 0;
    for (char *p = text; ; ) {
        (*lines)[i++] = p;
        char *nl = strchr(p, '\n');
        if (!nl) break;
        *nl = 0;
        p = nl + 1;
    }
    return i;
}

static int has_suffix(const char *s, const char *suffix) {
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

/* ---- equation labels ------------------------------------------------------- */

typedef struct { char page[64]; char label[16]; } Label;
static Label labels[1024];
static int n_labels;

/* A label is "(" two capitals, digits ")"; returns its length at s, or 0. */
static int label_at(const char *s, char *out) {
    if (s[0] != '(' || !isupper((unsigned char)s[1]) || !isupper((unsigned char)s[2])) return 0;
    int i = 3;
    while (isdigit((unsigned char)s[i])) i++;
    if (i == 3 || i > 6 || s[i] != ')') return 0;
    if (out) { memcpy(out, s + 1, (size_t)(i - 1)); out[i - 1] = 0; }
    return i + 1;
}

/* An old label: "(" one capital, one or two digits ")". */
/* The labels the pages used before the prefixes: one of these letters and a
 * number from 1 (so code such as free(C0) is not taken for one). */
static int old_label_at(const char *s) {
    if (s[0] != '(' || !s[1] || !strchr("ABDEFGHKLMNPRSX", s[1]) || !isdigit((unsigned char)s[2]) || s[2] == '0')
        return 0;
    int i = 3;
    if (isdigit((unsigned char)s[i])) i++;
    return s[i] == ')' ? i + 1 : 0;
}

static const char *page_of_label(const char *label) {
    for (int i = 0; i < n_labels; i++)
        if (strcmp(labels[i].label, label) == 0) return labels[i].page;
    return NULL;
}

static int page_defines(const char *page, const char *label) {
    for (int i = 0; i < n_labels; i++)
        if (strcmp(labels[i].page, page) == 0 && strcmp(labels[i].label, label) == 0) return 1;
    return 0;
}

static int page_exists(const char *page) {
    char path[128];
    struct stat st;
    snprintf(path, sizeof path, "docs/%s.md", page);
    return stat(path, &st) == 0;
}

static void define_label(const char *page, const char *label, int line) {
    const char *other = page_of_label(label);
    if (other && strcmp(other, page) != 0) {
        char where[80];
        snprintf(where, sizeof where, "docs/%s.md", page);
        fail_at(where, line, "label (%s) is also defined on docs/%s.md", label, other);
        return;
    }
    if (other) return;
    ck_assert_int_lt(n_labels, (int)(sizeof labels / sizeof labels[0]));
    snprintf(labels[n_labels].page, sizeof labels[n_labels].page, "%s", page);
    snprintf(labels[n_labels].label, sizeof labels[n_labels].label, "%s", label);
    n_labels++;
}

/* A page defines a label where an equation is written: \tag{AT1}, "… (AT1)$$"
 * at the end of a display, or in an indented block "    (AT1)  …" or "… (AT1)". */
static void read_page_labels(const char *page) {
    char path[128], label[16];
    snprintf(path, sizeof path, "docs/%s.md", page);
    char *text = read_all(path), **lines;
    ck_assert_msg(text != NULL, "cannot read %s", path);
    int n = split_lines(text, &lines);
    for (int ln = 0; ln < n; ln++) {
        const char *s = lines[ln];
        for (const char *p = s; (p = strstr(p, "\\tag{")); p += 5) {
            char buf[20];
            if (sscanf(p + 5, "%15[A-Z0-9]}", buf) == 1) define_label(page, buf, ln + 1);
        }
        for (const char *p = s; *p; p++) {
            int k = label_at(p, label);
            if (!k) continue;
            int indented = strncmp(s, "    ", 4) == 0;
            const char *before = p, *after = p + k;
            while (before > s && before[-1] == ' ') before--;
            while (*after == ' ') after++;
            /* "… page.md (FF1)" or "(AT1)–(AT6)" at the end of a line cites, not defines */
            int cites = (before - s >= 3 && strncmp(before - 3, ".md", 3) == 0) ||
                        (before - s >= 3 && strncmp(before - 3, "–", 3) == 0);
            if (strncmp(after, "$$", 2) == 0 || (indented && (before == s || (*after == 0 && !cites))))
                define_label(page, label, ln + 1);
        }
    }
    free(lines);
    free(text);
}

static void read_all_page_labels(void) {
    n_labels = 0;
    DIR *d = opendir("docs");
    ck_assert_msg(d != NULL, "docs/ not found: run the tests from the repository root");
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!has_suffix(e->d_name, ".md")) continue;
        char page[64];
        snprintf(page, sizeof page, "%.*s", (int)(strlen(e->d_name) - 3), e->d_name);
        read_page_labels(page);
    }
    closedir(d);
}

/* After "PAGE.md": an optional "](…)" link target or "#anchor", ", equation(s)",
 * then labels joined by –, -, ",", "and", "or", "to". Each must be PAGE's. */
static void check_cited_list(const char *file, int line, const char *page, const char *p) {
    if (*p == ']' && p[1] == '(') { const char *q = strchr(p, ')'); if (q) p = q + 1; }
    if (*p == '#') { p++; while (*p == '-' || islower((unsigned char)*p)) p++; }
    if (*p == ',') p++;
    while (*p == ' ') p++;
    if (strncmp(p, "equations", 9) == 0) p += 9;
    else if (strncmp(p, "equation", 8) == 0) p += 8;
    if (*p == ':') p++;
    while (*p == ' ') p++;
    char label[16];
    int k;
    while ((k = label_at(p, label)) || old_label_at(p)) {
        if (!k) {
            char old[8];
            snprintf(old, sizeof old, "%.*s", old_label_at(p), p);
            fail_at(file, line, "%s.md %s: an old one-letter label", page, old);
            k = old_label_at(p);
        } else if (!page_exists(page)) {
            fail_at(file, line, "docs/%s.md does not exist (cited with (%s))", page, label);
        } else if (!page_defines(page, label)) {
            fail_at(file, line, "docs/%s.md has no equation (%s)", page, label);
        }
        p += k;
        const char *q = p;
        for (;;) {
            while (*q == ' ') q++;
            if (strncmp(q, "–", strlen("–")) == 0) q += strlen("–");
            else if (*q == '-' || *q == ',') q++;
            else if (strncmp(q, "and ", 4) == 0) q += 3;
            else if (strncmp(q, "or ", 3) == 0) q += 2;
            else if (strncmp(q, "to ", 3) == 0) q += 2;
            else break;
        }
        if (q == p || *q != '(') break;
        p = q;
    }
}

static void check_citations_in_file(const char *file) {
    char *text = read_all(file), **lines;
    if (!text) return;
    int is_c = has_suffix(file, ".c") || has_suffix(file, ".h") || strncmp(file, "docs/", 5) == 0;
    int n = split_lines(text, &lines);
    for (int ln = 0; ln < n; ln++) {
        const char *s = lines[ln];
        char label[16];
        for (const char *p = s; *p; p++) {
            if (label_at(p, label) && !page_of_label(label))
                fail_at(file, ln + 1, "(%s) is not an equation of any docs page%s", label, "");
            if (is_c && old_label_at(p)) {
                char old[8];
                snprintf(old, sizeof old, "%.*s", old_label_at(p), p);
                fail_at(file, ln + 1, "%s: an old one-letter equation label (docs pages use %s)",
                        old, "two-letter prefixes, e.g. (AT3)");
            }
        }
        for (const char *p = s; (p = strstr(p, ".md")); p += 3) {
            const char *b = p;
            while (b > s && (islower((unsigned char)b[-1]) || b[-1] == '_')) b--;
            if (b == p || p - b >= 64) continue;
            char page[64];
            snprintf(page, sizeof page, "%.*s", (int)(p - b), b);
            check_cited_list(file, ln + 1, page, p + 3);
        }
    }
    free(lines);
    free(text);
}

static void check_citations_in_tree(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        char path[PATH_MAX];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        struct stat st;
        if (stat(path, &st) != 0) continue;
        if (S_ISDIR(st.st_mode)) check_citations_in_tree(path);
        else if (strcmp(path, "tests/test_docs.c") == 0) continue;  /* its examples */
        else if (has_suffix(path, ".c") || has_suffix(path, ".h") || has_suffix(path, ".py") ||
                 has_suffix(path, ".md"))
            check_citations_in_file(path);
    }
    closedir(d);
}

START_TEST(docs_equation_citations_exist) {
    failures[0] = 0;
    n_failures = 0;
    read_all_page_labels();
    ck_assert_msg(page_defines("attention", "AT14") && page_defines("layernorm", "LN4") &&
                  page_defines("optimizer", "OP12") && page_defines("heads", "HD13"),
                  "the label reader found %d labels; it misses known ones", n_labels);
    const char *trees[] = { "src", "include", "train", "tests", "docs" };
    for (size_t i = 0; i < sizeof trees / sizeof trees[0]; i++) check_citations_in_tree(trees[i]);
    check_citations_in_file("README.md");
    ck_assert_msg(n_failures == 0, "%d stale equation citations:\n%s", n_failures, failures);
}
END_TEST

/* ---- command-line flags ---------------------------------------------------- */

static char *run_capture(const char *args) {
    char command[PATH_MAX + 256];
    snprintf(command, sizeof command, "%s %s 2>&1", bert_program_path(), args);
    FILE *p = popen(command, "r");
    ck_assert_ptr_nonnull(p);
    size_t cap = 1 << 16, len = 0;
    char *out = malloc(cap);
    ck_assert_ptr_nonnull(out);
    len = fread(out, 1, cap - 1, p);
    out[len] = 0;
    pclose(p);
    return out;
}

enum { MAX_COMMANDS = 32 };
static char commands[MAX_COMMANDS][32];
static char *helps[MAX_COMMANDS];
static int n_commands;

/* The commands are the lines "  NAME  description" under "commands:" in bert --help. */
static void read_commands(void) {
    char *top = run_capture("--help");
    const char *p = strstr(top, "commands:");
    ck_assert_msg(p != NULL, "bert --help lists no commands:\n%s", top);
    n_commands = 0;
    while ((p = strchr(p, '\n')) && p[1] == ' ' && p[2] == ' ' && n_commands < MAX_COMMANDS) {
        p++;
        char name[32], args[64];
        if (sscanf(p, " %31[a-z0-9-]", name) != 1) break;
        snprintf(commands[n_commands], sizeof commands[0], "%s", name);
        snprintf(args, sizeof args, "%s --help", name);
        helps[n_commands++] = run_capture(args);
    }
    free(top);
    ck_assert_int_ge(n_commands, 8);
}

static int flag_in(const char *help, const char *flag) {
    size_t k = strlen(flag);
    for (const char *p = help; (p = strstr(p, flag)); p += k) {
        char c = p[k];
        if (!(islower((unsigned char)c) || isdigit((unsigned char)c) || c == '-')) return 1;
    }
    return 0;
}

/* Flags of other programs that the docs name: demo.sh, bench/compare.sh,
 * update-alternatives, bench/pretraining_probe.py, mpirun, bench/pytorch_step.py. */
static const char *other_flags[] = { "--sample", "--plain-blas", "--display", "--task",
                                     "--tensors", "--rare", "--allow-run-as-root", "--oversubscribe",
                                     "--hostfile", "--map-by", "--bind-to", "--bf16" };

static int command_index(const char *s, size_t len) {
    for (int i = 0; i < n_commands; i++)
        if (strlen(commands[i]) == len && strncmp(commands[i], s, len) == 0) return i;
    return -1;
}

/* A flag at p ("--name"); returns its length, or 0. */
static int flag_at(const char *p, const char *line_start, char *out) {
    if (p[0] != '-' || p[1] != '-' || !(islower((unsigned char)p[2]) || isdigit((unsigned char)p[2])))
        return 0;
    if (p > line_start && (isalnum((unsigned char)p[-1]) || p[-1] == '-')) return 0;
    int i = 2;
    while (islower((unsigned char)p[i]) || isdigit((unsigned char)p[i]) || p[i] == '-') i++;
    while (p[i - 1] == '-') i--;
    if (out) { snprintf(out, 48, "%.*s", i, p); }
    return i;
}

static void check_flags_in_file(const char *file) {
    char *text = read_all(file), **lines;
    ck_assert_msg(text != NULL, "cannot read %s", file);
    int n = split_lines(text, &lines);
    int fenced = 0, cmd = -1;  /* cmd: a `bert CMD` continued on this line by a trailing "\" */
    for (int ln = 0; ln < n; ln++) {
        const char *s = lines[ln];
        if (strncmp(s, "```", 3) == 0) { fenced = !fenced; cmd = -1; continue; }
        int code_line = fenced || strncmp(s, "    ", 4) == 0;
        size_t len = strlen(s);
        int continued = len > 0 && s[len - 1] == '\\';
        const char *seg_end = NULL;     /* where the current bert command's text ends */
        if (cmd >= 0) seg_end = s + len;
        for (const char *p = s; *p; p++) {
            if (seg_end && p >= seg_end) { cmd = -1; seg_end = NULL; }
            if (strncmp(p, "bert ", 5) == 0 && (p == s || strchr(" `/|(", p[-1]))) {
                const char *c = p + 5, *e = c;
                while (islower((unsigned char)*e) || *e == '-') e++;
                int i = command_index(c, (size_t)(e - c));
                if (i >= 0) {
                    cmd = i;
                    if (code_line) seg_end = s + len;
                    else { const char *tick = strchr(e, '`'); seg_end = tick ? tick : s + len; }
                    p = e - 1;
                    continue;
                }
            }
            char flag[48];
            int k = flag_at(p, s, flag);
            if (!k) continue;
            if (cmd >= 0 && seg_end && p < seg_end) {
                if (strcmp(flag, "--help") != 0 && !flag_in(helps[cmd], flag))
                    fail_at(file, ln + 1, "`bert %s --help` has no %s", commands[cmd], flag);
            } else {
                int known = 0;
                for (int i = 0; i < n_commands && !known; i++) known = flag_in(helps[i], flag);
                for (size_t i = 0; i < sizeof other_flags / sizeof other_flags[0] && !known; i++)
                    known = strcmp(other_flags[i], flag) == 0;
                if (!known) fail_at(file, ln + 1, "%s is an option of no bert command%s", flag, "");
            }
            p += k - 1;
        }
        if (!(continued && cmd >= 0 && code_line)) cmd = -1;
    }
    free(lines);
    free(text);
}

START_TEST(docs_flags_exist_in_help) {
    failures[0] = 0;
    n_failures = 0;
    read_commands();
    ck_assert_msg(flag_in(helps[command_index("pretrain", 8)], "--steps") &&
                  !flag_in(helps[command_index("pretrain", 8)], "--step"),
                  "flag matching is broken");
    check_flags_in_file("README.md");
    DIR *d = opendir("docs");
    ck_assert_msg(d != NULL, "docs/ not found: run the tests from the repository root");
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!has_suffix(e->d_name, ".md")) continue;
        char path[300];
        snprintf(path, sizeof path, "docs/%s", e->d_name);
        check_flags_in_file(path);
    }
    closedir(d);
    for (int i = 0; i < n_commands; i++) free(helps[i]);
    ck_assert_msg(n_failures == 0, "%d flags in the docs that bert does not take:\n%s",
                  n_failures, failures);
}
END_TEST

Suite *docs_suite(void) {
    Suite *s = suite_create("docs");
    TCase *tc = tcase_create("docs");
    tcase_add_test(tc, docs_equation_citations_exist);
    tcase_add_test(tc, docs_flags_exist_in_help);
    suite_add_tcase(s, tc);
    return s;
}
