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
} Option;

/* Parses argv[1..argc−1] (argv[0] is the subcommand name) into the table.
 * Prints help and returns 1 for --help; prints one error naming the option
 * and returns 2 for an unknown option, a missing or malformed value, or a
 * missing required option; returns 0 on success. */
int options_parse(const char *command, const char *summary, Option *options, int n,
                  int argc, char **argv);

/* Frees what options_parse allocated for OPT_STRINGS values. */
void options_free(Option *options, int n);

#endif
