/* cmd_plot.c — `bert plot RUN_DIR... [--out FILE] [--fields A,B]`: draws the
 * loss and accuracy curves of pretraining or fine-tuning runs from each
 * RUN_DIR/metrics.jsonl into one PNG with gnuplot (several runs side by side:
 * f32 against bf16, say). Every record has a "step" and a "split" ("train"
 * or "eval"); every numeric field whose name contains "loss" goes in the
 * upper panel, every one containing "acc" or "f1" in the lower. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cJSON.h>
#include "commands.h"
#include "options.h"

#define MAX_SERIES 64
#define MAX_RUNS 8

typedef struct {
    char name[80];     /* "train mlm_loss" */
    char path[512];    /* temporary data file: step value */
    FILE *file;
    bool loss;         /* upper panel (else lower) */
} Series;

static Series *series_for(Series *s, int *n, const char *dir, const char *run, const char *split, const char *key) {
    char name[80];
    snprintf(name, sizeof name, "%.40s%s%.12s %.24s", run, *run ? " " : "", split, key);
    for (int i = 0; i < *n; i++)
        if (strcmp(s[i].name, name) == 0) return &s[i];
    if (*n == MAX_SERIES) return NULL;
    Series *x = &s[(*n)++];
    snprintf(x->name, sizeof x->name, "%s", name);
    snprintf(x->path, sizeof x->path, "%s/series%d.dat", dir, *n);
    x->file = fopen(x->path, "w");
    x->loss = strstr(key, "loss") != NULL;
    return x->file ? x : NULL;
}

/* Whether FIELD is in the comma-separated list (NULL: every field). */
static bool field_wanted(const char *list, const char *field) {
    if (!list) return strstr(field, "loss") || strstr(field, "acc") || strstr(field, "f1");
    size_t n = strlen(field);
    for (const char *p = list; (p = strstr(p, field)); p += n)
        if ((p == list || p[-1] == ',') && (p[n] == 0 || p[n] == ',')) return true;
    return false;
}

/* The last component of a run directory's path, its name in the legend. */
static const char *run_name(const char *dir, char *buf, size_t len) {
    snprintf(buf, len, "%s", dir);
    size_t n = strlen(buf);
    while (n > 1 && buf[n - 1] == '/') buf[--n] = 0;
    const char *slash = strrchr(buf, '/');
    return slash ? slash + 1 : buf;
}

int cmd_plot(int argc, char **argv) {
    const char *out = NULL, *fields = NULL;
    Option options[] = {
        { "--out", OPT_STRING, &out, "PNG to write (default RUN_DIR/curves.png; needed with several runs)", false, 0, 0 },
        { "--fields", OPT_STRING, &fields, "comma-separated metrics to draw, e.g. mlm_loss,mlm_acc (default: every loss, accuracy and F1)", false, 0, 0 },
    };
    const char *usage = "usage: bert plot RUN_DIR... [--out FILE] [--fields A,B]\n";
    if (argc < 2 || argv[1][0] == '-') {
        if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
            printf("%sDraws each RUN_DIR/metrics.jsonl (losses above, accuracies below) into one PNG with gnuplot;\n"
                   "with several runs each curve is named by its run directory.\n"
                   "  --out FILE       PNG to write (default RUN_DIR/curves.png; needed with several runs)\n"
                   "  --fields A,B     metrics to draw, e.g. mlm_loss,mlm_acc (default: every loss, accuracy, F1)\n",
                   usage);
            return 0;
        }
        fprintf(stderr, "bert plot: give the run directory: %s", usage);
        return 2;
    }
    const char *runs[MAX_RUNS];
    int n_runs = 0;
    while (1 + n_runs < argc && argv[1 + n_runs][0] != '-') {
        if (n_runs == MAX_RUNS) {
            fprintf(stderr, "bert plot: at most %d run directories in one plot\n", MAX_RUNS);
            return 2;
        }
        runs[n_runs] = argv[1 + n_runs];
        n_runs++;
    }
    int status = options_parse("plot", "", options, 2, argc - n_runs, argv + n_runs);
    if (status) return status == 1 ? 0 : status;
    if (n_runs > 1 && !out) {
        fprintf(stderr, "bert plot: with several runs, say where the PNG goes: --out FILE\n");
        return 2;
    }

    char png[1024];
    snprintf(png, sizeof png, "%s", out ? out : "");
    if (!out) snprintf(png, sizeof png, "%s/curves.png", runs[0]);
    char tmpdir[] = "/tmp/bert-plot-XXXXXX";
    if (!mkdtemp(tmpdir)) { perror("bert plot: mkdtemp"); return 1; }

    Series series[MAX_SERIES];
    int n_series = 0;
    long records = 0;
    char metrics_path[1024];
    for (int r = 0; r < n_runs; r++) {
        char name_buf[512];
        const char *name = n_runs > 1 ? run_name(runs[r], name_buf, sizeof name_buf) : "";
        snprintf(metrics_path, sizeof metrics_path, "%s/metrics.jsonl", runs[r]);
        FILE *in = fopen(metrics_path, "r");
        if (!in) {
            fprintf(stderr, "bert plot: %s: cannot open (is %s a run directory?)\n", metrics_path, runs[r]);
            for (int i = 0; i < n_series; i++) { fclose(series[i].file); remove(series[i].path); }
            rmdir(tmpdir);
            return 1;
        }
        long line_no = 0;
        char *line = NULL;
        size_t cap = 0;
        while (getline(&line, &cap, in) > 0) {
            line_no++;
            cJSON *obj = cJSON_Parse(line);
            if (!cJSON_IsObject(obj)) {
                fprintf(stderr, "bert plot: %s:%ld: not a JSON object, skipped\n", metrics_path, line_no);
                cJSON_Delete(obj);
                continue;
            }
            const cJSON *step = cJSON_GetObjectItemCaseSensitive(obj, "step");
            const cJSON *split = cJSON_GetObjectItemCaseSensitive(obj, "split");
            const char *split_name = cJSON_IsString(split) ? split->valuestring : "train";
            if (cJSON_IsNumber(step)) {
                records++;
                const cJSON *field;
                cJSON_ArrayForEach(field, obj) {
                    if (!cJSON_IsNumber(field) || strcmp(field->string, "step") == 0) continue;
                    if (!field_wanted(fields, field->string)) continue;
                    Series *s = series_for(series, &n_series, tmpdir, name, split_name, field->string);
                    if (s) fprintf(s->file, "%g %.8g\n", step->valuedouble, field->valuedouble);
                }
            }
            cJSON_Delete(obj);
        }
        free(line);
        fclose(in);
    }
    for (int i = 0; i < n_series; i++) fclose(series[i].file);
    if (records == 0 || n_series == 0) {
        fprintf(stderr, "bert plot: %s has no records with a step and %s\n", n_runs > 1 ? "these runs" : metrics_path,
                fields ? "one of --fields" : "a loss or accuracy");
        for (int i = 0; i < n_series; i++) remove(series[i].path);
        rmdir(tmpdir);
        return 1;
    }

    char script_path[64];
    snprintf(script_path, sizeof script_path, "%s/plot.gp", tmpdir);
    FILE *gp = fopen(script_path, "w");
    int panels = 0;
    bool has_panel[2] = { false, false };
    for (int i = 0; i < n_series; i++) has_panel[series[i].loss ? 0 : 1] = true;
    panels = has_panel[0] + has_panel[1];
    fprintf(gp, "set terminal png size 1000,%d noenhanced\nset output '%s'\nset multiplot layout %d,1 title '%s'\n"
                "set grid\nset key outside right\nset xlabel 'step'\n", 400 * panels, png, panels,
                n_runs > 1 ? "runs compared" : runs[0]);
    for (int panel = 0; panel < 2; panel++) {
        if (!has_panel[panel]) continue;   /* e.g. a run that records no accuracy */
        fprintf(gp, "set ylabel '%s'\nplot ", panel == 0 ? "loss" : "accuracy");
        int drawn = 0;
        for (int i = 0; i < n_series; i++) {
            if (series[i].loss != (panel == 0)) continue;
            bool eval = strncmp(series[i].name, "eval", 4) == 0;
            fprintf(gp, "%s'%s' using 1:2 with %s title '%s'", drawn ? ", " : "", series[i].path,
                    eval ? "linespoints" : "lines", series[i].name);
            drawn++;
        }
        fprintf(gp, "\n");
    }
    fprintf(gp, "unset multiplot\n");
    fclose(gp);
    char command[256];
    snprintf(command, sizeof command, "gnuplot %s", script_path);
    int rc = system(command);
    for (int i = 0; i < n_series; i++) remove(series[i].path);
    remove(script_path);
    rmdir(tmpdir);
    if (rc != 0) {
        fprintf(stderr, "bert plot: gnuplot failed (install it with: apt-get install gnuplot-nox)\n");
        return 1;
    }
    printf("wrote %s (%ld records, %d curves)\n", png, records, n_series);
    return 0;
}
