/* test_fileio.c — read_whole_file, atomic writes (no temp file left, target
 * never half-written), text_line_col. */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include "test_util.h"
#include "tmpdir.h"
#include "io/fileio.h"

static char tmpdir[64];

static void assert_file_is(const char *path, const char *want) {
    char *data, err[256];
    size_t len;
    ck_assert_msg(read_whole_file(path, &data, &len, err, sizeof err) == 0, "%s", err);
    ck_assert_uint_eq(len, strlen(want));
    ck_assert_str_eq(data, want);   /* read_whole_file adds a '\0' */
    free(data);
}

START_TEST(atomic_write_then_read_back_leaves_only_target) {
    tmpdir_create(tmpdir, "fileio");
    char path[128], err[256], name[256];
    snprintf(path, sizeof path, "%s/out.bin", tmpdir);
    const char bytes[] = "hello\0world";   /* embedded NUL: a binary write */
    ck_assert_int_eq(atomic_write_file(path, bytes, sizeof bytes - 1, err, sizeof err), 0);
    char *data;
    size_t len;
    ck_assert_int_eq(read_whole_file(path, &data, &len, err, sizeof err), 0);
    ck_assert_uint_eq(len, sizeof bytes - 1);
    ck_assert_int_eq(memcmp(data, bytes, len), 0);
    ck_assert_int_eq(data[len], '\0');
    free(data);
    ck_assert_int_eq(tmpdir_count(tmpdir, name), 1);
    ck_assert_str_eq(name, "out.bin");
    /* Empty file */
    ck_assert_int_eq(atomic_write_file(path, "", 0, err, sizeof err), 0);
    assert_file_is(path, "");
    tmpdir_remove(tmpdir);
}
END_TEST

START_TEST(target_is_old_or_new_never_partial) {
    tmpdir_create(tmpdir, "fileio");
    char path[128], err[256], name[256];
    snprintf(path, sizeof path, "%s/state.json", tmpdir);
    ck_assert_int_eq(atomic_write_file(path, "old contents\n", 13, err, sizeof err), 0);

    AtomicFile f;
    ck_assert_int_eq(atomic_write_begin(&f, path, err, sizeof err), 0);
    fputs("new con", f.fp);
    fflush(f.fp);
    /* Mid-write: the target still holds the old file, the new bytes are in PATH.tmp.PID. */
    assert_file_is(path, "old contents\n");
    ck_assert_int_eq(tmpdir_count(tmpdir, NULL), 2);
    char tmp_name[64];
    snprintf(tmp_name, sizeof tmp_name, "state.json.tmp.%ld", (long)getpid());
    ck_assert_str_eq(strrchr(f.tmp_path, '/') + 1, tmp_name);
    fputs("tents\n", f.fp);
    ck_assert_msg(atomic_write_commit(&f, err, sizeof err) == 0, "%s", err);
    assert_file_is(path, "new contents\n");
    ck_assert_int_eq(tmpdir_count(tmpdir, name), 1);
    ck_assert_str_eq(name, "state.json");

    /* Abort: the target keeps its contents and the temporary file is gone. */
    ck_assert_int_eq(atomic_write_begin(&f, path, err, sizeof err), 0);
    fputs("discarded", f.fp);
    atomic_write_abort(&f);
    assert_file_is(path, "new contents\n");
    ck_assert_int_eq(tmpdir_count(tmpdir, name), 1);
    ck_assert_str_eq(name, "state.json");
    tmpdir_remove(tmpdir);
}
END_TEST

START_TEST(errors_name_the_file) {
    char err[256] = "";
    char *data = (char *)1;
    size_t len = 7;
    ck_assert_int_eq(read_whole_file("/nonexistent-dir/x.json", &data, &len, err, sizeof err), -1);
    ck_assert_ptr_null(data);
    ck_assert_uint_eq(len, 0);
    ck_assert_msg(strstr(err, "/nonexistent-dir/x.json") && strstr(err, "cannot open"), "%s", err);
    ck_assert_int_eq(atomic_write_file("/nonexistent-dir/y.bin", "x", 1, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "/nonexistent-dir/y.bin") && strstr(err, "cannot create"), "%s", err);
    ck_assert_int_eq(read_whole_file("/tmp", &data, &len, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "/tmp: not a regular file"), "%s", err);
    /* NULL err is allowed */
    ck_assert_int_eq(read_whole_file("/nonexistent-dir/x.json", &data, &len, NULL, 0), -1);
}
END_TEST

START_TEST(line_and_column) {
    const char *text = "ab\ncd\n\nef";
    int line, col;
    text_line_col(text, strlen(text), 0, &line, &col);
    ck_assert_int_eq(line, 1); ck_assert_int_eq(col, 1);
    text_line_col(text, strlen(text), 4, &line, &col);   /* 'd' */
    ck_assert_int_eq(line, 2); ck_assert_int_eq(col, 2);
    text_line_col(text, strlen(text), 8, &line, &col);   /* 'f' */
    ck_assert_int_eq(line, 4); ck_assert_int_eq(col, 2);
}
END_TEST

/* Only regular files are replaced: a symlink keeps pointing where it did (its
 * target gets the new contents), a device is written in place and stays a
 * device (/dev/full was replaced by a regular file when run as root). */
START_TEST(never_replaces_what_is_not_a_regular_file) {
    tmpdir_create(tmpdir, "fileio");
    char target[128], link_path[128], dev_link[128], err[256];
    snprintf(target, sizeof target, "%s/target.txt", tmpdir);
    snprintf(link_path, sizeof link_path, "%s/link.txt", tmpdir);
    snprintf(dev_link, sizeof dev_link, "%s/null-link", tmpdir);
    ck_assert_int_eq(atomic_write_file(target, "old", 3, err, sizeof err), 0);
    ck_assert_int_eq(symlink("target.txt", link_path), 0);
    ck_assert_msg(atomic_write_file(link_path, "new", 3, err, sizeof err) == 0, "%s", err);
    struct stat st;
    ck_assert_int_eq(lstat(link_path, &st), 0);
    ck_assert(S_ISLNK(st.st_mode));
    assert_file_is(target, "new");
    ck_assert_int_eq(tmpdir_count(tmpdir, NULL), 2);   /* no temporary left beside either */
    /* a link to a file not made yet creates it */
    char dangling[128], later[128];
    snprintf(dangling, sizeof dangling, "%s/dangling", tmpdir);
    snprintf(later, sizeof later, "%s/later.txt", tmpdir);
    ck_assert_int_eq(symlink("later.txt", dangling), 0);
    ck_assert_msg(atomic_write_file(dangling, "made", 4, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(lstat(dangling, &st), 0);
    ck_assert(S_ISLNK(st.st_mode));
    assert_file_is(later, "made");

    ck_assert_msg(atomic_write_file("/dev/null", "x", 1, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(stat("/dev/null", &st), 0);
    ck_assert(S_ISCHR(st.st_mode));
    ck_assert_int_eq(symlink("/dev/null", dev_link), 0);
    ck_assert_msg(atomic_write_file(dev_link, "x", 1, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(lstat(dev_link, &st), 0);
    ck_assert(S_ISLNK(st.st_mode));
    if (stat("/dev/full", &st) == 0 && S_ISCHR(st.st_mode)) {
        ck_assert_int_eq(atomic_write_file("/dev/full", "x", 1, err, sizeof err), -1);
        ck_assert_msg(strstr(err, "/dev/full: write failed: No space left on device"), "%s", err);
        ck_assert_int_eq(stat("/dev/full", &st), 0);
        ck_assert(S_ISCHR(st.st_mode));
    }
    ck_assert_int_eq(atomic_write_file(tmpdir, "x", 1, err, sizeof err), -1);
    ck_assert_msg(strstr(err, ": is a directory"), "%s", err);
    tmpdir_remove(tmpdir);
}
END_TEST

Suite *fileio_suite(void) {
    Suite *s = suite_create("fileio");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, atomic_write_then_read_back_leaves_only_target);
    tcase_add_test(tc, target_is_old_or_new_never_partial);
    tcase_add_test(tc, errors_name_the_file);
    tcase_add_test(tc, line_and_column);
    tcase_add_test(tc, never_replaces_what_is_not_a_regular_file);
    suite_add_tcase(s, tc);
    return s;
}
