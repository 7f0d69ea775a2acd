/* options.h — the command-line options of a subcommand, declared as a table
 * so parsing, validation and --help come from one place. */
#ifndef BERT_OPTIONS_H
#define BERT_OPTIONS_H

#include <stdbool.h>

typedef enum {
    OPT_FLAG,    /* bool, no value */
    OPT_INT,     /* long */
    OPT_REAL,    /* double */
    OPT_STRING,  /* const char * */
    OPT_STRINGS, /* StringList: one or more values, until the next --option */
} OptionKind;

typedef struct {
    const char **items;
    int count;
} StringList;

typedef struct {
    const char *name;     /* "--steps" */
    OptionKind kind;
    void *value;          /* bool*, long*, double*, const char**, StringList* holding the default */
    const char *help;     /* one line */
    bool required;
    /* OPT_INT only: the accepted range, checked when parsed (the value is
     * stored as long and mostly used as int, so INT_MAX bounds most counts).
     * Other kinds: 0, 0. For OPT_INT, min = max = 0 means 0..INT_MAX. */
    long min, max;
} Option;

/* Upper bound of every --threads option. */
#define MAX_THREADS 1024

/* Parses all of s as a base-10 integer in [min, max] into *out; false (and
 * *out untouched) if s is not one, has trailing characters or is out of range. */
bool parse_long_in(const char *s, long min, long max, long *out);

/* Parses argv[1..argc−1] (argv[0] is the subcommand name) into the table.
 * Prints help and returns 1 for --help; prints one error naming the option
 * and returns 2 for an unknown option, a missing or malformed value, an
 * OPT_INT value outside [min, max], or a missing required option; returns 0 on success. */
int options_parse(const char *command, const char *summary, Option *options, int n,
                  int argc, char **argv);

/* --precision fp32|bf16 (docs/bf16.md): the help text every command shows,
 * and the parse: sets *bf16, or prints "bert COMMAND: --precision must be
 * fp32 or bf16, not 'X'" and returns 2. A CPU without AVX512-BF16 is
 * refused later, in one line, when the model is set up (bert_use_bf16). */
#define PRECISION_HELP "fp32 (products in float, BLIS) or bf16 (products in bf16 through oneDNN, the rest float; needs AVX512-BF16)"
int parse_precision(const char *command, const char *value, bool *bf16);

/* Frees what options_parse allocated for OPT_STRINGS values. */
void options_free(Option *options, int n);

#endif
