#include <libgen.h>
#include <limits.h>
/* test_util.c — helpers shared by the Check tests. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
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
                      l->name, l->count, l->max_abs_err, l->rel_err, gradcheck_tolerance(), REAL_NAME);
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
