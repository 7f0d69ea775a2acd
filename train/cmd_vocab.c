/* cmd_vocab.c — `bert vocab --corpus FILE... --size N [--cased] [--min-count K] --out vocab.txt`:
 * trains a WordPiece vocabulary (src/vocab_train.c) and writes vocab.txt. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <limits.h>
#include "commands.h"
#include "options.h"
#include "data/vocab_train.h"

static void print_help(void) {
    printf("usage: bert vocab --corpus FILE... --size N [--cased] [--min-count K] --out vocab.txt [--quiet]\n\n"
           "Learns a WordPiece vocabulary from raw UTF-8 text (BPE merges with ## continuations,\n"
           "see docs/tokenizer.md) and writes it one token per line: [PAD] [UNK] [CLS] [SEP] [MASK],\n"
           "the alphabet, the alphabet with ##, then the learned pieces.\n\n"
           "  --corpus FILE...  one or more text files (required)\n"
           "  --size N          vocabulary size, everything included (required; BERT uses 30522)\n"
           "  --cased           keep case and accents (default: lowercase and strip accents, uncased)\n"
           "  --min-count K     leave out characters and merges seen fewer than K times (default 2)\n"
           "  --out FILE        where to write the vocabulary (required)\n"
           "  --quiet           no progress line on stderr\n"
           "  --help            this text\n");
}

int cmd_vocab(int argc, char **argv) {
    const char **corpus = calloc((size_t)argc, sizeof *corpus);
    int n_corpus = 0;
    const char *out = NULL;
    long size = 0, min_count = 2;
    bool cased = false, quiet = false;
    int status = 2;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--corpus") == 0 && i + 1 < argc && strncmp(argv[i + 1], "--", 2) != 0) {
            while (i + 1 < argc && strncmp(argv[i + 1], "--", 2) != 0) corpus[n_corpus++] = argv[++i];
        } else if (strcmp(argv[i], "--size") == 0 && i + 1 < argc) {
            if (!parse_long_in(argv[++i], 1, 100000000, &size)) {
                fprintf(stderr, "bert vocab: --size must be an integer in 1..100000000, got '%s'\n", argv[i]);
                goto done;
            }
        } else if (strcmp(argv[i], "--min-count") == 0 && i + 1 < argc) {
            if (!parse_long_in(argv[++i], 1, LONG_MAX, &min_count)) {
                fprintf(stderr, "bert vocab: --min-count must be an integer >= 1, got '%s'\n", argv[i]);
                goto done;
            }
        } else if (strcmp(argv[i], "--out") == 0 && i + 1 < argc) out = argv[++i];
        else if (strcmp(argv[i], "--cased") == 0) cased = true;
        else if (strcmp(argv[i], "--quiet") == 0) quiet = true;
        else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) { print_help(); status = 0; goto done; }
        else {
            fprintf(stderr, "bert vocab: unknown or incomplete option '%s' (see bert vocab --help)\n", argv[i]);
            goto done;
        }
    }
    if (!n_corpus || !size || !out) {
        fprintf(stderr, "bert vocab: --corpus, --size and --out are required (see bert vocab --help)\n");
        goto done;
    }
    VocabTrainOptions opt = { .vocab_size = (int)size, .lower_case = !cased, .min_count = min_count,
                              .progress = quiet ? NULL : stderr };
    VocabTrainStats st;
    char err[1024];
    if (vocab_train(corpus, n_corpus, &opt, out, &st, err, sizeof err) != 0) {
        fprintf(stderr, "bert vocab: %s\n", err);
        status = 1;
        goto done;
    }
    if (st.invalid_bytes) fprintf(stderr, "bert vocab: warning: dropped %ld invalid UTF-8 bytes\n", st.invalid_bytes);
    fprintf(stderr, "bert vocab: wrote %s: %d entries (%d-character alphabet, %ld merges) from %.1f MB, "
            "%ld words (%ld distinct); counting %.1f s, merging %.1f s\n", out, st.vocab_size, st.alphabet, st.merges,
            st.bytes / 1e6, st.words, st.unique_words, st.count_seconds, st.merge_seconds);
    if (st.vocab_size < size)
        fprintf(stderr, "bert vocab: note: only %d of %ld entries: no pair occurs %ld or more times any more\n",
                st.vocab_size, size, min_count);
    status = 0;
done:
    free(corpus);
    return status;
}
