/* cmd_predict.c — `bert predict`: the input CSV/TSV with predicted_label and
 * prob_<label> columns appended (src/classify.c). */
#include <limits.h>
#include <stdio.h>
#include "commands.h"
#include "options.h"
#include "train/classify.h"
#include "core/gemm.h"
#include "train/progress.h"

int cmd_predict(int argc, char **argv) {
    const char *model = NULL, *input = NULL, *output = "-", *text = NULL, *pair = NULL;
    long batch = 32, threads = 0;
    const char *precision = "fp32";
    bool use_bf16 = false;
    Option options[] = {
        { "--model", OPT_STRING, &model, "fine-tuned model directory (bert finetune's OUT)", true, 0, 0 },
        { "--input", OPT_STRING, &input, "CSV/TSV with a header row (- for stdin)", true, 0, 0 },
        { "--output", OPT_STRING, &output, "where to write (- for stdout); same delimiter as the input", false, 0, 0 },
        { "--text-column", OPT_STRING, &text, "text column (default: the one used in training)", false, 0, 0 },
        { "--text-pair-column", OPT_STRING, &pair, "second text column (default: as in training)", false, 0, 0 },
        { "--batch-size", OPT_INT, &batch, "examples per forward pass", false, 1, INT_MAX },
        { "--threads", OPT_INT, &threads, "threads (0: all cores)", false, 0, MAX_THREADS },
        { "--precision", OPT_STRING, &precision, PRECISION_HELP, false, 0, 0 },
    };
    int n_opt = sizeof options / sizeof options[0];
    int status = options_parse("predict",
                               "Classifies every row: writes the input columns, then predicted_label and one\n"
                               "prob_<label> column per class (softmax probabilities).",
                               options, n_opt, argc, argv);
    if (status) return status == 1 ? 0 : status;
    if (parse_precision("predict", precision, &use_bf16) != 0) return 2;
    classify_set_precision_bf16(use_bf16);
    bert_runtime_init((int)threads);
    char err[1024];
    Progress line;
    progress_open_line(&line, "predict batch");
    ClassifyProgress progress = { progress_show_evaluation, &line };
    if (classify_predict_file(model, input, output, text, pair, (int)batch, &progress, err, sizeof err) != 0) {
        fprintf(stderr, "bert predict: %s\n", err);
        return 1;
    }
    return 0;
}
