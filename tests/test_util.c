#include <libgen.h>
#include <limits.h>
/* test_util.c — helpers shared by the Check tests. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cJSON.h>
#include "io/fileio.h"
#include "test_util.h"
#include "gradcheck/gradcheck.h"

void assert_gradcheck_passes(const char *name) {
    const GradCheckCase *gc = gradcheck_find(name);
    ck_assert_msg(gc != NULL, "no gradcheck case named %s", name);
    GradCheckReport report = { .n = 0 };
    gc->run(&report, 1234);
    ck_assert_int_gt(report.n, 0);
    for (int i = 0; i < report.n; i++) {
        const GradCheckLine *l = &report.lines[i];
        ck_assert_msg(l->passed, "%s (%ld elements): max abs err %.3g, rel err %.3g, tolerance %.1g (%s)",
                      l->name, l->count, l->max_abs_err, l->rel_err, l->tolerance, REAL_NAME);
    }
}

const char *shared_data_dir(const char *test_name) {
    const char *dir = getenv("BERT_SHARED_DATA");
    if (!dir) dir = "../shared/data";
    struct stat st;
    if (stat(dir, &st) == 0 && S_ISDIR(st.st_mode)) return dir;
    printf("SKIP %s: shared data directory %s not found (set BERT_SHARED_DATA)\n", test_name, dir);
    return NULL;
}

void write_temp_file(char *path, const char *contents, size_t len, const char *suffix) {
    const char *dir = getenv("TMPDIR");
    snprintf(path, 64, "%s/bert_test_XXXXXX%s", dir && strlen(dir) < 32 ? dir : "/tmp", suffix);
    int fd = mkstemps(path, (int)strlen(suffix));
    ck_assert_msg(fd >= 0, "cannot create temporary file %s", path);
    ck_assert_msg(write(fd, contents, len) == (ssize_t)len, "cannot write %s", path);
    close(fd);
}

const char *bert_program_path(void) {
    static char path[PATH_MAX + 8];
    if (!path[0]) {
        char self[PATH_MAX];
        ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
        ck_assert(n > 0);
        self[n] = 0;
        snprintf(path, sizeof path, "%s/bert", dirname(self));
    }
    return path;
}

int run_logged(const char *log, const char *fmt, ...) {
    char command[8192], line[8400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(command, sizeof command, fmt, ap);
    va_end(ap);
    snprintf(line, sizeof line, "( %s ) >%s 2>&1", command, log);
    int status = system(line);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

char *read_text(const char *path) {
    char *data = NULL, err[256];
    size_t len = 0;
    ck_assert_msg(read_whole_file(path, &data, &len, err, sizeof err) == 0, "%s", err);
    return data;
}

/* The last (or the largest, when best) value of KEY among RUN's SPLIT records. */
static double metric_of(const char *run, const char *split, const char *key, bool best) {
    char path[512];
    snprintf(path, sizeof path, "%s/metrics.jsonl", run);
    char *text = read_text(path);
    double value = NAN;
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        cJSON *record = cJSON_Parse(line);
        const cJSON *s = cJSON_GetObjectItemCaseSensitive(record, "split");
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(record, key);
        if (cJSON_IsString(s) && strcmp(s->valuestring, split) == 0 && cJSON_IsNumber(v) &&
            (!best || isnan(value) || v->valuedouble > value))
            value = v->valuedouble;
        cJSON_Delete(record);
    }
    free(text);
    ck_assert_msg(!isnan(value), "%s: no %s record with %s", path, split, key);
    return value;
}

double last_metric(const char *run, const char *split, const char *key) { return metric_of(run, split, key, false); }
double best_metric(const char *run, const char *split, const char *key) { return metric_of(run, split, key, true); }

void remove_dir_tree(const char *dir) {
    char command[600];
    snprintf(command, sizeof command, "rm -rf %s", dir);
    ck_assert_int_eq(system(command), 0);
}

void write_sample_model_files(const char *dir) {
    char log[512], path[512];
    snprintf(log, sizeof log, "%s/vocab.log", dir);
    ck_assert_msg(run_logged(log, "%s vocab --corpus data/sample_corpus.txt --size 400 --out %s/vocab.txt --quiet",
                             bert_program_path(), dir) == 0, "bert vocab failed: %s", read_text(log));
    snprintf(path, sizeof path, "%s/config.json", dir);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fprintf(f, "{\"vocab_size\": 400, \"hidden_size\": 32, \"num_hidden_layers\": 2, \"num_attention_heads\": 2,"
               " \"intermediate_size\": 64, \"max_position_embeddings\": 64}\n");
    fclose(f);
}
