/* test_util.h — helpers shared by the Check tests. */
#ifndef BERT_TEST_UTIL_H
#define BERT_TEST_UTIL_H

#include <check.h>
#include "core/real.h"

/* Runs the registered gradient-check case NAME (gradcheck_cases.c), prints one
 * line per tensor and fails the test unless every tensor is within
 * its layer's tolerance (1e-6 in the double build, measured per layer in float;
 * gradcheck_layer_tolerance in gradcheck.h). */
void assert_gradcheck_passes(const char *name);

/* |a − b| <= tol, with both values in the failure message. */
#define ck_assert_near(a, b, tol) do { \
    double a_ = (double)(a), b_ = (double)(b), t_ = (double)(tol); \
    ck_assert_msg(fabs(a_ - b_) <= t_, "%s = %.10g, %s = %.10g, |diff| = %.3g > %.3g", \
                  #a, a_, #b, b_, fabs(a_ - b_), t_); \
} while (0)

/* Path of ../shared/data (or $BERT_SHARED_DATA) if it exists, else NULL after
 * printing a line saying which test skipped and why. */
const char *shared_data_dir(const char *test_name);

/* Writes LEN bytes of CONTENTS to a new temporary file whose name ends in
 * SUFFIX (e.g. ".tsv"; mkstemps) and copies its path into PATH (at least 64
 * bytes). The caller unlinks it. Fails the test if the file cannot be made. */
#include <stddef.h>
void write_temp_file(char *path, const char *contents, size_t len, const char *suffix);

/* The bert program built beside this test binary (build/VARIANT/bert), the
 * one the command-line tests run. */
const char *bert_program_path(void);

/* ---- tests that run the bert program (test_mpi.c, test_bf16.c) ---------------- */

/* Runs a shell command (printf-style) with stdout and stderr into the file
 * LOG; returns its exit status (128 + N when killed by signal N). */
int run_logged(const char *log, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The whole of a text file, NUL-terminated (fails the test if unreadable). The caller frees it. */
char *read_text(const char *path);
/* The value of KEY in the last record of SPLIT ("train", "eval") in RUN/metrics.jsonl. */
double last_metric(const char *run, const char *split, const char *key);
/* The largest value of KEY over the records of SPLIT. */
double best_metric(const char *run, const char *split, const char *key);
/* rm -rf DIR. */
void remove_dir_tree(const char *dir);
/* In DIR: vocab.txt learnt by `bert vocab` from data/sample_corpus.txt (400
 * entries) and config.json of a 2-layer, 32-wide model with BERT's dropout. */
void write_sample_model_files(const char *dir);

/* Tolerance for comparing a forward value computed in `real` with an exact one. */
#ifdef BERT_DOUBLE
#define REAL_TOL 1e-12
#else
#define REAL_TOL 1e-5
#endif

#endif
