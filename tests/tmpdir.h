/* tmpdir.h — a scratch directory for tests that write files: created empty
 * under /tmp, listed, and removed with its (flat) contents. */
#ifndef BERT_TEST_TMPDIR_H
#define BERT_TEST_TMPDIR_H

#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Creates /tmp/bertc-PREFIX-XXXXXX into dir[64]. */
static inline void tmpdir_create(char dir[64], const char *prefix) {
    snprintf(dir, 64, "/tmp/bertc-%.20s-XXXXXX", prefix);
    ck_assert_ptr_nonnull(mkdtemp(dir));
}

/* Number of entries in dir; the name of one of them in name[256] if not NULL. */
static inline int tmpdir_count(const char *dir, char *name) {
    DIR *d = opendir(dir);
    ck_assert_ptr_nonnull(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        n++;
        if (name) memcpy(name, e->d_name, strlen(e->d_name) + 1);
    }
    closedir(d);
    return n;
}

static inline void tmpdir_remove(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *e;
    char path[64 + 1 + sizeof e->d_name];
    while ((e = readdir(d)) != NULL) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        unlink(path);
    }
    closedir(d);
    rmdir(dir);
}

#endif
