/* test_attention_map.c — `bert attention-map` on a small saved model: the PNG
 * is written (PNG signature), and the --values dump has every row summing to
 * 1 and exactly zero weight on the [PAD] keys. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "test_util.h"
#include <stdbool.h>
#include <math.h>
#include <unistd.h>

enum { PAD_TO = 16 };

START_TEST(attention_map_draws_a_png_and_dumps_distributions) {
    char dir[] = "/tmp/bertc-attmap-XXXXXX", log[256], run[256], png[256];
    ck_assert_ptr_nonnull(mkdtemp(dir));
    write_sample_model_files(dir);
    snprintf(log, sizeof log, "%s/run.log", dir);
    snprintf(run, sizeof run, "%s/run", dir);
    snprintf(png, sizeof png, "%s/map.png", dir);
    ck_assert_msg(run_logged(log, "%s pretrain --config %s/config.json --vocab %s/vocab.txt --corpus data/sample_corpus.txt "
                                  "--batch-size 4 --max-seq-length 32 --steps 2 --quiet --threads 1 --out %s",
                             bert_program_path(), dir, dir, run) == 0, "%s", read_text(log));
    bool have_gnuplot = system("command -v gnuplot > /dev/null 2>&1") == 0;
    if (have_gnuplot) {
        ck_assert_msg(run_logged(log, "%s attention-map --model %s --text 'the cat sat on the mat.' --out %s --layer 0",
                                 bert_program_path(), run, png) == 0, "%s", read_text(log));
        FILE *f = fopen(png, "rb");
        ck_assert_ptr_nonnull(f);
        unsigned char sig[8];
        ck_assert_int_eq(fread(sig, 1, 8, f), 8);
        fclose(f);
        ck_assert_msg(memcmp(sig, "\x89PNG\r\n\x1a\n", 8) == 0, "%s is not a PNG", png);
    } else {
        printf("SKIP the PNG of attention_map_draws_a_png_and_dumps_distributions: gnuplot is not installed\n");
    }

    /* --values, padded to PAD_TO positions: NH = 2 heads of PAD_TO rows */
    ck_assert_msg(run_logged(log, "%s attention-map --model %s --text 'the cat sat on the mat.' --values --pad-to %d",
                             bert_program_path(), run, PAD_TO) == 0, "%s", read_text(log));
    char *out = read_text(log);
    int heads = 0, pads = 0;
    for (char *p = out; (p = strstr(p, "layer 1 head ")); ) {
        heads++;
        char *line = strchr(p, '\n') + 1;          /* the key tokens */
        char *end = strchr(line, '\n');
        bool is_pad[PAD_TO];
        char *tok = line;
        for (int j = 0; j < PAD_TO; j++) {
            while (*tok == ' ') tok++;
            is_pad[j] = strncmp(tok, "[PAD]", 5) == 0;
            pads += heads == 1 && is_pad[j];
            while (*tok != ' ' && tok < end) tok++;
        }
        line = end + 1;
        for (int i = 0; i < PAD_TO; i++) {
            char *q = line + 12;                      /* after the query token */
            double sum = 0;
            for (int j = 0; j < PAD_TO; j++) {
                double v = strtod(q, &q);
                sum += v;
                if (is_pad[j]) ck_assert_msg(v == 0, "head %d row %d: weight %g on padding key %d", heads - 1, i, v, j);
            }
            ck_assert_msg(fabs(sum - 1) < 2e-5, "head %d row %d sums to %.7f", heads - 1, i, sum);
            line = strchr(line, '\n') + 1;
        }
        p = line;
    }
    ck_assert_int_eq(heads, 2);
    ck_assert_msg(pads >= 3, "expected [PAD] keys in the dump:\n%s", out);
    free(out);
    remove_dir_tree(dir);
}
END_TEST

START_TEST(attention_map_needs_a_model) {
    char log[] = "/tmp/bertc-attmap-log-XXXXXX";
    int fd = mkstemp(log);
    ck_assert_int_ge(fd, 0);
    close(fd);
    ck_assert_int_eq(run_logged(log, "%s attention-map --text x --values", bert_program_path()), 2);
    char *out = read_text(log);
    ck_assert_msg(strstr(out, "--model"), "%s", out);
    free(out);
    unlink(log);
}
END_TEST

Suite *attention_map_suite(void) {
    Suite *s = suite_create("attention_map");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, attention_map_draws_a_png_and_dumps_distributions);
    tcase_add_test(tc, attention_map_needs_a_model);
    suite_add_tcase(s, tc);
    return s;
}
