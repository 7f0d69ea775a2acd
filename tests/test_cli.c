/* test_cli.c — the `bert` program as a user runs it: help, wrong flags, exit
 * statuses, and `bert plot`. Runs the bert built beside this test binary. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <libgen.h>
#include <limits.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <signal.h>
#include "test_util.h"
#include "train/classify.h"
#include "io/fileio.h"

/* Runs "bert ARGS" (stdout and stderr captured into out), returns its exit status. */
static int run_bert(const char *args, char *out, size_t out_len) {
    char command[PATH_MAX + 1024];
    snprintf(command, sizeof command, "%s %s 2>&1", bert_program_path(), args);
    FILE *p = popen(command, "r");
    ck_assert_ptr_nonnull(p);
    size_t len = fread(out, 1, out_len - 1, p);
    out[len] = 0;
    int status = pclose(p);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

START_TEST(cli_help_and_unknown_commands) {
    char out[1 << 14];
    ck_assert_int_eq(run_bert("--help", out, sizeof out), 0);
    ck_assert_msg(strstr(out, "pretrain") && strstr(out, "gradcheck"), "%s", out);
    ck_assert_int_eq(run_bert("no-such-command", out, sizeof out), 2);
    ck_assert_msg(strstr(out, "unknown command 'no-such-command'"), "%s", out);
    ck_assert_int_eq(run_bert("pretrain --help", out, sizeof out), 0);
    ck_assert_msg(strstr(out, "--steps") && strstr(out, "(default 10000)"), "%s", out);
}
END_TEST

START_TEST(cli_wrong_flags_exit_2_with_one_message) {
    char out[1 << 14];
    ck_assert_int_eq(run_bert("pretrain --bogus", out, sizeof out), 2);
    ck_assert_msg(strstr(out, "unknown option '--bogus'"), "%s", out);
    ck_assert_int_eq(run_bert("pretrain --steps ten", out, sizeof out), 2);
    ck_assert_msg(strstr(out, "--steps takes a whole number, not 'ten'"), "%s", out);
    ck_assert_int_eq(run_bert("pretrain --steps", out, sizeof out), 2);
    ck_assert_msg(strstr(out, "--steps needs a value"), "%s", out);
    ck_assert_int_eq(run_bert("pretrain --steps 5", out, sizeof out), 2);
    ck_assert_msg(strstr(out, "need --config"), "%s", out);
    ck_assert_int_eq(run_bert("gradcheck --layer nonsense", out, sizeof out), 2);
}
END_TEST

START_TEST(cli_pretrain_reports_a_missing_config) {
    char out[1 << 14];
    ck_assert_int_eq(run_bert("pretrain --config /nonexistent/c.json --vocab tests/data/tiny_vocab.txt "
                              "--corpus tests/data/vocab_corpus.txt --out /tmp/bertc-cli-unused --steps 1",
                              out, sizeof out), 1);
    ck_assert_msg(strstr(out, "/nonexistent/c.json"), "%s", out);
}
END_TEST

START_TEST(cli_gradcheck_one_layer_prints_a_passing_table) {
    char out[1 << 14];
    ck_assert_int_eq(run_bert("gradcheck --layer softmax", out, sizeof out), 0);
    ck_assert_msg(strstr(out, "softmax: input") && strstr(out, " ok"), "%s", out);
    ck_assert_msg(strstr(out, "1 tensors checked, 0 failed"), "%s", out);
}
END_TEST

START_TEST(cli_plot_draws_a_png) {
    if (system("command -v gnuplot > /dev/null 2>&1") != 0) {
        printf("SKIP cli_plot_draws_a_png: gnuplot is not installed (apt-get install gnuplot-nox)\n");
        return;
    }
    char dir[] = "/tmp/bertc-plot-XXXXXX", path[128], out[1 << 14];
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/metrics.jsonl", dir);
    FILE *f = fopen(path, "w");
    for (int step = 1; step <= 20; step++)
        fprintf(f, "{\"split\": \"train\", \"step\": %d, \"loss\": %g, \"mlm_acc\": %g}\n", step, 10.0 / step, step / 40.0);
    fprintf(f, "{\"split\": \"eval\", \"step\": 20, \"mlm_loss\": 0.9, \"mlm_acc\": 0.45}\n");
    fclose(f);
    char args[256];
    snprintf(args, sizeof args, "plot %s", dir);
    ck_assert_int_eq(run_bert(args, out, sizeof out), 0);
    snprintf(path, sizeof path, "%s/curves.png", dir);
    FILE *png = fopen(path, "rb");
    ck_assert_ptr_nonnull(png);
    unsigned char magic[8] = { 0 };
    ck_assert_int_eq(fread(magic, 1, 8, png), 8);
    fclose(png);
    ck_assert(memcmp(magic, "\x89PNG\r\n\x1a\n", 8) == 0);
    ck_assert_msg(strstr(out, "(21 records, 4 curves)"), "%s", out);
    remove(path);
    /* Two runs on one plot, one field: each run's train and eval mlm_acc. */
    snprintf(args, sizeof args, "plot %s %s --out %s/both.png --fields mlm_acc", dir, dir, dir);
    ck_assert_int_eq(run_bert(args, out, sizeof out), 0);
    ck_assert_msg(strstr(out, "(42 records, 2 curves)"), "%s", out);   /* the same name twice: one legend entry each */
    snprintf(path, sizeof path, "%s/both.png", dir);
    ck_assert_int_eq(remove(path), 0);
    snprintf(args, sizeof args, "plot %s %s", dir, dir);
    ck_assert_int_eq(run_bert(args, out, sizeof out), 2);
    ck_assert_msg(strstr(out, "with several runs, say where the PNG goes: --out FILE"), "%s", out);
    snprintf(args, sizeof args, "plot %s --fields nothing_here", dir);
    ck_assert_int_eq(run_bert(args, out, sizeof out), 1);
    ck_assert_msg(strstr(out, "one of --fields"), "%s", out);
    snprintf(path, sizeof path, "%s/metrics.jsonl", dir);
    remove(path);
    rmdir(dir);
    snprintf(args, sizeof args, "plot /nonexistent-run");
    ck_assert_int_eq(run_bert(args, out, sizeof out), 1);
    ck_assert_msg(strstr(out, "/nonexistent-run/metrics.jsonl"), "%s", out);
}
END_TEST

/* Ctrl-C during pretraining: the run saves a checkpoint after the current
 * step, says how to resume, and exits with 128 + SIGINT; --resume continues. */
START_TEST(cli_pretrain_saves_a_checkpoint_on_sigint) {
    char dir[] = "/tmp/bertc-sigint-XXXXXX", path[512], out[1 << 14];
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/config.json", dir);
    FILE *f = fopen(path, "w");
    fprintf(f, "{\"vocab_size\": 23, \"hidden_size\": 16, \"num_hidden_layers\": 1, \"num_attention_heads\": 2,"
               " \"intermediate_size\": 32, \"max_position_embeddings\": 32}\n");
    fclose(f);
    snprintf(path, sizeof path, "%s/corpus.txt", dir);
    f = fopen(path, "w");
    for (int doc = 0; doc < 6; doc++) fprintf(f, "hello world!\na cafe, un x y i\nhello hello worlds\n\n");
    fclose(f);
    char bert[PATH_MAX + 8], config[300], corpus[300], run[300];
    snprintf(bert, sizeof bert, "%s", bert_program_path());
    snprintf(config, sizeof config, "%s/config.json", dir);
    snprintf(corpus, sizeof corpus, "%s/corpus.txt", dir);
    snprintf(run, sizeof run, "%s/run", dir);
    pid_t pid = fork();
    if (pid == 0) {
        freopen("/dev/null", "w", stderr);
        execl(bert, bert, "pretrain", "--config", config, "--vocab", "tests/data/tiny_vocab.txt", "--corpus", corpus,
              "--out", run, "--steps", "100000000", "--batch-size", "2", "--max-seq-length", "16",
              "--max-predictions", "2", "--save-every", "0", "--eval-fraction", "0", "--threads", "1", (char *)NULL);
        _exit(127);
    }
    /* wait until the run has finished a step */
    snprintf(path, sizeof path, "%s/metrics.jsonl", run);
    struct stat st;
    for (int i = 0; i < 600 && (stat(path, &st) != 0 || st.st_size == 0); i++) usleep(100000);
    ck_assert_msg(stat(path, &st) == 0 && st.st_size > 0, "pretraining never finished a step");
    kill(pid, SIGINT);
    int status = 0;
    waitpid(pid, &status, 0);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 128 + SIGINT, "status %d", status);
    /* a complete checkpoint, and no half-written temporary one */
    char args[1200];
    snprintf(args, sizeof args, "pretrain --config %s --vocab tests/data/tiny_vocab.txt --corpus %s --resume %s "
             "--steps 1 --batch-size 2 --max-seq-length 16 --max-predictions 2 --eval-fraction 0 --threads 1",
             config, corpus, run);
    /* The checkpoint loads (model and optimizer state); the run went past
     * step 1, so --steps 1 is refused, naming the step it is at. */
    ck_assert_int_eq(run_bert(args, out, sizeof out), 1);
    ck_assert_msg(strstr(out, "the run being resumed is at step") && strstr(out, "past --steps 1"), "%s", out);
    snprintf(args, sizeof args, "rm -rf %s", dir);
    ck_assert_int_eq(system(args), 0);
}
END_TEST

START_TEST(cli_demo_runs_end_to_end_on_the_samples) {
    /* data/demo.sh --sample with tiny budgets, into a temporary directory,
     * with the bert beside this test: every step runs and the final table
     * has all four fine-tuned rows. (make demo runs the full WordNet one.) */
    char dir[] = "/tmp/bertc-demo-XXXXXX", command[2 * PATH_MAX], path[PATH_MAX];
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(command, sizeof command,
             "DEMO_OUT=%s/out DEMO_BERT=%s DEMO_PRETRAIN_STEPS=6 DEMO_EPOCHS=1 DEMO_FEW_EPOCHS=2 "
             "DEMO_THREADS=1 sh data/demo.sh --sample > %s/log 2>&1", dir, bert_program_path(), dir);
    int status = system(command);
    snprintf(path, sizeof path, "%s/log", dir);
    char *log, err[512];
    size_t log_len;
    ck_assert_msg(read_whole_file(path, &log, &log_len, err, sizeof err) == 0, "%s", err);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "demo failed:\n%s", log);
    ck_assert_msg(strstr(log, "=== 6/6 both again with 32 labelled rows"), "%s", log);
    ck_assert_msg(strstr(log, "all 320 labelled rows, 1 epochs:"), "%s", log);
    ck_assert_msg(strstr(log, "a tenth of them, 32 rows, 2 epochs:"), "%s", log);
    const char *rows[] = { "pretrained (6 steps), fine-tuned ", "from scratch, fine-tuned ",
                           "pretrained, fine-tuned ", "from scratch, fine-tuned " };
    const char *at = log;
    for (int i = 0; i < 4; i++) {
        at = strstr(at, rows[i]);
        ck_assert_msg(at != NULL, "no row '%s' in order:\n%s", rows[i], log);
        double accuracy = -1, f1 = -1;
        ck_assert(sscanf(at + strlen(rows[i]), "%lf %lf", &accuracy, &f1) == 2);
        ck_assert(accuracy >= 0 && accuracy <= 1 && f1 >= 0 && f1 <= 1);
        at++;
    }
    /* the printout says what the pretraining was, with its held-out figures */
    ck_assert_msg(strstr(log, "Pretraining: masked LM on data/sample_corpus.txt") &&
                  strstr(log, "6 steps of 32 x 64 tokens, lr 5e-4, --no-nsp --dropout 0") &&
                  strstr(log, "held-out MLM accuracy 0.") && strstr(log, "context-free floor 0."), "%s", log);
    const char *files[] = { "pretrain/model.safetensors", "finetune-pretrained/eval_report.json",
                            "finetune-scratch/eval_report.json", "few-pretrained/eval_report.json",
                            "few-scratch/eval_report.json" };
    for (int i = 0; i < 5; i++) {
        struct stat st;
        snprintf(path, sizeof path, "%s/out/%s", dir, files[i]);
        ck_assert_msg(stat(path, &st) == 0, "%s missing", path);
    }
    free(log);
    snprintf(command, sizeof command, "rm -rf %s", dir);
    ck_assert(system(command) == 0);
}
END_TEST


/* An integer option is a long cast to int: out-of-range values must not wrap. */
START_TEST(cli_integer_options_are_range_checked) {
    char out[1 << 14];
    ck_assert_int_eq(run_bert("pretrain --batch-size 4294967298", out, sizeof out), 2);
    ck_assert_msg(strstr(out, "option --batch-size must be in 1..2147483647, not '4294967298'"), "%s", out);
    ck_assert_int_eq(run_bert("pretrain --threads -3", out, sizeof out), 2);
    ck_assert_msg(strstr(out, "option --threads must be in 0..1024, not '-3'"), "%s", out);
    ck_assert_int_eq(run_bert("pretrain --steps 99999999999999999999", out, sizeof out), 2);
    ck_assert_msg(strstr(out, "option --steps must be in 1..2147483647"), "%s", out);
    ck_assert_int_eq(run_bert("eval --model m --data d --batch-size 0", out, sizeof out), 2);
    ck_assert_msg(strstr(out, "bert eval: option --batch-size must be in 1..2147483647, not '0'"), "%s", out);
    ck_assert_int_eq(run_bert("predict --model m --input d --threads 4294967297", out, sizeof out), 2);
    ck_assert_msg(strstr(out, "option --threads must be in 0..1024"), "%s", out);
    ck_assert_int_eq(run_bert("finetune --train t --text-column a --label-column b --epochs 4294967297", out, sizeof out), 2);
    ck_assert_msg(strstr(out, "option --epochs must be in 1..2147483647"), "%s", out);
    ck_assert_int_eq(run_bert("vocab --corpus c --out o --size 4294967298", out, sizeof out), 2);
    ck_assert_msg(strstr(out, "--size must be an integer in 1..100000000, got '4294967298'"), "%s", out);
    ck_assert_int_eq(run_bert("bench-tokenizer --vocab v --corpus c --threads 4294967298", out, sizeof out), 2);
    ck_assert_msg(strstr(out, "unknown or incomplete option '--threads'"), "%s", out);
    ck_assert_int_eq(run_bert("pretrain --warmup -1 --seed 1099511627776", out, sizeof out), 2);
    ck_assert_msg(strstr(out, "need --config"), "%s", out);   /* in range: on to the next check */
    /* --stop-at's exit status is documented */
    ck_assert_int_eq(run_bert("pretrain --help", out, sizeof out), 0);
    ck_assert_msg(strstr(out, "128 when it stopped at --stop-at"), "%s", out);
}
END_TEST


/* Runs the shell command line "BERT ARGS" with ARGS holding its own
 * redirections; returns the exit status. */
static int run_bert_redirected(const char *args) {
    char command[PATH_MAX + 1024];
    snprintf(command, sizeof command, "%s %s", bert_program_path(), args);
    int status = system(command);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* Output that could not be written is an error: stdout on /dev/full. */
START_TEST(cli_stdout_write_errors_exit_1) {
    char log[] = "/tmp/bertc-stdout-XXXXXX", args[256], *text;
    int fd = mkstemp(log);
    ck_assert_int_ge(fd, 0);
    close(fd);
    size_t len;
    char err[256];
    snprintf(args, sizeof args, "--help > /dev/full 2> %s", log);
    ck_assert_int_eq(run_bert_redirected(args), 1);
    ck_assert_int_eq(read_whole_file(log, &text, &len, err, sizeof err), 0);
    ck_assert_msg(strstr(text, "bert: error writing to standard output: No space left on device"), "%s", text);
    free(text);
    snprintf(args, sizeof args, "eval --help > /dev/full 2> %s", log);
    ck_assert_int_eq(run_bert_redirected(args), 1);
    snprintf(args, sizeof args, "tokenize --vocab tests/data/tiny_vocab.txt --ids < tests/data/vocab_corpus.txt "
             "> /dev/full 2> %s", log);
    ck_assert_int_eq(run_bert_redirected(args), 1);
    ck_assert_int_eq(run_bert_redirected("--help > /dev/null"), 0);
    unlink(log);
}
END_TEST


/* bert vocab --out through a symlink writes the file it points to. */
START_TEST(cli_vocab_out_keeps_a_symlink) {
    char dir[] = "/tmp/bertc-vocab-link-XXXXXX", target[128], link_path[128], args[512], out[1 << 14];
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(target, sizeof target, "%s/real-vocab.txt", dir);
    snprintf(link_path, sizeof link_path, "%s/vocab.txt", dir);
    ck_assert_int_eq(symlink("real-vocab.txt", link_path), 0);
    snprintf(args, sizeof args, "vocab --corpus tests/data/vocab_corpus.txt --size 120 --quiet --out %s", link_path);
    ck_assert_int_eq(run_bert(args, out, sizeof out), 0);
    struct stat st;
    ck_assert_int_eq(lstat(link_path, &st), 0);
    ck_assert_msg(S_ISLNK(st.st_mode), "the symlink was replaced");
    ck_assert_int_eq(stat(target, &st), 0);
    ck_assert(S_ISREG(st.st_mode) && st.st_size > 0);
    snprintf(args, sizeof args, "vocab --corpus tests/data/vocab_corpus.txt --size 120 --quiet --out /dev/null");
    ck_assert_int_eq(run_bert(args, out, sizeof out), 0);
    ck_assert_int_eq(stat("/dev/null", &st), 0);
    ck_assert(S_ISCHR(st.st_mode));
    unlink(link_path);
    unlink(target);
    rmdir(dir);
}
END_TEST

/* Pretraining builds sentence pairs: a config with one token type is refused
 * at the start, naming the file, not indexed past its table later. */
START_TEST(cli_pretrain_refuses_one_token_type) {
    char out[1 << 14], config[64], args[512];
    const char *one_type = "{\"vocab_size\": 23, \"hidden_size\": 16, \"num_hidden_layers\": 1, "
                           "\"num_attention_heads\": 2, \"intermediate_size\": 32, "
                           "\"max_position_embeddings\": 32, \"type_vocab_size\": 1}";
    write_temp_file(config, one_type, strlen(one_type), ".json");
    snprintf(args, sizeof args, "pretrain --config %s --vocab tests/data/tiny_vocab.txt "
             "--corpus tests/data/vocab_corpus.txt --out /tmp/bertc-cli-unused --steps 1 --max-seq-length 32", config);
    ck_assert_int_eq(run_bert(args, out, sizeof out), 1);
    ck_assert_msg(strstr(out, config) && strstr(out, "type_vocab_size 1: pretraining builds sentence pairs"), "%s", out);
    /* masked LM only builds no pairs: one token type is enough */
    char dir[] = "/tmp/bertc-cli-nsp-XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(args, sizeof args, "pretrain --config %s --vocab tests/data/tiny_vocab.txt --corpus "
             "tests/data/vocab_corpus.txt --out %s/run --steps 1 --max-seq-length 32 --no-nsp --threads 1", config, dir);
    ck_assert_msg(run_bert(args, out, sizeof out) == 0, "%s", out);
    ck_assert_msg(strstr(out, "masked LM only"), "%s", out);
    remove_dir_tree(dir);
    unlink(config);
}
END_TEST

/* --no-nsp against a weight, corpus weights that are no weights, and
 * --time-budget's range: one message each, exit 2 (or 1 for a missing file). */
START_TEST(cli_pretrain_new_flags_are_checked) {
    char out[1 << 14], config[64];
    const char *tiny = "{\"vocab_size\": 23, \"hidden_size\": 16, \"num_hidden_layers\": 1, "
                       "\"num_attention_heads\": 2, \"intermediate_size\": 32, \"max_position_embeddings\": 32}";
    write_temp_file(config, tiny, strlen(tiny), ".json");
    char common[256], args[1024];
    snprintf(common, sizeof common, "pretrain --config %s --vocab tests/data/tiny_vocab.txt --out "
             "/tmp/bertc-cli-unused --steps 1 --max-seq-length 32", config);
    snprintf(args, sizeof args, "%s --corpus tests/data/vocab_corpus.txt --no-nsp --nsp-weight 0.5", common);
    ck_assert_int_eq(run_bert(args, out, sizeof out), 2);
    ck_assert_msg(strstr(out, "--no-nsp and --nsp-weight 0.5 disagree"), "%s", out);
    snprintf(args, sizeof args, "%s --corpus tests/data/vocab_corpus.txt:0", common);
    ck_assert_int_eq(run_bert(args, out, sizeof out), 2);
    ck_assert_msg(strstr(out, "tests/data/vocab_corpus.txt:0: the weight 0 must be a number above 0"), "%s", out);
    snprintf(args, sizeof args, "%s --corpus tests/data/no-such-corpus.txt:2", common);
    ck_assert_int_eq(run_bert(args, out, sizeof out), 1);
    ck_assert_msg(strstr(out, "tests/data/no-such-corpus.txt") && strstr(out, "cannot open"), "%s", out);
    snprintf(args, sizeof args, "%s --corpus tests/data/vocab_corpus.txt:two", common);
    ck_assert_int_eq(run_bert(args, out, sizeof out), 1);
    ck_assert_msg(strstr(out, "tests/data/vocab_corpus.txt:two") && strstr(out, "cannot open"), "%s", out);
    snprintf(args, sizeof args, "%s --corpus tests/data/vocab_corpus.txt --time-budget -3", common);
    ck_assert_int_eq(run_bert(args, out, sizeof out), 1);
    ck_assert_msg(strstr(out, "--time-budget must be a positive number of minutes"), "%s", out);
    unlink(config);
}
END_TEST

/* Without --lr, fine-tuning from scratch uses FINETUNE_LR_SCRATCH and from a
 * model FINETUNE_LR_PRETRAINED: the same schedule (10 steps, one of warmup,
 * so the largest rate logged is 8/9 of the peak) at rates in their ratio. */
START_TEST(cli_finetune_default_lr_depends_on_the_start) {
    char dir[] = "/tmp/bertc-cli-lr-XXXXXX", log[128];
    ck_assert_ptr_nonnull(mkdtemp(dir));
    write_sample_model_files(dir);
    snprintf(log, sizeof log, "%s/log", dir);
    const char *data = "--train data/sample_classification.csv --dev data/sample_classification_dev.csv "
                       "--text-column text --label-column label --epochs 1 --batch-size 32 --max-seq-length 32 "
                       "--log-steps 1 --threads 1";
    ck_assert_msg(run_logged(log, "%s finetune --from-scratch --config %s/config.json --vocab %s/vocab.txt %s --out %s/s",
                             bert_program_path(), dir, dir, data, dir) == 0, "%s", read_text(log));
    char run[128];
    snprintf(run, sizeof run, "%s/s", dir);
    double scratch_peak = best_metric(run, "train", "lr");
    ck_assert_msg(scratch_peak > 0.8 * FINETUNE_LR_SCRATCH && scratch_peak <= FINETUNE_LR_SCRATCH,
                  "from scratch: largest lr %g", scratch_peak);
    ck_assert_msg(run_logged(log, "%s finetune --init %s/s %s --out %s/p", bert_program_path(), dir, data, dir) == 0,
                  "%s", read_text(log));
    snprintf(run, sizeof run, "%s/p", dir);
    double pretrained_peak = best_metric(run, "train", "lr");
    double ratio = FINETUNE_LR_SCRATCH / FINETUNE_LR_PRETRAINED;
    ck_assert_msg(fabs(scratch_peak / pretrained_peak - ratio) < 1e-3 * ratio, "from a model: largest lr %g, from "
                  "scratch %g", pretrained_peak, scratch_peak);
    remove_dir_tree(dir);
}
END_TEST

Suite *cli_suite(void) {
    Suite *s = suite_create("cli");
    TCase *tc = tcase_create("bert");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, cli_help_and_unknown_commands);
    tcase_add_test(tc, cli_wrong_flags_exit_2_with_one_message);
    tcase_add_test(tc, cli_pretrain_reports_a_missing_config);
    tcase_add_test(tc, cli_pretrain_refuses_one_token_type);
    tcase_add_test(tc, cli_gradcheck_one_layer_prints_a_passing_table);
    tcase_add_test(tc, cli_plot_draws_a_png);
    tcase_add_test(tc, cli_pretrain_saves_a_checkpoint_on_sigint);
    tcase_add_test(tc, cli_demo_runs_end_to_end_on_the_samples);
    tcase_add_test(tc, cli_integer_options_are_range_checked);
    tcase_add_test(tc, cli_stdout_write_errors_exit_1);
    tcase_add_test(tc, cli_vocab_out_keeps_a_symlink);
    tcase_add_test(tc, cli_pretrain_new_flags_are_checked);
    tcase_add_test(tc, cli_finetune_default_lr_depends_on_the_start);
    suite_add_tcase(s, tc);
    return s;
}
