/* test_mpi.c — data-parallel training under mpirun, end to end: `bert
 * pretrain` and `bert finetune` on two ranks against one process with the
 * same global batch, an exact resume on two ranks, ranks that disagree, and a
 * rank that fails alone. Runs in the builds linked with Open MPI (f32, f64)
 * when mpirun is installed; the others skip with a message. What makes the
 * ranks agree with one process (a batch cut into slices has the whole
 * batch's gradient) is tested in one process in test_distributed.c. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <cJSON.h>
#include "test_util.h"
#include "io/run_dir.h"
#include "core/gemm_bf16.h"
#include <unistd.h>
#include <signal.h>
#include <dirent.h>
#include "tmpdir.h"
#include "io/fileio.h"
#include "io/safetensors.h"
#include "train/distributed.h"

/* Parameters of two runs agree to this relative L2 distance, per tensor: the
 * ranks add the same numbers in another order, and AdamW's first steps
 * (m/√v ≈ ±1) pass small differences on almost unchanged. */
#ifdef BERT_DOUBLE
#define PARAMS_RTOL 1e-10
#else
#define PARAMS_RTOL 1e-5
#endif
/* The same for two bf16 runs. A rank multiplies fewer rows (3 × 32 against
 * the one process's 7 × 32), and oneDNN picks its kernel by shape: on a CPU
 * with AMX some products of the ranks and of the one process then run on
 * different kernels (AMX brgemm or jit gemm, docs/bf16.md "Which oneDNN
 * kernel"), so even a single row's forward values may differ in the last
 * bits, not only the order of the sums over rows. Measured after 4 steps:
 * worst 4.3e-6 with jit gemm everywhere (Zen 5, and Intel before AMX was
 * used), 1.6e-4 with AMX (a feed-forward bias, whose values are ~1e-4).
 * A lost or doubled gradient moves a weight by its whole update, ≥ 1e-2 of
 * the weight here, and a bias by ~1 of itself. */
#define BF16_PARAMS_RTOL 1e-3

static bool mpi_usable(const char *test) {
    if (!dist_available()) {
        printf("%s: skipped: this build has no MPI (the sanitizer builds run one process)\n", test);
        return false;
    }
    if (system("command -v mpirun >/dev/null 2>&1") != 0) {
        printf("%s: skipped: mpirun not found (apt-get install openmpi-bin)\n", test);
        return false;
    }
    return true;
}

static int count_of(const char *haystack, const char *needle) {
    int n = 0;
    for (const char *p = haystack; (p = strstr(p, needle)); p += strlen(needle)) n++;
    return n;
}

#define MPIRUN "timeout 120 mpirun --allow-run-as-root --oversubscribe -np 2"

/* Every tensor of A's model.safetensors within PARAMS_RTOL of B's (or equal
 * bit for bit when exact). */
static void assert_same_weights_within(const char *dir_a, const char *dir_b, bool exact, double rtol) {
    char path_a[512], path_b[512], err[512];
    snprintf(path_a, sizeof path_a, "%s/model.safetensors", dir_a);
    snprintf(path_b, sizeof path_b, "%s/model.safetensors", dir_b);
    SafeTensors *a = safetensors_open(path_a, err, sizeof err);
    ck_assert_msg(a, "%s", err);
    SafeTensors *b = safetensors_open(path_b, err, sizeof err);
    ck_assert_msg(b, "%s", err);
    ck_assert_int_eq(safetensors_count(a), safetensors_count(b));
    double worst = 0;
    const char *worst_name = "";
    for (int i = 0; i < safetensors_count(a); i++) {
        const SafeTensorInfo *ta = safetensors_info(a, i);
        const SafeTensorInfo *tb = safetensors_find(b, ta->name);
        ck_assert_msg(tb && tb->numel == ta->numel, "%s: %s missing or of another size", path_b, ta->name);
        if (ta->dtype != ST_F32 && ta->dtype != ST_F64) continue;
        /* The attention key bias's exact gradient is 0 (it adds q·b to every
         * score of a query alike, and softmax ignores a shift,
         * docs/attention.md): what it gets is rounding noise, which AdamW
         * scales up to ±lr a step, so two sums in another order differ
         * there by design. Only an exact comparison includes it. */
        if (!exact && strstr(ta->name, "attention.self.key.bias")) continue;
        real *va = malloc(sizeof(real) * (size_t)ta->numel), *vb = malloc(sizeof(real) * (size_t)ta->numel);
        ck_assert(va && vb);
        ck_assert_msg(safetensors_read_real(a, ta->name, va, ta->ndim, ta->shape, err, sizeof err) == 0, "%s", err);
        ck_assert_msg(safetensors_read_real(b, ta->name, vb, tb->ndim, tb->shape, err, sizeof err) == 0, "%s", err);
        if (exact) ck_assert_msg(memcmp(va, vb, sizeof(real) * (size_t)ta->numel) == 0, "%s differs", ta->name);
        double diff = 0, norm = 0;
        for (int64_t k = 0; k < ta->numel; k++) {
            diff += ((double)va[k] - vb[k]) * ((double)va[k] - vb[k]);
            norm += (double)va[k] * va[k];
        }
        double rel = norm > 0 ? sqrt(diff / norm) : sqrt(diff);
        if (rel > worst) worst = rel, worst_name = ta->name;
        free(va);
        free(vb);
    }
    printf("  %s vs %s: worst relative L2 difference %.2e (%s)\n", dir_a, dir_b, worst, worst_name);
    ck_assert_msg(worst <= rtol, "%s differs by %.3g relative (> %.0e)", worst_name, worst, rtol);
    safetensors_close(a);
    safetensors_close(b);
}

static void assert_same_weights(const char *dir_a, const char *dir_b, bool exact) {
    assert_same_weights_within(dir_a, dir_b, exact, PARAMS_RTOL);
}

/* Pretraining options shared by the runs compared: a global batch of 7 (cut
 * 3 + 4 on two ranks), two micro-batches per step, dropout on. */
#define PRETRAIN_ARGS "pretrain --config %s/config.json --vocab %s/vocab.txt --corpus data/sample_corpus.txt " \
    "--batch-size 7 --grad-accum 2 --max-seq-length 32 --max-predictions 5 --eval-every 4 --eval-batches 2 " \
    "--save-every 2 --quiet"

START_TEST(pretraining_on_two_ranks_matches_one_process) {
    if (!mpi_usable("pretraining_on_two_ranks_matches_one_process")) return;
    char dir[64], log[128], one[128], two[128], resumed[128];
    tmpdir_create(dir, "mpi-pretrain");
    const char *bert = bert_program_path();
    write_sample_model_files(dir);
    snprintf(log, sizeof log, "%s/run.log", dir);
    snprintf(one, sizeof one, "%s/one", dir);
    snprintf(two, sizeof two, "%s/two", dir);
    snprintf(resumed, sizeof resumed, "%s/resumed", dir);
    ck_assert_msg(run_logged(log, "%s " PRETRAIN_ARGS " --steps 4 --out %s --threads 2", bert, dir, dir, one) == 0,
                  "%s", read_text(log));
    ck_assert_msg(run_logged(log, MPIRUN " %s " PRETRAIN_ARGS " --steps 4 --out %s", bert, dir, dir, two) == 0,
                  "%s", read_text(log));
    assert_same_weights(one, two, false);
    double loss_one = last_metric(one, "train", "loss"), loss_two = last_metric(two, "train", "loss");
    ck_assert_msg(fabs(loss_one - loss_two) <= 1e-5 * fabs(loss_one), "train loss %.9g vs %.9g", loss_one, loss_two);
    double eval_one = last_metric(one, "eval", "mlm_loss"), eval_two = last_metric(two, "eval", "mlm_loss");
    ck_assert_msg(fabs(eval_one - eval_two) <= 1e-5 * fabs(eval_one), "held-out loss %.9g vs %.9g", eval_one,
                  eval_two);

    /* Stopped at step 2 and resumed on two ranks: bit for bit the straight
     * run in the float build (checkpoints hold F32, so the double build's
     * resume rounds the weights once: within PARAMS_RTOL·1e3 there). */
    ck_assert_int_eq(run_logged(log, MPIRUN " %s " PRETRAIN_ARGS " --steps 4 --out %s --stop-at 2", bert, dir, dir,
                                resumed), 128);
    ck_assert_msg(run_logged(log, MPIRUN " %s " PRETRAIN_ARGS " --steps 4 --resume %s", bert, dir, dir, resumed) == 0,
                  "%s", read_text(log));
#ifdef BERT_DOUBLE
    assert_same_weights_within(two, resumed, false, 1e-6);
#else
    assert_same_weights(two, resumed, true);
#endif
    remove_dir_tree(dir);
}
END_TEST

START_TEST(finetuning_on_two_ranks_matches_one_process) {
    if (!mpi_usable("finetuning_on_two_ranks_matches_one_process")) return;
    char dir[64], log[128], one[128], two[128], base[128];
    tmpdir_create(dir, "mpi-finetune");
    const char *bert = bert_program_path();
    write_sample_model_files(dir);
    snprintf(log, sizeof log, "%s/run.log", dir);
    snprintf(base, sizeof base, "%s/base", dir);
    snprintf(one, sizeof one, "%s/one", dir);
    snprintf(two, sizeof two, "%s/two", dir);
    ck_assert_int_eq(run_logged(log, "%s " PRETRAIN_ARGS " --steps 2 --out %s --threads 1", bert, dir, dir, base), 0);
    /* 40 training rows in batches of 3: the last batch has 1 row, so one
     * rank's slice is empty; 12 dev rows are evaluated 6 + 6. */
    const char *args = "finetune --init %s --train tests/data/finetune_train.csv --dev tests/data/finetune_dev.csv "
                       "--text-column text --label-column label --epochs 2 --batch-size 3 --max-seq-length 32 "
                       "--log-steps 1 --lr 1e-4";
    char command[2048];
    snprintf(command, sizeof command, args, base);
    ck_assert_msg(run_logged(log, "%s %s --out %s --threads 2", bert, command, one) == 0, "%s", read_text(log));
    ck_assert_msg(run_logged(log, MPIRUN " %s %s --out %s", bert, command, two) == 0, "%s", read_text(log));
    /* Threads per rank by default: the cores shared among the ranks on this machine. */
    long cores = sysconf(_SC_NPROCESSORS_ONLN), threads = cores / 2 > 0 ? cores / 2 : 1;
    char expect[128];
    snprintf(expect, sizeof expect, "2 ranks, 2 examples of each batch per rank at most, %ld thread%s each", threads,
             threads == 1 ? "" : "s");
    char *text = read_text(log);
    ck_assert_msg(strstr(text, expect), "no '%s' in:\n%s", expect, text);
    free(text);
    assert_same_weights(one, two, false);
    double acc_one = last_metric(one, "eval", "accuracy"), acc_two = last_metric(two, "eval", "accuracy");
    ck_assert(acc_one == acc_two);
    double loss_one = last_metric(one, "eval", "loss"), loss_two = last_metric(two, "eval", "loss");
    ck_assert_msg(fabs(loss_one - loss_two) <= 1e-5 * fabs(loss_one), "dev loss %.9g vs %.9g", loss_one, loss_two);
    remove_dir_tree(dir);
}
END_TEST

/* Ranks started with different seeds: one message, from rank 0, naming
 * what differs, and no run directory written beyond its creation. */
START_TEST(ranks_that_disagree_stop_with_one_message) {
    if (!mpi_usable("ranks_that_disagree_stop_with_one_message")) return;
    char dir[64], log[128], run[128];
    tmpdir_create(dir, "mpi-disagree");
    const char *bert = bert_program_path();
    write_sample_model_files(dir);
    snprintf(log, sizeof log, "%s/run.log", dir);
    snprintf(run, sizeof run, "%s/run", dir);
    int status = run_logged(log, "timeout 120 mpirun --allow-run-as-root --oversubscribe -np 1 %s " PRETRAIN_ARGS
                            " --steps 4 --out %s --seed 1 : -np 1 %s " PRETRAIN_ARGS " --steps 4 --out %s --seed 2",
                            bert, dir, dir, run, bert, dir, dir, run);
    char *out = read_text(log);
    ck_assert_msg(status != 0 && status != 124, "exit %d:\n%s", status, out);
    ck_assert_msg(count_of(out, "bert pretrain: rank 1 and rank 0 differ in the options") == 1, "%s", out);
    ck_assert_msg(count_of(out, "bert pretrain:") == 1, "more than one message:\n%s", out);
    char path[256];
    snprintf(path, sizeof path, "%s/checkpoint-2", run);
    struct stat st;
    ck_assert_msg(stat(path, &st) != 0, "a checkpoint was written");
    free(out);
    remove_dir_tree(dir);
}
END_TEST

/* Rank 0 cannot write checkpoint 4 (its temporary directory's name is taken
 * by a file): the job ends, rather than the other rank waiting for ever, and
 * checkpoint 2 is intact. */
START_TEST(a_rank_that_fails_alone_ends_the_job) {
    if (!mpi_usable("a_rank_that_fails_alone_ends_the_job")) return;
    char dir[64], log[128], run[128], path[256];
    tmpdir_create(dir, "mpi-fail");
    const char *bert = bert_program_path();
    write_sample_model_files(dir);
    snprintf(log, sizeof log, "%s/run.log", dir);
    snprintf(run, sizeof run, "%s/run", dir);
    ck_assert_int_eq(mkdir(run, 0777), 0);
    snprintf(path, sizeof path, "%s/.checkpoint-4.tmp", run);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fclose(f);
    int status = run_logged(log, MPIRUN " %s " PRETRAIN_ARGS " --steps 6 --out %s", bert, dir, dir, run);
    char *out = read_text(log);
    ck_assert_msg(status != 0 && status != 124, "exit %d (124: it hung):\n%s", status, out);
    ck_assert_msg(strstr(out, "bert pretrain: rank 0 of 2:") && strstr(out, ".checkpoint-4.tmp"), "%s", out);
    free(out);
    char checkpoint[256];
    snprintf(checkpoint, sizeof checkpoint, "%s/checkpoint-2", run);
    snprintf(log, sizeof log, "%s/resume.log", dir);
    unlink(path);
    ck_assert_msg(run_logged(log, "%s " PRETRAIN_ARGS " --steps 6 --resume %s --threads 1", bert, dir, dir,
                             checkpoint) == 0, "%s", read_text(log));
    remove_dir_tree(dir);
}
END_TEST

/* The step of the newest checkpoint-N in run (0: none). */
static long newest_checkpoint(const char *run) {
    long newest = 0;
    DIR *d = opendir(run);
    if (!d) return 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strncmp(e->d_name, "checkpoint-", 11) == 0) {
            long step = strtol(e->d_name + 11, NULL, 10);
            if (step > newest) newest = step;
        }
    closedir(d);
    return newest;
}

/* A rank killed (kill -9) in the middle of a run: mpirun ends the job
 * (no rank is left waiting), and the newest checkpoint resumes to the end. */
START_TEST(a_killed_rank_ends_the_job_and_the_checkpoint_resumes) {
    if (!mpi_usable("a_killed_rank_ends_the_job_and_the_checkpoint_resumes")) return;
    char dir[64], log[128], run[128];
    tmpdir_create(dir, "mpi-kill");
    const char *bert = bert_program_path();
    write_sample_model_files(dir);
    snprintf(log, sizeof log, "%s/run.log", dir);
    snprintf(run, sizeof run, "%s/run", dir);
    char command[2048];
    snprintf(command, sizeof command, "exec " MPIRUN " %s " PRETRAIN_ARGS " --steps 100000 --out %s --save-every 1 "
             ">%s 2>&1", bert, dir, dir, run, log);
    pid_t mpirun = fork();
    if (mpirun == 0) {
        execl("/bin/sh", "sh", "-c", command, (char *)NULL);
        _exit(127);
    }
    /* Any checkpoint from step 3 on: with --save-every 1 and three kept,
     * checkpoint-3 itself lives for only a few steps' milliseconds. */
    for (int i = 0; i < 2400 && newest_checkpoint(run) < 3; i++) usleep(50000);
    if (newest_checkpoint(run) < 3) {
        int alive = waitpid(mpirun, NULL, WNOHANG) == 0;
        char listing[256];
        snprintf(listing, sizeof listing, "ls -la %s; ps -o pid,ppid,stat,etime,time,args --ppid %ld", run, (long)mpirun);
        if (system(listing) != 0) printf("(%s failed)\n", listing);
        if (alive) kill(mpirun, SIGKILL);
        ck_abort_msg("no checkpoint from step 3 on after two minutes (mpirun %s):\n%s", alive ? "still running" : "had ended",
                     read_text(log));
    }
    /* mpirun's children are the ranks: kill one of them */
    char pids[256] = "", query[128];
    snprintf(query, sizeof query, "pgrep -P %ld", (long)mpirun);
    FILE *p = popen(query, "r");
    ck_assert_ptr_nonnull(p);
    ck_assert_msg(fgets(pids, sizeof pids, p) != NULL, "mpirun (pid %ld) has no children", (long)mpirun);
    pclose(p);
    long rank = strtol(pids, NULL, 10);
    ck_assert_int_gt(rank, 0);
    ck_assert_int_eq(kill((pid_t)rank, SIGKILL), 0);
    int status = 0;
    for (int i = 0; i < 600 && waitpid(mpirun, &status, WNOHANG) == 0; i++) usleep(100000);
    if (waitpid(mpirun, &status, WNOHANG) == 0 && kill(mpirun, 0) == 0) {
        kill(mpirun, SIGKILL);
        ck_abort_msg("the job went on for a minute after a rank was killed");
    }
    ck_assert_msg(!(WIFEXITED(status) && WEXITSTATUS(status) == 0), "mpirun exited 0 after a rank was killed");
    /* The surviving rank, blocked in a collective with the dead one, is
     * killed by mpirun as it ends the job, possibly a moment after mpirun
     * itself returns: its lock on the run directory goes with it. */
    RunDirLock free_again;
    char err[512] = "";
    bool released = false;
    for (int i = 0; i < 300 && !released; i++) {
        released = run_dir_lock(&free_again, run, "test", err, sizeof err) == 0;
        if (!released) usleep(100000);
    }
    ck_assert_msg(released, "a rank outlived the job by 30 s: %s", err);
    run_dir_unlock(&free_again);
    /* The newest complete checkpoint continues, in one process, to a few steps on. */
    long newest = newest_checkpoint(run);
    ck_assert_int_ge(newest, 3);
    ck_assert_msg(run_logged(log, "%s " PRETRAIN_ARGS " --steps %ld --resume %s --threads 1", bert, dir, dir,
                             newest + 2, run) == 0, "%s", read_text(log));
    remove_dir_tree(dir);
}
END_TEST

/* --precision bf16 under mpirun: two ranks against one process, both bf16. */
START_TEST(bf16_pretraining_on_two_ranks_matches_one_process) {
    if (!mpi_usable("bf16_pretraining_on_two_ranks_matches_one_process")) return;
#ifndef BERT_DOUBLE
    if (!bf16_cpu_supported()) {
        printf("bf16_pretraining_on_two_ranks_matches_one_process: skipped: this CPU lacks AVX512-BF16\n");
        return;
    }
    char dir[64], log[128], one[128], two[128];
    tmpdir_create(dir, "mpi-bf16");
    const char *bert = bert_program_path();
    write_sample_model_files(dir);
    snprintf(log, sizeof log, "%s/run.log", dir);
    snprintf(one, sizeof one, "%s/one", dir);
    snprintf(two, sizeof two, "%s/two", dir);
    ck_assert_msg(run_logged(log, "%s " PRETRAIN_ARGS " --steps 4 --out %s --threads 2 --precision bf16", bert, dir,
                             dir, one) == 0, "%s", read_text(log));
    ck_assert_msg(run_logged(log, MPIRUN " %s " PRETRAIN_ARGS " --steps 4 --out %s --precision bf16", bert, dir, dir,
                             two) == 0, "%s", read_text(log));
    assert_same_weights_within(one, two, false, BF16_PARAMS_RTOL);
    remove_dir_tree(dir);
#else
    printf("bf16_pretraining_on_two_ranks_matches_one_process: skipped: bf16 is a float-build feature\n");
#endif
}
END_TEST

Suite *mpi_suite(void) {
    Suite *s = suite_create("mpi");
    TCase *tc = tcase_create("mpirun");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, pretraining_on_two_ranks_matches_one_process);
    tcase_add_test(tc, finetuning_on_two_ranks_matches_one_process);
    tcase_add_test(tc, ranks_that_disagree_stop_with_one_message);
    tcase_add_test(tc, a_rank_that_fails_alone_ends_the_job);
    tcase_add_test(tc, a_killed_rank_ends_the_job_and_the_checkpoint_resumes);
    tcase_add_test(tc, bf16_pretraining_on_two_ranks_matches_one_process);
    suite_add_tcase(s, tc);
    return s;
}
