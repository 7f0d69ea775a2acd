/* progress.h — what long jobs show and keep: one updating progress line on
 * stderr (step, figures, rate, ETA) and a metrics file of JSON lines in the
 * run directory, which `bert plot` turns into a picture. */
#ifndef BERT_PROGRESS_H
#define BERT_PROGRESS_H

#include <stdio.h>
#include <stdbool.h>

typedef struct {
    double start_time;   /* seconds, monotonic */
    long first_step;     /* step the run (or resume) started at */
    long total_steps;
    bool tty;            /* redraw one line with \r, or print a line every so often */
    double last_print;
    FILE *metrics;       /* RUN_DIR/metrics.jsonl, appended */
    const char *unit;    /* what is counted: "step" when NULL, e.g. "eval batch" */
} Progress;

double now_seconds(void);

/* Opens (appends to) metrics_path; returns -1 with err filled on failure. */
int progress_open(Progress *p, const char *metrics_path, long first_step, long total_steps,
                  char *err, size_t err_len);

/* Redraws the progress line: "<unit> S/T | <figures> | ETA h:mm:ss". On a
 * terminal every call redraws; otherwise one line every 10 s and at the end. */
void progress_show(Progress *p, long step, const char *figures);

/* Ends the progress line (a newline on a terminal). */
void progress_done(Progress *p);

/* Appends one JSON object (already formatted, no newline) to the metrics file
 * and flushes it, so an interrupted run keeps every step it finished. */
void progress_record(Progress *p, const char *json_object);

void progress_close(Progress *p);

/* A progress line without a metrics file, counting UNIT ("eval batch"). */
void progress_open_line(Progress *p, const char *unit);

/* The progress of an evaluation or prediction pass, in the form of
 * ClassifyProgress.show (ctx: a Progress, usually opened without a metrics
 * file; its unit names the line, e.g. "eval batch"): batches done of all,
 * running loss and accuracy when known (not NAN), examples/s. Batch 0 (before
 * the first) restarts the clock; the line ends after the last batch. */
void progress_show_evaluation(void *ctx, long batch, long n_batches, long examples, double loss,
                              double accuracy);

#endif
