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

/* A 2-step model of the sample files in a new directory dir (a mkdtemp
 * template), its log in log and the model in run; initializer_range > 0
 * replaces the config's 0.02. */
static void pretrain_sample_model(char *dir, char *log, char *run, double initializer_range) {
    ck_assert_ptr_nonnull(mkdtemp(dir));
    write_sample_model_files(dir);
    snprintf(log, 256, "%s/run.log", dir);
    snprintf(run, 256, "%s/run", dir);
    if (initializer_range > 0) {
        char path[256];
        snprintf(path, sizeof path, "%s/config.json", dir);
        FILE *f = fopen(path, "w");
        ck_assert_ptr_nonnull(f);
        fprintf(f, "{\"vocab_size\": 400, \"hidden_size\": 32, \"num_hidden_layers\": 2, \"num_attention_heads\": 2,"
                   " \"intermediate_size\": 64, \"max_position_embeddings\": 64, \"initializer_range\": %g}\n",
                initializer_range);
        fclose(f);
    }
    ck_assert_msg(run_logged(log, "%s pretrain --config %s/config.json --vocab %s/vocab.txt --corpus data/sample_corpus.txt "
                                  "--batch-size 4 --max-seq-length 32 --steps 2 --quiet --threads 1 --out %s",
                             bert_program_path(), dir, dir, run) == 0, "%s", read_text(log));
}

START_TEST(attention_map_draws_a_png_and_dumps_distributions) {
    char dir[] = "/tmp/bertc-attmap-XXXXXX", log[256], run[256], png[256];
    pretrain_sample_model(dir, log, run, 0);
    snprintf(png, sizeof png, "%s/map.png", dir);
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

/* The head-distance summary of a one-row file against the distance this
 * test computes itself from the --values dump of the same text (printed to
 * 6 decimals, hence the tolerance): √JSD with log₂, averaged over the query
 * rows, for the 2 heads of layer 1. */
static double js_from_dump(const char *dump, int layer) {
    char want[64];
    snprintf(want, sizeof want, "layer %d head 0", layer);
    const char *p = strstr(dump, want);
    ck_assert_ptr_nonnull(p);
    const char *tokens_line = strchr(p, '\n') + 1, *end = strchr(tokens_line, '\n');
    int T = 0;
    for (const char *t = tokens_line; t < end; ) {
        while (t < end && *t == ' ') t++;
        if (t < end) T++;
        while (t < end && *t != ' ') t++;
    }
    ck_assert_int_le(T, 32);
    double probs[2][32][32];
    for (int h = 0; h < 2; h++) {
        snprintf(want, sizeof want, "layer %d head %d", layer, h);
        const char *line = strchr(strchr(strstr(dump, want), '\n') + 1, '\n') + 1;
        for (int i = 0; i < T; i++) {
            char *q = (char *)line + 12;
            for (int j = 0; j < T; j++) probs[h][i][j] = strtod(q, &q);
            line = strchr(line, '\n') + 1;
        }
    }
    double sum = 0;
    for (int i = 0; i < T; i++) {
        double d = 0;
        for (int j = 0; j < T; j++) {
            double a = probs[0][i][j], b = probs[1][i][j], m = (a + b) / 2;
            if (a > 0) d += a / 2 * log2(a / m);
            if (b > 0) d += b / 2 * log2(b / m);
        }
        sum += sqrt(d > 0 ? d : 0);
    }
    return sum / T;
}

START_TEST(attention_map_head_distance_matches_the_dump) {
    char dir[] = "/tmp/bertc-attmap-XXXXXX", log[256], run[256], csv[256];
    /* weights drawn wide (std 0.5, not 0.02), so the heads' attention is
     * peaked and differs: a fresh BERT's heads are all nearly uniform */
    pretrain_sample_model(dir, log, run, 0.5);
    snprintf(csv, sizeof csv, "%s/texts.csv", dir);
    FILE *f = fopen(csv, "w");
    ck_assert_ptr_nonnull(f);
    fputs("id,sentence\n1,\"the cat sat on the mat, and slept.\"\n", f);
    fclose(f);
    double want[2];
    for (int layer = 0; layer < 2; layer++) {
        ck_assert_msg(run_logged(log, "%s attention-map --model %s --text 'the cat sat on the mat, and slept.' --values --layer %d",
                                 bert_program_path(), run, layer) == 0, "%s", read_text(log));
        char *dump = read_text(log);
        want[layer] = js_from_dump(dump, layer);
        free(dump);
    }
    double want0 = want[0], want1 = want[1];
    ck_assert_msg(run_logged(log, "%s attention-map --model %s --head-distance %s --text-column sentence",
                             bert_program_path(), run, csv) == 0, "%s", read_text(log));
    char *out = read_text(log);
    const char *l0 = strstr(out, "layer 0: "), *l1 = strstr(out, "layer 1: "), *all = strstr(out, "all layers: ");
    ck_assert_msg(l0 && l1 && all, "%s", out);
    double got0 = strtod(l0 + 9, NULL), got1 = strtod(l1 + 9, NULL), got_all = strtod(all + 12, NULL);
    ck_assert_msg(want0 > 0.01 && want1 > 0.01, "heads identical? %g %g", want0, want1);
    ck_assert_msg(fabs(got0 - want0) < 2e-3 && fabs(got1 - want1) < 2e-3,
                  "layer 0 %.4f (dump: %.4f), layer 1 %.4f (dump: %.4f)\n%s", got0, want0, got1, want1, out);
    ck_assert_msg(fabs(got_all - (got0 + got1) / 2) < 2e-4, "%s", out);
    free(out);

    /* a column that is not there, and --text with --head-distance */
    ck_assert_int_eq(run_logged(log, "%s attention-map --model %s --head-distance %s", bert_program_path(), run, csv), 1);
    out = read_text(log);
    ck_assert_msg(strstr(out, csv) && strstr(out, "no column named 'text'"), "%s", out);
    free(out);
    ck_assert_int_eq(run_logged(log, "%s attention-map --model %s --head-distance %s --text x", bert_program_path(), run, csv), 2);
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
    tcase_add_test(tc, attention_map_head_distance_matches_the_dump);
    tcase_add_test(tc, attention_map_needs_a_model);
    suite_add_tcase(s, tc);
    return s;
}
