/* main.c — the `bert` program: dispatches to one subcommand per job. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <stdbool.h>
#include "commands.h"

typedef struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} Command;

static const Command commands[] = {
    { "vocab", cmd_vocab, "train a WordPiece vocabulary (vocab.txt) from text files" },
    { "tokenize", cmd_tokenize, "WordPiece-tokenize text lines with a vocab.txt (tokens or ids)" },
    { "pretrain", cmd_pretrain, "pretrain a BERT (masked LM + next sentence) on text files" },
    { "finetune", cmd_finetune, "fine-tune a classifier on a CSV/TSV file (from a checkpoint or from scratch)" },
    { "eval", cmd_eval, "evaluate a fine-tuned classifier: accuracy, macro-F1, per class, confusion matrix" },
    { "predict", cmd_predict, "classify the rows of a CSV/TSV file, with class probabilities" },
    { "plot", cmd_plot, "draw a run's loss and accuracy curves into a PNG" },
    { "gradcheck", cmd_gradcheck, "check every layer's gradients against finite differences" },
    { "attention-map", cmd_attention_map, "draw each head's attention probabilities for one sentence into a PNG" },
    { "bench", cmd_bench, "time BERT pretraining steps (or forward passes) on synthetic batches" },
    { "bench-tokenizer", cmd_bench_tokenizer, "measure tokenizer encoding and vocabulary-training speed" },
};
static const int command_count = sizeof commands / sizeof commands[0];

static void usage(FILE *f) {
    fprintf(f, "usage: bert COMMAND [OPTIONS]   (bert COMMAND --help for its options)\n\ncommands:\n");
    for (int i = 0; i < command_count; i++) fprintf(f, "  %-15s %s\n", commands[i].name, commands[i].summary);
}

/* What the command wrote to stdout (a report, predictions, help) must have
 * arrived: a full disk or a closed pipe is an error, not exit status 0. */
static int finish_stdout(int status) {
    errno = 0;
    bool failed = ferror(stdout) != 0;
    failed |= fflush(stdout) != 0;
    int saved = errno;
    failed |= fclose(stdout) != 0;
    if (!saved) saved = errno;
    if (!failed) return status;
    if (status) return status;   /* the command failed and has said why */
    fprintf(stderr, "bert: error writing to standard output: %s\n", saved ? strerror(saved) : "write error");
    return 1;
}

static int run(int argc, char **argv) {
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    for (int i = 0; i < command_count; i++)
        if (strcmp(argv[1], commands[i].name) == 0) return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "bert: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}

int main(int argc, char **argv) {
    return finish_stdout(run(argc, argv));
}
