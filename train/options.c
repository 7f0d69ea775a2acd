/* options.c — table-driven parsing of a subcommand's flags, and its --help. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <limits.h>
#include "options.h"

bool parse_long_in(const char *s, long min, long max, long *out) {
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < min || v > max) return false;
    *out = v;
    return true;
}

static void print_help(const char *command, const char *summary, const Option *o, int n) {
    printf("usage: bert %s [OPTIONS]\n%s\n\noptions:\n", command, summary);
    for (int i = 0; i < n; i++) {
        char def[64] = "";
        switch (o[i].kind) {
        case OPT_INT: snprintf(def, sizeof def, " (default %ld)", *(long *)o[i].value); break;
        case OPT_REAL: snprintf(def, sizeof def, " (default %g)", *(double *)o[i].value); break;
        case OPT_STRING:
            if (*(const char **)o[i].value) snprintf(def, sizeof def, " (default %s)", *(const char **)o[i].value);
            break;
        default: break;
        }
        const char *arg = o[i].kind == OPT_FLAG ? "" : o[i].kind == OPT_STRINGS ? " VALUE..." : " VALUE";
        char left[64];
        snprintf(left, sizeof left, "%s%s", o[i].name, arg);
        printf("  %-26s %s%s%s\n", left, o[i].help, def, o[i].required ? " [required]" : "");
    }
    printf("  %-26s %s\n", "--help", "show this help");
}

static int bad(const char *command, const char *fmt, const char *a, const char *b) {
    fprintf(stderr, "bert %s: ", command);
    fprintf(stderr, fmt, a, b);
    fprintf(stderr, " (see bert %s --help)\n", command);
    return 2;
}

int options_parse(const char *command, const char *summary, Option *o, int n, int argc, char **argv) {
    bool *seen = calloc((size_t)n, sizeof(bool));
    int status = 0;
    for (int i = 1; i < argc && status == 0; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            print_help(command, summary, o, n);
            free(seen);
            return 1;
        }
        int k = 0;
        while (k < n && strcmp(argv[i], o[k].name) != 0) k++;
        if (k == n) { status = bad(command, "unknown option '%s'%s", argv[i], ""); break; }
        seen[k] = true;
        if (o[k].kind == OPT_FLAG) { *(bool *)o[k].value = true; continue; }
        if (i + 1 >= argc || (strncmp(argv[i + 1], "--", 2) == 0 && o[k].kind != OPT_REAL && o[k].kind != OPT_INT)) {
            status = bad(command, "option %s needs a value%s", o[k].name, "");
            break;
        }
        const char *v = argv[++i];
        char *end = NULL;
        errno = 0;
        switch (o[k].kind) {
        case OPT_INT: {
            long x = strtol(v, &end, 10);
            long min = o[k].min, max = o[k].max ? o[k].max : INT_MAX;
            if (errno == ERANGE || (end != v && !*end && (x < min || x > max))) {
                fprintf(stderr, "bert %s: option %s must be in %ld..%ld, not '%s' (see bert %s --help)\n",
                        command, o[k].name, min, max, v, command);
                status = 2;
            } else if (errno || end == v || *end) {
                status = bad(command, "option %s takes a whole number, not '%s'", o[k].name, v);
            } else {
                *(long *)o[k].value = x;
            }
            break;
        }
        case OPT_REAL: {
            double x = strtod(v, &end);
            if (errno || end == v || *end) status = bad(command, "option %s takes a number, not '%s'", o[k].name, v);
            else *(double *)o[k].value = x;
            break;
        }
        case OPT_STRING: *(const char **)o[k].value = v; break;
        case OPT_STRINGS: {
            StringList *list = o[k].value;
            list->items = NULL;
            list->count = 0;
            int first = i;
            while (i + 1 < argc && strncmp(argv[i + 1], "--", 2) != 0) i++;
            list->count = i - first + 1;
            list->items = malloc(sizeof(char *) * (size_t)list->count);
            for (int j = 0; j < list->count; j++) list->items[j] = argv[first + j];
            break;
        }
        case OPT_FLAG: break;
        }
    }
    for (int k = 0; k < n && status == 0; k++)
        if (o[k].required && !seen[k]) status = bad(command, "missing required option %s%s", o[k].name, "");
    free(seen);
    return status;
}

void options_free(Option *o, int n) {
    for (int i = 0; i < n; i++)
        if (o[i].kind == OPT_STRINGS) {
            StringList *list = o[i].value;
            free(list->items);
            list->items = NULL;
            list->count = 0;
        }
}

int parse_precision(const char *command, const char *value, bool *bf16) {
    if (strcmp(value, "fp32") == 0) *bf16 = false;
    else if (strcmp(value, "bf16") == 0) *bf16 = true;
    else {
        fprintf(stderr, "bert %s: --precision must be fp32 or bf16, not '%s'\n", command, value);
        return 2;
    }
    return 0;
}
