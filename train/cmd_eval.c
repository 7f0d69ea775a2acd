/* cmd_eval.c — `bert eval`: the evaluation report (loss, accuracy, macro-F1,
 * per-class precision/recall/F1, confusion matrix) of a fine-tuned model on a
 * labelled CSV/TSV file. The metrics are src/classify.c. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include "commands.h"
#include "options.h"
#include "train/classify.h"
#include "core/gemm.h"
#include "train/progress.h"

int cmd_eval(int argc, char **argv) {
    const char *model = NULL, *data = NULL, *text = NULL, *pair = NULL, *label = NULL;
    bool json = false;
    long batch = 32, threads = 0;
    const char *precision = "fp32";
    bool use_bf16 = false;
    Option options[] = {
        { "--model", OPT_STRING, &model, "fine-tuned model directory (bert finetune's OUT)", true, 0, 0 },
        { "--data", OPT_STRING, &data, "labelled CSV/TSV file (- for stdin)", true, 0, 0 },
        { "--text-column", OPT_STRING, &text, "text column (default: the one used in training)", false, 0, 0 },
        { "--text-pair-column", OPT_STRING, &pair, "second text column (default: as in training)", false, 0, 0 },
        { "--label-column", OPT_STRING, &label, "label column (default: the one used in training)", false, 0, 0 },
        { "--json", OPT_FLAG, &json, "print one JSON object instead of the table", false, 0, 0 },
        { "--batch-size", OPT_INT, &batch, "examples per forward pass", false, 1, INT_MAX },
        { "--threads", OPT_INT, &threads, "threads (0: all cores)", false, 0, MAX_THREADS },
        { "--precision", OPT_STRING, &precision, PRECISION_HELP, false, 0, 0 },
    };
    int n_opt = sizeof options / sizeof options[0];
    int status = options_parse("eval",
                               "Evaluates a fine-tuned classifier: loss, accuracy, macro-F1, per-class precision,\n"
                               "recall, F1 and support, and the confusion matrix (rows true, columns predicted).\n"
                               "Precision of a class never predicted is 0 (docs/finetuning.md).",
                               options, n_opt, argc, argv);
    if (status) return status == 1 ? 0 : status;
    if (parse_precision("eval", precision, &use_bf16) != 0) return 2;
    classify_set_precision_bf16(use_bf16);
    bert_runtime_init((int)threads);
    char err[1024];
    ClassifyReport report;
    LabelMap labels;
    Progress line;
    progress_open_line(&line, "eval batch");
    ClassifyProgress progress = { progress_show_evaluation, &line };
    if (classify_eval_file(model, data, text, pair, label, (int)batch, &progress, &report, &labels, err,
                           sizeof err) != 0) {
        fprintf(stderr, "bert eval: %s\n", err);
        return 1;
    }
    if (json) {
        cJSON *o = classify_report_json(&report, &labels);
        char *s = cJSON_Print(o);
        printf("%s\n", s);
        free(s);
        cJSON_Delete(o);
    } else {
        classify_report_print(stdout, &report, &labels);
    }
    classify_report_free(&report);
    label_map_free(&labels);
    return 0;
}
