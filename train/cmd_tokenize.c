/* cmd_tokenize.c — `bert tokenize --vocab vocab.txt [--cased] [--ids] [--input FILE]`:
 * WordPiece-tokenizes text, one output line per input line (tokens or ids,
 * separated by spaces). The tokenizer itself is src/tokenizer.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "commands.h"
#include "data/tokenizer.h"

static void print_help(void) {
    printf("usage: bert tokenize --vocab vocab.txt [--cased] [--ids] [--input FILE]\n\n"
           "Reads text lines and prints, for each, its BERT WordPiece tokens separated by spaces\n"
           "(an empty line for a line without tokens).\n\n"
           "  --vocab FILE   vocabulary, one token per line, id = line number (required)\n"
           "  --cased        keep case and accents (default: lowercase and strip accents,\n"
           "                 as for an uncased vocabulary such as bert-base-uncased)\n"
           "  --ids          print token ids instead of token strings\n"
           "  --input FILE   read FILE instead of standard input (default: stdin)\n"
           "  --help         this text\n\n"
           "Invalid UTF-8 bytes are dropped; their count is reported on stderr.\n");
}

int cmd_tokenize(int argc, char **argv) {
    const char *vocab_path = NULL, *input_path = NULL;
    bool cased = false, print_ids = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--vocab") == 0 && i + 1 < argc) vocab_path = argv[++i];
        else if (strcmp(argv[i], "--input") == 0 && i + 1 < argc) input_path = argv[++i];
        else if (strcmp(argv[i], "--cased") == 0) cased = true;
        else if (strcmp(argv[i], "--ids") == 0) print_ids = true;
        else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) { print_help(); return 0; }
        else {
            fprintf(stderr, "bert tokenize: unknown or incomplete option '%s' (see bert tokenize --help)\n", argv[i]);
            return 2;
        }
    }
    if (!vocab_path) {
        fprintf(stderr, "bert tokenize: --vocab FILE is required (see bert tokenize --help)\n");
        return 2;
    }
    char err[512];
    Tokenizer *tok = tokenizer_load(vocab_path, !cased, err, sizeof err);
    if (!tok) { fprintf(stderr, "bert tokenize: %s\n", err); return 1; }
    FILE *in = stdin;
    if (input_path && !(in = fopen(input_path, "rb"))) {
        perror(input_path);
        tokenizer_free(tok);
        return 1;
    }
    const char *in_name = input_path ? input_path : "<stdin>";
    char *line = NULL;
    size_t line_cap = 0;
    ssize_t n;
    IntVec ids = { 0 };
    long invalid = 0, first_invalid_line = 0, line_no = 0;
    int status = 0;
    while ((n = getline(&line, &line_cap, in)) >= 0) {
        line_no++;
        intvec_clear(&ids);
        long before = invalid;
        if (tokenizer_encode(tok, line, (size_t)n, &ids, &invalid) < 0) {
            fprintf(stderr, "bert tokenize: %s:%ld: out of memory\n", in_name, line_no);
            status = 1;
            break;
        }
        if (invalid > before && !first_invalid_line) first_invalid_line = line_no;
        for (long i = 0; i < ids.len; i++) {
            if (i) putchar(' ');
            if (print_ids) printf("%d", ids.data[i]);
            else fputs(tokenizer_id_to_token(tok, ids.data[i]), stdout);
        }
        putchar('\n');
    }
    if (ferror(in)) { fprintf(stderr, "bert tokenize: %s: read error\n", in_name); status = 1; }
    if (invalid)
        fprintf(stderr, "bert tokenize: warning: %s: dropped %ld invalid UTF-8 byte%s (first on line %ld)\n",
                in_name, invalid, invalid == 1 ? "" : "s", first_invalid_line);
    if (fflush(stdout) != 0) { perror("bert tokenize: stdout"); status = 1; }
    free(line);
    intvec_free(&ids);
    if (in != stdin) fclose(in);
    tokenizer_free(tok);
    return status;
}
