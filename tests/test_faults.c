/* test_faults.c — `bert pretrain` (the real program, bert_program_path())
 * under faults: killed with SIGKILL 30 times (5 in the sanitizer builds),
 * spread over the run at seeded pseudo-random moments, half of them while a
 * checkpoint (written every 2 steps) is being written, after
 * each of which the newest checkpoint must load and --resume must continue,
 * ending with the same weights as an uninterrupted run (bitwise; to float
 * precision in the double build, whose checkpoints hold float32); an output directory
 * it cannot write; and a disk that fills up during a checkpoint (a small
 * tmpfs), which must leave the previous checkpoint intact and no temporary
 * directory behind; and --resume from a checkpoint holding a NaN. The mounts
 * need root; without it those cases skip. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "test_util.h"
#include "io/checkpoint.h"
#include "io/fileio.h"
#include "io/safetensors.h"

#define TINY_VOCAB "tests/data/tiny_vocab.txt"

#ifdef __SANITIZE_ADDRESS__
enum { KILLS = 5 };    /* each start costs more under ASan; the machine has 2 cores */
#else
enum { KILLS = 30 };
#endif
enum { STEPS = 240, SAVE_EVERY = 2 };

typedef struct {
    char root[64];
    char small_config[128], big_config[128], corpus[128];
} Fixture;

static void write_text(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    ck_assert_msg(f != NULL, "%s: %s", path, strerror(errno));
    fputs(text, f);
    fclose(f);
}

static void fixture_make(Fixture *f) {
    snprintf(f->root, sizeof f->root, "/tmp/bertc-faults-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(f->root));
    snprintf(f->small_config, sizeof f->small_config, "%s/small.json", f->root);
    snprintf(f->big_config, sizeof f->big_config, "%s/big.json", f->root);
    snprintf(f->corpus, sizeof f->corpus, "%s/corpus.txt", f->root);
    write_text(f->small_config, "{\"vocab_size\": 23, \"hidden_size\": 16, \"num_hidden_layers\": 1, "
               "\"num_attention_heads\": 2, \"intermediate_size\": 32, \"max_position_embeddings\": 32}\n");
    /* ~80k parameters: a checkpoint of about 1 MB, to fill a small tmpfs */
    write_text(f->big_config, "{\"vocab_size\": 23, \"hidden_size\": 64, \"num_hidden_layers\": 2, "
               "\"num_attention_heads\": 2, \"intermediate_size\": 128, \"max_position_embeddings\": 32}\n");
    FILE *c = fopen(f->corpus, "w");
    ck_assert_ptr_nonnull(c);
    for (int doc = 0; doc < 6; doc++) fprintf(c, "hello world!\na cafe, un x y i\nhello hello worlds\n\n");
    fclose(c);
}

static void fixture_remove(const Fixture *f) {
    char command[256];
    snprintf(command, sizeof command, "rm -rf %s", f->root);
    ck_assert_int_eq(system(command), 0);
}

/* Starts `bert pretrain` into OUT (or --resume OUT) with stdout and stderr
 * appended to LOG; returns its pid. */
static pid_t start_pretrain(const Fixture *f, const char *config, const char *out, bool resume, long steps,
                            const char *log) {
    char steps_arg[32], save_arg[32];
    snprintf(steps_arg, sizeof steps_arg, "%ld", steps);
    snprintf(save_arg, sizeof save_arg, "%d", SAVE_EVERY);
    fflush(stdout);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0) _exit(126);
        const char *bert = bert_program_path();
        execl(bert, bert, "pretrain", "--config", config, "--vocab", TINY_VOCAB, "--corpus", f->corpus,
              resume ? "--resume" : "--out", out, "--steps", steps_arg, "--save-every", save_arg,
              "--batch-size", "2", "--max-seq-length", "16", "--max-predictions", "2", "--eval-fraction", "0",
              "--threads", "1", (char *)NULL);
        _exit(127);
    }
    return pid;
}

static int wait_status(pid_t pid) {
    int status = 0;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    return status;
}

static char *read_log(const char *log) {
    char *text, err[512];
    size_t len;
    if (read_whole_file(log, &text, &len, err, sizeof err) != 0) return strdup(err);
    return text;
}

/* The largest N of OUT/checkpoint-N (-1 if none); counts .checkpoint-*.tmp
 * directories into *tmp_dirs and names one in tmp_name[256]. */
static long newest_checkpoint(const char *out, int *tmp_dirs, char *tmp_name) {
    long newest = -1;
    *tmp_dirs = 0;
    DIR *d = opendir(out);
    if (!d) return -1;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        char *end;
        size_t len = strlen(e->d_name);
        if (strncmp(e->d_name, ".checkpoint-", 12) == 0 && len > 4 && strcmp(e->d_name + len - 4, ".tmp") == 0) {
            (*tmp_dirs)++;
            if (tmp_name) snprintf(tmp_name, 256, "%s", e->d_name);
        }
        if (strncmp(e->d_name, "checkpoint-", 11) != 0) continue;
        long step = strtol(e->d_name + 11, &end, 10);
        if (*end == 0 && end != e->d_name + 11 && step > newest) newest = step;
    }
    closedir(d);
    return newest;
}

/* DIR holds a pretrained model that loads. */
static void assert_model_loads(const char *dir) {
    char err[1024];
    BertModel m;
    int heads = 0;
    ck_assert_msg(checkpoint_load(&m, dir, BERT_HEADS_PRETRAINING, 0, 1, &heads, err, sizeof err) == 0,
                  "%s does not load: %s", dir, err);
    ck_assert_msg(heads & BERT_HEADS_PRETRAINING, "%s has no pretraining heads", dir);
    bert_free(&m);
}

/* The checkpoint loads as a model and its optimizer state opens. */
static void assert_checkpoint_loads(const char *dir) {
    char err[1024], path[4200];
    assert_model_loads(dir);
    snprintf(path, sizeof path, "%s/trainer_state.safetensors", dir);
    SafeTensors *st = safetensors_open(path, err, sizeof err);
    ck_assert_msg(st != NULL, "%s", err);
    safetensors_close(st);
}

static double seconds_now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

#ifdef BERT_DOUBLE
/* Every tensor of safetensors file A within TOL of B's. */
static void assert_close_weights(const char *a, const char *b, double tol) {
    char err[512];
    SafeTensors *sa = safetensors_open(a, err, sizeof err), *sb = safetensors_open(b, err, sizeof err);
    ck_assert_msg(sa && sb, "%s", err);
    ck_assert_int_eq(safetensors_count(sa), safetensors_count(sb));
    for (int i = 0; i < safetensors_count(sa); i++) {
        const SafeTensorInfo *t = safetensors_info(sa, i);
        if (strstr(t->name, "position_ids")) continue;
        real *x = malloc(sizeof(real) * (size_t)t->numel), *y = malloc(sizeof(real) * (size_t)t->numel);
        ck_assert_msg(safetensors_read_real(sa, t->name, x, t->ndim, t->shape, err, sizeof err) == 0, "%s", err);
        ck_assert_msg(safetensors_read_real(sb, t->name, y, t->ndim, t->shape, err, sizeof err) == 0, "%s", err);
        for (int64_t k = 0; k < t->numel; k++)
            ck_assert_msg(fabs((double)x[k] - (double)y[k]) <= tol, "%s[%lld]: %.9g against %.9g", t->name,
                          (long long)k, (double)x[k], (double)y[k]);
        free(x);
        free(y);
    }
    safetensors_close(sa);
    safetensors_close(sb);
}
#else
static void assert_same_file(const char *a, const char *b) {
    char *x, *y, err[512];
    size_t nx, ny;
    ck_assert_msg(read_whole_file(a, &x, &nx, err, sizeof err) == 0, "%s", err);
    ck_assert_msg(read_whole_file(b, &y, &ny, err, sizeof err) == 0, "%s", err);
    ck_assert_msg(nx == ny && memcmp(x, y, nx) == 0, "%s and %s differ", a, b);
    free(x);
    free(y);
}
#endif

START_TEST(pretrain_survives_kill_9_and_resumes) {
    Fixture f;
    fixture_make(&f);
    double start = seconds_now();
    char out[128], straight[128], log[160], path[300], name[256];
    snprintf(out, sizeof out, "%s/killed", f.root);
    snprintf(straight, sizeof straight, "%s/straight", f.root);
    snprintf(log, sizeof log, "%s/log", f.root);

    /* Kill i comes near step (i+1)·STEPS/(KILLS+1), so the kills spread over
     * the whole run whatever the disk's speed: either while checkpoint-T is
     * being written (once .checkpoint-T.tmp appears) or just after (once
     * checkpoint-T appears: the run directory's model is being refreshed, or
     * the next steps run), plus a seeded random 0-3 ms. */
    uint64_t rng = 0x16u;
    int kills = 0, mid_save = 0;
    long last_newest = -1;
    while (kills < KILLS) {
        int tmp_dirs;
        bool resume = newest_checkpoint(out, &tmp_dirs, NULL) >= 0;
        rng ^= rng >> 12, rng ^= rng << 25, rng ^= rng >> 27;
        uint64_t r = (rng * 2685821657736338717ULL) >> 11;
        long target = (long)(kills + 1) * STEPS / (KILLS + 1) / SAVE_EVERY * SAVE_EVERY;
        if (target <= last_newest) target = last_newest + SAVE_EVERY;
        bool during_save = r & 1;
        long extra_us = (long)(r >> 1) % 3000;
        char watched[300];
        snprintf(watched, sizeof watched, during_save ? "%s/.checkpoint-%ld.tmp" : "%s/checkpoint-%ld", out, target);
        pid_t pid = start_pretrain(&f, f.small_config, out, resume, STEPS, log);
        int status = 0;
        struct stat sb;
        bool exited = false;
        for (long waited_us = 0; stat(watched, &sb) != 0; waited_us += 200) {
            if (waitpid(pid, &status, WNOHANG) == pid) { exited = true; break; }
            ck_assert_msg(waited_us < 60 * 1000000L, "kill %d: %s never appeared", kills + 1, watched);
            usleep(200);
        }
        if (!exited) {
            usleep((useconds_t)extra_us);
            kill(pid, SIGKILL);
            status = wait_status(pid);
        }
        if (WIFEXITED(status)) {
            char *text = read_log(log);
            ck_abort_msg("kill %d: the run %s (status %d) before reaching %s; log:\n%s", kills + 1,
                         WEXITSTATUS(status) == 0 ? "finished" : "failed", WEXITSTATUS(status), watched, text);
        }
        ck_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
        kills++;
        long newest = newest_checkpoint(out, &tmp_dirs, NULL);
        mid_save += tmp_dirs > 0;
        /* a kill never loses a completed checkpoint: the newest only moves forward */
        ck_assert_msg(newest >= last_newest, "kill %d: newest checkpoint went from %ld back to %ld", kills,
                      last_newest, newest);
        last_newest = newest;
        if (newest >= 0) {
            snprintf(path, sizeof path, "%s/checkpoint-%ld", out, newest);
            assert_checkpoint_loads(path);
        }
    }
    /* the last resume runs to the end */
    ck_assert_msg(last_newest >= 0, "no checkpoint was ever written before a kill");
    int status = wait_status(start_pretrain(&f, f.small_config, out, true, STEPS, log));
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        char *text = read_log(log);
        ck_abort_msg("the final --resume failed (status %d); log:\n%s", status, text);
    }
    int tmp_dirs;
    ck_assert_int_eq(newest_checkpoint(out, &tmp_dirs, name), STEPS);
    ck_assert_msg(tmp_dirs == 0, "a finished run left %s/%s behind", out, name);
    snprintf(path, sizeof path, "%s/checkpoint-%d", out, STEPS);
    assert_checkpoint_loads(path);
    double killed_seconds = seconds_now() - start;

    /* the same weights as a run never interrupted (resume is exact) */
    snprintf(log, sizeof log, "%s/straight.log", f.root);
    status = wait_status(start_pretrain(&f, f.small_config, straight, false, STEPS, log));
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the uninterrupted run failed: %s", read_log(log));
    char a[300], b[300];
    snprintf(a, sizeof a, "%s/checkpoint-%d/model.safetensors", out, STEPS);
    snprintf(b, sizeof b, "%s/checkpoint-%d/model.safetensors", straight, STEPS);
#ifdef BERT_DOUBLE
    /* checkpoints hold float32: each resume of the double build rounds the
     * weights and moments, so the runs agree to float precision only */
    assert_close_weights(a, b, 1e-4);
#else
    assert_same_file(a, b);
#endif
    printf("faults: %d kills (last checkpoint before the final resume: step %ld; %d kills left a half-written "
           ".checkpoint-N.tmp), kills and resumes %.1f s, all %.1f s\n", kills, last_newest, mid_save,
           killed_seconds, seconds_now() - start);
    fixture_remove(&f);
}
END_TEST

/* Mounts a tmpfs of SIZE_KB at DIR (read-only when READ_ONLY, after making
 * DIR/run in it). False, with a line saying the test skips, when this process
 * may not mount (not root, or no CAP_SYS_ADMIN in a container). */
static bool mount_small_tmpfs(const char *dir, long size_kb, bool read_only, const char *test_name) {
    char options[64];
    snprintf(options, sizeof options, "size=%ldk,mode=0755", size_kb);
    if (mount("tmpfs", dir, "tmpfs", MS_NOSUID | MS_NODEV, options) != 0) {
        printf("%s: skipped: cannot mount a tmpfs at %s (%s; needs root)\n", test_name, dir, strerror(errno));
        return false;
    }
    if (read_only) {
        char run[300];
        snprintf(run, sizeof run, "%s/run", dir);
        ck_assert_int_eq(mkdir(run, 0755), 0);
        ck_assert_msg(mount("tmpfs", dir, "tmpfs", MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV, options) == 0,
                      "remount read-only: %s", strerror(errno));
    }
    return true;
}

START_TEST(pretrain_refuses_an_output_directory_it_cannot_write) {
    Fixture f;
    fixture_make(&f);
    char dir[128], out[200], log[160];
    snprintf(dir, sizeof dir, "%s/locked", f.root);
    snprintf(log, sizeof log, "%s/log", f.root);
    ck_assert_int_eq(mkdir(dir, 0755), 0);
    bool mounted = false;
    if (geteuid() != 0) {
        ck_assert_int_eq(chmod(dir, 0555), 0);   /* root would write anyway */
    } else if (!(mounted = mount_small_tmpfs(dir, 1024, true, "pretrain_refuses_an_output_directory_it_cannot_write"))) {
        fixture_remove(&f);
        return;
    }
    /* a new run directory inside it, and (with the mount) an existing one */
    const char *runs[] = { "new-run", "run" };
    for (int i = 0; i < (mounted ? 2 : 1); i++) {
        snprintf(out, sizeof out, "%s/%s", dir, runs[i]);
        unlink(log);
        int status = wait_status(start_pretrain(&f, f.small_config, out, false, 4, log));
        char *text = read_log(log);
        if (mounted && i == 1) umount2(dir, MNT_DETACH);   /* before any check can fail */
        ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 1, "status %d; log:\n%s", status, text);
        ck_assert_msg(strstr(text, "bert pretrain: ") && strstr(text, out), "the error names %s:\n%s", out, text);
        ck_assert_msg(!strstr(text, "AddressSanitizer") && !strstr(text, "runtime error"), "%s", text);
        printf("read-only %s: %s", runs[i], strstr(text, "bert pretrain: /") ? strstr(text, "bert pretrain: /") : text);
        free(text);
    }
    if (!mounted) chmod(dir, 0755);
    fixture_remove(&f);
}
END_TEST

/* Bytes a directory's files take on a tmpfs (whole 4 KiB pages), in KiB. */
static long directory_kb(const char *dir) {
    DIR *d = opendir(dir);
    ck_assert_ptr_nonnull(d);
    long kb = 4;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        char path[600];
        struct stat sb;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        ck_assert_int_eq(stat(path, &sb), 0);
        kb += S_ISDIR(sb.st_mode) ? directory_kb(path) : (sb.st_size + 4095) / 4096 * 4;
    }
    closedir(d);
    return kb;
}

/* Pretrains into a tmpfs with room for the first checkpoint (and the model
 * in the run directory) and half of the second: the second save fails. */
static bool run_into_a_full_disk(Fixture *f, char *mount_dir, char *out, char *log, const char *test_name) {
    char measured[160], first[200];
    snprintf(measured, sizeof measured, "%s/measure", f->root);
    snprintf(log, 160, "%s/log", f->root);
    int status = wait_status(start_pretrain(f, f->big_config, measured, false, 1, log));
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "%s", read_log(log));
    snprintf(first, sizeof first, "%s/checkpoint-1", measured);
    long run_kb = directory_kb(measured), checkpoint_kb = directory_kb(first);
    snprintf(mount_dir, 128, "%s/small-disk", f->root);
    ck_assert_int_eq(mkdir(mount_dir, 0755), 0);
    if (!mount_small_tmpfs(mount_dir, run_kb + checkpoint_kb / 2, false, test_name)) return false;
    snprintf(out, 200, "%s/run", mount_dir);
    unlink(log);
    status = wait_status(start_pretrain(f, f->big_config, out, false, 3 * SAVE_EVERY, log));
    char *text = read_log(log);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 1 || !strstr(text, "No space left on device"))
        umount2(mount_dir, MNT_DETACH);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 1, "status %d; log:\n%s", status, text);
    ck_assert_msg(strstr(text, "No space left on device") && strstr(text, out), "%s", text);
    ck_assert_msg(!strstr(text, "AddressSanitizer") && !strstr(text, "runtime error"), "%s", text);
    printf("%s: %s", test_name, strstr(text, "bert pretrain: /"));
    free(text);
    return true;
}

START_TEST(pretrain_disk_full_keeps_the_previous_checkpoint) {
    Fixture f;
    fixture_make(&f);
    char mount_dir[128], out[200], log[160], path[300];
    if (run_into_a_full_disk(&f, mount_dir, out, log, "pretrain_disk_full_keeps_the_previous_checkpoint")) {
        /* copied off the tmpfs first, so a failed check does not leave the mount behind */
        char copy[200], command[600];
        snprintf(copy, sizeof copy, "%s/run-copy", f.root);
        snprintf(command, sizeof command, "cp -a %s %s", out, copy);
        int copied = system(command);
        ck_assert_int_eq(umount2(mount_dir, MNT_DETACH), 0);
        ck_assert_int_eq(copied, 0);
        int tmp_dirs;
        ck_assert_int_eq(newest_checkpoint(copy, &tmp_dirs, NULL), SAVE_EVERY);
        snprintf(path, sizeof path, "%s/checkpoint-%d", copy, SAVE_EVERY);
        assert_checkpoint_loads(path);
        assert_model_loads(copy);   /* the run directory's own model, refreshed with that checkpoint */
    }
    fixture_remove(&f);
}
END_TEST

/* A failed save must not leave its half-written .checkpoint-N.tmp behind
 * (it would hold the disk space that ran out). */
START_TEST(pretrain_disk_full_leaves_no_temporary_directory) {
    Fixture f;
    fixture_make(&f);
    char mount_dir[128], out[200], log[160], name[256] = "";
    if (run_into_a_full_disk(&f, mount_dir, out, log, "pretrain_disk_full_leaves_no_temporary_directory")) {
        int tmp_dirs;
        newest_checkpoint(out, &tmp_dirs, name);
        ck_assert_int_eq(umount2(mount_dir, MNT_DETACH), 0);
        fixture_remove(&f);
        ck_assert_msg(tmp_dirs == 0, "the failed save left %s/%s behind", out, name);
        return;
    }
    fixture_remove(&f);
}
END_TEST

/* A checkpoint whose weights went NaN (a diverged run) is refused by
 * --resume, naming the file and the tensor, rather than training on NaN. */
START_TEST(pretrain_resume_refuses_a_nan_checkpoint) {
    Fixture f;
    fixture_make(&f);
    char out[128], log[160], checkpoint[200], err[1024];
    snprintf(out, sizeof out, "%s/run", f.root);
    snprintf(log, sizeof log, "%s/log", f.root);
    int status = wait_status(start_pretrain(&f, f.small_config, out, false, SAVE_EVERY, log));
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "%s", read_log(log));
    snprintf(checkpoint, sizeof checkpoint, "%s/checkpoint-%d", out, SAVE_EVERY);
    BertModel m;
    ck_assert_msg(checkpoint_load(&m, checkpoint, BERT_HEADS_PRETRAINING, 0, 1, NULL, err, sizeof err) == 0, "%s",
                  err);
    m.params_memory[m.tensors[0].offset + 3] = NAN;
    ck_assert_msg(checkpoint_save(&m, checkpoint, NULL, NULL, err, sizeof err) == 0, "%s", err);
    char want[400];
    snprintf(want, sizeof want, "bert pretrain: %s/model.safetensors: tensor %s holds NaN at element 3", checkpoint,
             m.tensors[0].name);
    bert_free(&m);
    unlink(log);
    status = wait_status(start_pretrain(&f, f.small_config, out, true, 2 * SAVE_EVERY, log));
    char *text = read_log(log);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 1, "status %d; log:\n%s", status, text);
    ck_assert_msg(strstr(text, want), "want '%s' in:\n%s", want, text);
    free(text);
    fixture_remove(&f);
}
END_TEST

Suite *faults_suite(void) {
    Suite *s = suite_create("faults");
    TCase *tc = tcase_create("faults");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, pretrain_survives_kill_9_and_resumes);
    tcase_add_test(tc, pretrain_resume_refuses_a_nan_checkpoint);
    tcase_add_test(tc, pretrain_refuses_an_output_directory_it_cannot_write);
    tcase_add_test(tc, pretrain_disk_full_keeps_the_previous_checkpoint);
    tcase_add_test(tc, pretrain_disk_full_leaves_no_temporary_directory);
    suite_add_tcase(s, tc);
    return s;
}
