/* test_run_dir.c — the run directory's lock, its earlier-run check, what
 * --overwrite removes, and metrics truncation on resume (src/io/run_dir.c). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "test_util.h"
#include "io/run_dir.h"
#include "io/fileio.h"

static void write_text(const char *dir, const char *name, const char *text) {
    char path[256], err[256];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    ck_assert_msg(atomic_write_file(path, text, strlen(text), err, sizeof err) == 0, "%s", err);
}

static bool exists_in(const char *dir, const char *name) {
    char path[256];
    struct stat st;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return stat(path, &st) == 0;
}

static void make_subdir(const char *dir, const char *name) {
    char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    ck_assert_int_eq(mkdir(path, 0777), 0);
    write_text(path, "model.safetensors", "x");
}

static void remove_tree(const char *dir) {
    char command[128];
    snprintf(command, sizeof command, "rm -rf %s", dir);
    ck_assert_int_eq(system(command), 0);
}

/* The lock names its holder, and a holder that is killed leaves no stale
 * lock behind (the kernel drops an flock with the process). */
START_TEST(lock_names_its_holder_and_dies_with_it) {
    char dir[] = "/tmp/bertc-rundir-XXXXXX", run[64], err[512];
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(run, sizeof run, "%s/new/run", dir);   /* made with its parents */
    int ready[2];
    ck_assert_int_eq(pipe(ready), 0);
    pid_t child = fork();
    if (child == 0) {
        RunDirLock lock;
        if (run_dir_lock(&lock, run, "bert pretrain", err, sizeof err) != 0) _exit(3);
        char c = 1;
        if (write(ready[1], &c, 1) != 1) _exit(4);
        pause();
        _exit(0);
    }
    char c;
    ck_assert_int_eq(read(ready[0], &c, 1), 1);
    RunDirLock lock;
    ck_assert_int_eq(run_dir_lock(&lock, run, "bert finetune", err, sizeof err), -1);
    char holder[64];
    snprintf(holder, sizeof holder, "pid %ld on ", (long)child);
    ck_assert_msg(strstr(err, "is in use by another run: ") && strstr(err, holder) && strstr(err, "(bert pretrain)"),
                  "%s", err);
    kill(child, SIGKILL);
    waitpid(child, NULL, 0);
    ck_assert_msg(run_dir_lock(&lock, run, "bert finetune", err, sizeof err) == 0, "%s", err);
    run_dir_unlock(&lock);
    ck_assert_msg(run_dir_lock(&lock, run, "bert finetune", err, sizeof err) == 0, "%s", err);
    run_dir_unlock(&lock);
    close(ready[0]);
    close(ready[1]);
    remove_tree(dir);
}
END_TEST

/* What counts as an earlier run, and --overwrite removes that and nothing else. */
START_TEST(overwrite_removes_the_run_and_nothing_else) {
    char dir[] = "/tmp/bertc-rundir-XXXXXX", what[64], err[512];
    ck_assert_ptr_nonnull(mkdtemp(dir));
    ck_assert(!run_dir_holds_run(dir, what, sizeof what));
    ck_assert(!run_dir_holds_run("/nonexistent/run", what, sizeof what));
    write_text(dir, "notes.txt", "mine");
    write_text(dir, "vocab.txt", "[PAD]\n");
    ck_assert(!run_dir_holds_run(dir, what, sizeof what));
    write_text(dir, "metrics.jsonl", "{}\n");
    ck_assert(run_dir_holds_run(dir, what, sizeof what));
    ck_assert_str_eq(what, "metrics.jsonl");
    make_subdir(dir, "checkpoint-12");
    ck_assert(run_dir_holds_run(dir, what, sizeof what));
    ck_assert_str_eq(what, "checkpoint-12");   /* checkpoints are named first */
    make_subdir(dir, "checkpoint-last");
    make_subdir(dir, ".checkpoint-14.tmp");
    make_subdir(dir, "best.tmp");
    make_subdir(dir, "checkpoint-x");          /* not a run's name: kept */
    write_text(dir, "model.safetensors", "x");
    write_text(dir, "config.json", "{}");
    ck_assert_msg(run_dir_clear(dir, err, sizeof err) == 0, "%s", err);
    const char *gone[] = { "metrics.jsonl", "checkpoint-12", "checkpoint-last", ".checkpoint-14.tmp", "best.tmp",
                           "model.safetensors", "config.json", "vocab.txt" };
    for (size_t i = 0; i < sizeof gone / sizeof gone[0]; i++) ck_assert_msg(!exists_in(dir, gone[i]), "%s stayed", gone[i]);
    ck_assert(exists_in(dir, "notes.txt"));
    ck_assert(exists_in(dir, "checkpoint-x"));
    ck_assert(!run_dir_holds_run(dir, what, sizeof what));
    remove_tree(dir);
}
END_TEST

/* A resumed run keeps the records up to its checkpoint's step only. */
START_TEST(truncated_metrics_keep_the_steps_up_to_the_checkpoint) {
    char dir[] = "/tmp/bertc-rundir-XXXXXX", path[128], err[512];
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/metrics.jsonl", dir);
    ck_assert_int_eq(run_dir_truncate_metrics(path, 3, err, sizeof err), 0);   /* no file yet */
    write_text(dir, "metrics.jsonl",
               "{\"step\": 1, \"loss\": 2}\n{\"step\": 2, \"split\": \"eval\"}\n{\"step\": 3}\n{\"step\": 4}\n{\"step\": 5}");
    ck_assert_msg(run_dir_truncate_metrics(path, 3, err, sizeof err) == 0, "%s", err);
    char *text;
    size_t len;
    ck_assert(read_whole_file(path, &text, &len, err, sizeof err) == 0);
    ck_assert_str_eq(text, "{\"step\": 1, \"loss\": 2}\n{\"step\": 2, \"split\": \"eval\"}\n{\"step\": 3}\n");
    free(text);
    remove_tree(dir);
}
END_TEST

Suite *run_dir_suite(void) {
    Suite *s = suite_create("run_dir");
    TCase *tc = tcase_create("run_dir");
    tcase_add_test(tc, lock_names_its_holder_and_dies_with_it);
    tcase_add_test(tc, overwrite_removes_the_run_and_nothing_else);
    tcase_add_test(tc, truncated_metrics_keep_the_steps_up_to_the_checkpoint);
    suite_add_tcase(s, tc);
    return s;
}
