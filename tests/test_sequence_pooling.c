/* test_sequence_pooling.c — mean and max pooling over the real tokens (the
 * classifier's input with `bert finetune --pooling mean|max`): values, ties
 * and padding by hand, gradient checks (the layer and the whole model;
 * tolerance 1e-6 in double, 5e-2 in float), and a mean-pooled model that
 * `bert eval` reads back with the accuracy fine-tuning measured. */
#include <math.h>
#include <string.h>
#include <cJSON.h>
#include "test_util.h"
#include "tmpdir.h"
#include "layers/sequence_pooling.h"

/* B = 2, T = 3, C = 2; the second sequence's last position is padding. */
static const real pool_inp[12] = { 1, -4,   3, 2,   -1, 2,     /* sequence 0 */
                                   5, 1,    7, 1,   100, 100 }; /* sequence 1, last = padding */
static const int pool_mask[6] = { 1, 1, 1, 1, 1, 0 };

START_TEST(mean_pooling_by_hand) {
    real out[4], d[12] = { 0 }, g[4] = { 3, 6, 2, 4 };
    sequence_pooling_mean_forward(out, pool_inp, pool_mask, 2, 3, 2);
    ck_assert_near(out[0], 1, REAL_TOL);          /* (1 + 3 − 1) / 3 */
    ck_assert_near(out[1], 0, REAL_TOL);          /* (−4 + 2 + 2) / 3 */
    ck_assert_near(out[2], 6, REAL_TOL);          /* (5 + 7) / 2: padding not counted */
    ck_assert_near(out[3], 1, REAL_TOL);
    sequence_pooling_mean_backward(d, g, pool_mask, 2, 3, 2);
    for (int t = 0; t < 3; t++) {
        ck_assert_near(d[t * 2], 1, REAL_TOL);
        ck_assert_near(d[t * 2 + 1], 2, REAL_TOL);
    }
    ck_assert_near(d[6], 1, REAL_TOL);
    ck_assert_near(d[9], 2, REAL_TOL);
    ck_assert(d[10] == 0 && d[11] == 0);          /* padding gets no gradient */
}
END_TEST

START_TEST(max_pooling_by_hand_with_a_tie) {
    real out[4], d[12] = { 0 }, g[4] = { 3, 6, 2, 4 };
    int argmax[4];
    sequence_pooling_max_forward(out, argmax, pool_inp, pool_mask, 2, 3, 2);
    ck_assert(out[0] == 3 && argmax[0] == 1);
    ck_assert(out[1] == 2 && argmax[1] == 1);     /* tie between t = 1 and t = 2: the first */
    ck_assert(out[2] == 7 && argmax[2] == 1);
    ck_assert(out[3] == 1 && argmax[3] == 0);     /* tie again; the padding's 100 is not a token */
    sequence_pooling_max_backward(d, g, argmax, 2, 3, 2);
    const real want[12] = { 0, 0, 3, 6, 0, 0, 0, 4, 2, 0, 0, 0 };
    for (int i = 0; i < 12; i++) ck_assert_msg(d[i] == want[i], "d[%d] = %g", i, (double)d[i]);
}
END_TEST

START_TEST(a_sequence_without_tokens_pools_to_zero) {
    const int none[3] = { 0, 0, 0 };
    real out[2], d[6] = { 0 }, g[2] = { 1, 1 };
    int argmax[2];
    sequence_pooling_mean_forward(out, pool_inp, none, 1, 3, 2);
    ck_assert(out[0] == 0 && out[1] == 0);
    sequence_pooling_max_forward(out, argmax, pool_inp, none, 1, 3, 2);
    ck_assert(out[0] == 0 && out[1] == 0 && argmax[0] == -1);
    sequence_pooling_max_backward(d, g, argmax, 1, 3, 2);
    sequence_pooling_mean_backward(d, g, none, 1, 3, 2);
    for (int i = 0; i < 6; i++) ck_assert(d[i] == 0);
}
END_TEST

START_TEST(sequence_pooling_gradchecks) {
    assert_gradcheck_passes("sequence_pooling_mean");
    assert_gradcheck_passes("sequence_pooling_max");
}
END_TEST

START_TEST(model_pooling_gradchecks) {
    assert_gradcheck_passes("model_mean_pooling");
    assert_gradcheck_passes("model_max_pooling");
}
END_TEST

static double eval_accuracy(const char *log, const char *model, const char *data) {
    ck_assert_msg(run_logged(log, "%s eval --model %s --data %s --json 2>/dev/null", bert_program_path(), model,
                             data) == 0, "%s", read_text(log));
    char *json = read_text(log);
    cJSON *report = cJSON_Parse(json);
    const cJSON *acc = cJSON_GetObjectItemCaseSensitive(report, "accuracy");
    ck_assert_msg(cJSON_IsNumber(acc), "%s", json);
    double a = acc->valuedouble;
    cJSON_Delete(report);
    free(json);
    return a;
}

/* Fine-tune with --pooling mean: the saved config says so (with the
 * bert_c_only note), `bert eval` reproduces the dev accuracy fine-tuning
 * recorded, and the same weights read through the pooler (the config
 * edited back to cls) score differently, so eval did use the mean. */
START_TEST(eval_of_a_mean_pooled_model_reproduces_finetune) {
    char dir[64], log[128], out[128], path[160];
    tmpdir_create(dir, "pooling");
    write_sample_model_files(dir);
    snprintf(log, sizeof log, "%s/run.log", dir);
    snprintf(out, sizeof out, "%s/cls-mean", dir);
    ck_assert_msg(run_logged(log, "%s finetune --from-scratch --config %s/config.json --vocab %s/vocab.txt "
                             "--train data/sample_classification.csv --dev data/sample_classification_dev.csv "
                             "--text-column text --label-column label --epochs 2 --batch-size 16 --lr 1e-3 "
                             "--max-seq-length 32 --seed 3 --threads 2 --pooling mean --out %s",
                             bert_program_path(), dir, dir, out) == 0, "%s", read_text(log));
    snprintf(path, sizeof path, "%s/config.json", out);
    char *config = read_text(path);
    ck_assert_msg(strstr(config, "\"classifier_pooling\":\t\"mean\""), "%s", config);
    ck_assert_msg(strstr(config, "\"bert_c_only\":"), "%s", config);
    double finetune_acc = best_metric(out, "eval", "accuracy");
    double eval_acc = eval_accuracy(log, out, "data/sample_classification_dev.csv");
    printf("  mean pooling: finetune dev accuracy %.4f, bert eval %.4f\n", finetune_acc, eval_acc);
    ck_assert_msg(eval_acc == finetune_acc, "finetune %.6f, eval %.6f", finetune_acc, eval_acc);

    /* The same weights with classifier_pooling cls: another classifier input. */
    char *p = strstr(config, "\"mean\"");
    memcpy(p, "\"cls\" ", 6);
    FILE *f = fopen(path, "w");
    fputs(config, f);
    fclose(f);
    free(config);
    ck_assert_msg(run_logged(log, "%s predict --model %s --input data/sample_classification_dev.csv "
                             "--output %s/cls.csv --text-column text 2>/dev/null", bert_program_path(), out, dir) == 0,
                  "%s", read_text(log));
    snprintf(path, sizeof path, "%s/cls.csv", dir);
    char *cls_predictions = read_text(path);
    snprintf(path, sizeof path, "%s/config.json", out);
    config = read_text(path);
    p = strstr(config, "\"cls\" ");
    memcpy(p, "\"mean\"", 6);
    f = fopen(path, "w");
    fputs(config, f);
    fclose(f);
    free(config);
    ck_assert_msg(run_logged(log, "%s predict --model %s --input data/sample_classification_dev.csv "
                             "--output %s/mean.csv --text-column text 2>/dev/null", bert_program_path(), out, dir) == 0,
                  "%s", read_text(log));
    snprintf(path, sizeof path, "%s/mean.csv", dir);
    char *mean_predictions = read_text(path);
    ck_assert_msg(strcmp(cls_predictions, mean_predictions) != 0, "predict ignored classifier_pooling");
    free(cls_predictions);
    free(mean_predictions);
    remove_dir_tree(dir);
}
END_TEST

Suite *sequence_pooling_suite(void) {
    Suite *s = suite_create("sequence_pooling");
    TCase *tc = tcase_create("sequence_pooling");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, mean_pooling_by_hand);
    tcase_add_test(tc, max_pooling_by_hand_with_a_tie);
    tcase_add_test(tc, a_sequence_without_tokens_pools_to_zero);
    tcase_add_test(tc, sequence_pooling_gradchecks);
    tcase_add_test(tc, model_pooling_gradchecks);
    tcase_add_test(tc, eval_of_a_mean_pooled_model_reproduces_finetune);
    suite_add_tcase(s, tc);
    return s;
}
