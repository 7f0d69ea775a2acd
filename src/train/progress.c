/* progress.c — the progress line and the metrics file. */
#include <errno.h>
#include <math.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "train/progress.h"

double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

int progress_open(Progress *p, const char *metrics_path, long first_step, long total_steps,
                  char *err, size_t err_len) {
    memset(p, 0, sizeof *p);
    p->start_time = now_seconds();
    p->first_step = first_step;
    p->total_steps = total_steps;
    p->tty = isatty(STDERR_FILENO);
    if (metrics_path) {
        p->metrics = fopen(metrics_path, "a");
        if (!p->metrics) {
            snprintf(err, err_len, "%s: cannot open for appending: %s", metrics_path, strerror(errno));
            return -1;
        }
    }
    return 0;
}

void progress_show(Progress *p, long step, const char *figures) {
    double t = now_seconds();
    bool last = step >= p->total_steps;
    if (!p->tty && !last && t - p->last_print < 10) return;
    p->last_print = t;
    double done = (double)(step - p->first_step), left = (double)(p->total_steps - step);
    long eta = done > 0 ? (long)((t - p->start_time) / done * left + 0.5) : 0;
    fprintf(stderr, "%s%s %ld/%ld | %s | ETA %ld:%02ld:%02ld%s", p->tty ? "\r\033[K" : "",
            p->unit ? p->unit : "step", step, p->total_steps, figures, eta / 3600, eta / 60 % 60, eta % 60, p->tty ? "" : "\n");
    fflush(stderr);
}

void progress_done(Progress *p) {
    if (p->tty) fputc('\n', stderr);
}

void progress_record(Progress *p, const char *json_object) {
    if (!p->metrics) return;
    fprintf(p->metrics, "%s\n", json_object);
    fflush(p->metrics);
}

void progress_open_line(Progress *p, const char *unit) {
    progress_open(p, NULL, 0, 1, NULL, 0);   /* cannot fail without a metrics file */
    p->unit = unit;
}

void progress_show_evaluation(void *ctx, long batch, long n_batches, long examples, double loss,
                              double accuracy) {
    Progress *p = ctx;
    if (batch == 0) {
        p->start_time = now_seconds();
        p->first_step = 0;
        p->last_print = 0;
        return;
    }
    p->total_steps = n_batches;
    double elapsed = now_seconds() - p->start_time;
    char figures[160];
    int n = 0;
    if (!isnan(loss)) n = snprintf(figures, sizeof figures, "loss %.4f | acc %.3f | ", loss, accuracy);
    snprintf(figures + n, sizeof figures - (size_t)n, "%.0f ex/s", elapsed > 0 ? examples / elapsed : 0);
    progress_show(p, batch, figures);
    if (batch == n_batches) progress_done(p);
}

void progress_close(Progress *p) {
    if (p->metrics) fclose(p->metrics);
    p->metrics = NULL;
}
