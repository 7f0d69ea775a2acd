/* cmd_bench_tokenizer.c — `bert bench-tokenizer --vocab vocab.txt --corpus FILE... [--threads N]
 * [--train-size N]`: the tokenizer figures of `make bench`. Encodes every line
 * of the corpus (held in memory, so disk speed is not measured) on one thread
 * and on N threads, and times vocabulary training on the same files. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <omp.h>
#include "commands.h"
#include "options.h"
#include "data/tokenizer.h"
#include "data/vocab_train.h"

static double now_seconds(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static void print_help(void) {
    printf("usage: bert bench-tokenizer --vocab vocab.txt --corpus FILE... [--threads N] [--train-size N]\n\n"
           "  --vocab FILE       vocabulary for encoding (required; uncased)\n"
           "  --corpus FILE...   text files to encode and to train on (required)\n"
           "  --threads N        threads for the parallel run (default: all cores, omp_get_max_threads)\n"
           "  --train-size N     vocabulary size for the training run (default 30522; 0 skips training)\n");
}

/* Encodes every line; returns the number of ids. */
static long encode_lines(const Tokenizer *tok, char **lines, const long *lens, long n, int threads) {
    long total = 0;
    #pragma omp parallel num_threads(threads) reduction(+:total)
    {
        IntVec ids = { 0 };
        #pragma omp for schedule(dynamic, 512)
        for (long i = 0; i < n; i++) {
            intvec_clear(&ids);
            long k = tokenizer_encode(tok, lines[i], (size_t)lens[i], &ids, NULL);
            if (k > 0) total += k;
        }
        intvec_free(&ids);
    }
    return total;
}

int cmd_bench_tokenizer(int argc, char **argv) {
    const char *vocab_path = NULL;
    const char **corpus = calloc((size_t)argc, sizeof *corpus);
    int n_corpus = 0, threads = omp_get_max_threads();
    long train_size = 30522, value;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--vocab") == 0 && i + 1 < argc) vocab_path = argv[++i];
        else if (strcmp(argv[i], "--corpus") == 0 && i + 1 < argc)
            while (i + 1 < argc && strncmp(argv[i + 1], "--", 2) != 0) corpus[n_corpus++] = argv[++i];
        else if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc && parse_long_in(argv[i + 1], 1, MAX_THREADS, &value))
            threads = (int)value, i++;
        else if (strcmp(argv[i], "--train-size") == 0 && i + 1 < argc && parse_long_in(argv[i + 1], 0, 100000000, &value))
            train_size = value, i++;
        else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) { print_help(); free(corpus); return 0; }
        else {
            fprintf(stderr, "bert bench-tokenizer: unknown or incomplete option '%s' (see --help)\n", argv[i]);
            free(corpus);
            return 2;
        }
    }
    if (!vocab_path || !n_corpus) {
        fprintf(stderr, "bert bench-tokenizer: --vocab and --corpus are required (see --help)\n");
        free(corpus);
        return 2;
    }
    char err[1024];
    Tokenizer *tok = tokenizer_load(vocab_path, true, err, sizeof err);
    if (!tok) { fprintf(stderr, "bert bench-tokenizer: %s\n", err); free(corpus); return 1; }

    /* Read every file into one buffer and cut it into lines. */
    char *text = NULL;
    long size = 0, cap = 0;
    for (int f = 0; f < n_corpus; f++) {
        FILE *in = fopen(corpus[f], "rb");
        if (!in) { perror(corpus[f]); free(text); free(corpus); tokenizer_free(tok); return 1; }
        for (;;) {
            if (size + (1 << 20) > cap) { cap = 2 * cap + (1 << 20); text = realloc(text, (size_t)cap); }
            size_t got = fread(text + size, 1, (size_t)(cap - size), in);
            if (!got) break;
            size += (long)got;
        }
        fclose(in);
    }
    long n = 0;
    for (long i = 0; i < size; i++) n += text[i] == '\n';
    char **lines = malloc(sizeof(char *) * (size_t)(n + 1));
    long *lens = malloc(sizeof(long) * (size_t)(n + 1));
    n = 0;
    for (long start = 0, i = 0; i <= size; i++)
        if (i == size || text[i] == '\n') {
            if (i > start) { lines[n] = text + start; lens[n++] = i - start; }
            start = i + 1;
        }

    printf("tokenizer: %d files, %.1f MB, %ld non-empty lines, vocab %s (%d entries)\n", n_corpus, size / 1e6, n,
           vocab_path, tokenizer_vocab_size(tok));
    int thread_counts[2] = { 1, threads };
    for (int r = 0; r < (threads > 1 ? 2 : 1); r++) {
        double t0 = now_seconds();
        long ids = encode_lines(tok, lines, lens, n, thread_counts[r]);
        double dt = now_seconds() - t0;
        printf("  encode, %d thread%s: %7.2f s  %7.1f MB/s  %6.2f M tokens/s  (%ld tokens)\n", thread_counts[r],
               thread_counts[r] == 1 ? " " : "s", dt, size / 1e6 / dt, ids / 1e6 / dt, ids);
    }
    int status = 0;
    if (train_size > 0) {
        char out[] = "/tmp/bert_bench_vocab_XXXXXX";
        int fd = mkstemp(out);
        if (fd >= 0) close(fd);
        VocabTrainOptions opt = { .vocab_size = (int)train_size, .lower_case = true, .min_count = 2, .progress = NULL };
        VocabTrainStats st;
        double t0 = now_seconds();
        if (fd < 0 || vocab_train(corpus, n_corpus, &opt, out, &st, err, sizeof err) != 0) {
            fprintf(stderr, "bert bench-tokenizer: vocabulary training failed: %s\n", fd < 0 ? "cannot create a temporary file" : err);
            status = 1;
        } else {
            double dt = now_seconds() - t0;
            printf("  vocab training to %d entries: %.2f s (counting %.2f s, %ld merges %.2f s)  %.1f MB/s\n",
                   st.vocab_size, dt, st.count_seconds, st.merges, st.merge_seconds, size / 1e6 / dt);
        }
        unlink(out);
    }
    free(lines);
    free(lens);
    free(text);
    free(corpus);
    tokenizer_free(tok);
    return status;
}
