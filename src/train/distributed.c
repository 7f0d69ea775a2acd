/* distributed.c — ranks, agreement checks and bucketed gradient averaging
 * through Open MPI (include/train/distributed.h); one rank when built
 * without BERT_MPI. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "train/distributed.h"
#include "train/progress.h"

#ifdef BERT_MPI
#include <mpi.h>
#ifdef BERT_DOUBLE
#define MPI_REAL_TYPE MPI_DOUBLE
#else
#define MPI_REAL_TYPE MPI_FLOAT
#endif
#endif

uint64_t dist_fingerprint(uint64_t h, const void *bytes, size_t n) {
    const unsigned char *p = bytes;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 1099511628211ull;
    }
    return h;
}

#ifdef BERT_MPI

bool dist_available(void) { return true; }

/* mpirun sets one of these in every rank's environment; a program started by
 * hand does not, and then MPI is not initialised at all (a plain run must not
 * need an MPI daemon or print MPI's warnings). */
static bool launched_by_mpirun(void) {
    return getenv("OMPI_COMM_WORLD_SIZE") || getenv("PMI_SIZE") || getenv("PMIX_RANK");
}

int dist_init(DistContext *d, int *argc, char ***argv, char *err, size_t err_len) {
    memset(d, 0, sizeof *d);
    d->size = 1;
    if (!launched_by_mpirun()) return 0;
    int provided = 0;
    if (MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS) {
        snprintf(err, err_len, "MPI_Init_thread failed");
        return -1;
    }
    d->owns_mpi = true;
    if (provided < MPI_THREAD_FUNNELED) {
        snprintf(err, err_len, "this MPI library does not support OpenMP threads beside MPI (funneled)");
        return -1;
    }
    MPI_Comm_rank(MPI_COMM_WORLD, &d->rank);
    MPI_Comm_size(MPI_COMM_WORLD, &d->size);
    /* A failing collective must end the job, not hang it. */
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_ARE_FATAL);
    return 0;
}

void dist_finalize(DistContext *d) {
    if (d->owns_mpi) MPI_Finalize();
    d->owns_mpi = false;
}

void dist_abort(const DistContext *d, int exit_code) {
    if (d->size > 1) MPI_Abort(MPI_COMM_WORLD, exit_code);
    exit(exit_code);
}

int dist_check_agreement(const DistContext *d, const char *what, const void *bytes, size_t n,
                         char *err, size_t err_len) {
    if (d->size == 1) return 0;
    unsigned long long mine[2] = {dist_fingerprint(DIST_FINGERPRINT_SEED, bytes, n), n};
    unsigned long long *all = malloc(sizeof mine * (size_t)d->size);
    if (!all) {
        snprintf(err, err_len, "out of memory checking %s across ranks", what);
        return -1;
    }
    MPI_Allgather(mine, 2, MPI_UNSIGNED_LONG_LONG, all, 2, MPI_UNSIGNED_LONG_LONG, MPI_COMM_WORLD);
    int differs = -1;
    for (int r = 1; r < d->size && differs < 0; r++)
        if (all[2 * r] != all[0] || all[2 * r + 1] != all[1]) differs = r;
    free(all);
    if (differs < 0) return 0;
    snprintf(err, err_len, "rank %d and rank 0 differ in %s; every rank must be started with "
             "the same files and options", differs, what);
    return -1;
}

int dist_sum_doubles(const DistContext *d, double *values, int n) {
    if (d->size == 1) return 0;
    return MPI_Allreduce(MPI_IN_PLACE, values, n, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD) == MPI_SUCCESS ? 0 : -1;
}

bool dist_any(const DistContext *d, bool mine) {
    if (d->size == 1) return mine;
    int any = mine ? 1 : 0;
    MPI_Allreduce(MPI_IN_PLACE, &any, 1, MPI_INT, MPI_LOR, MPI_COMM_WORLD);
    return any != 0;
}

int dist_count_failures(const DistContext *d, bool failed, bool *root_failed) {
    *root_failed = d->rank == 0 && failed;
    if (d->size == 1) return failed ? 1 : 0;
    int counts[2] = {failed ? 1 : 0, (d->rank == 0 && failed) ? 1 : 0};
    MPI_Allreduce(MPI_IN_PLACE, counts, 2, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    *root_failed = counts[1] != 0;
    return counts[0];
}

static void start_bucket(GradAllreduce *g, int i) {
    MPI_Request *requests = g->requests;
    GradBucket *b = &g->buckets[i];
    MPI_Iallreduce(MPI_IN_PLACE, g->grads + b->offset, (int)b->count, MPI_REAL_TYPE, MPI_SUM,
                   MPI_COMM_WORLD, &requests[i]);
}

static int wait_buckets(GradAllreduce *g) {
    return MPI_Waitall(g->num_buckets, g->requests, MPI_STATUSES_IGNORE) == MPI_SUCCESS ? 0 : -1;
}

static size_t request_size(void) { return sizeof(MPI_Request); }

#else /* one process */

bool dist_available(void) { return false; }

int dist_init(DistContext *d, int *argc, char ***argv, char *err, size_t err_len) {
    memset(d, 0, sizeof *d);
    d->size = 1;
    return 0;
}

void dist_finalize(DistContext *d) { (void)d; }

void dist_abort(const DistContext *d, int exit_code) { exit(exit_code); }

int dist_check_agreement(const DistContext *d, const char *what, const void *bytes, size_t n,
                         char *err, size_t err_len) {
    return 0;
}

int dist_sum_doubles(const DistContext *d, double *values, int n) { return 0; }

bool dist_any(const DistContext *d, bool mine) { return mine; }

int dist_count_failures(const DistContext *d, bool failed, bool *root_failed) {
    *root_failed = failed;
    return failed ? 1 : 0;
}

static void start_bucket(GradAllreduce *g, int i) { (void)g; (void)i; }
static int wait_buckets(GradAllreduce *g) { return 0; }
static size_t request_size(void) { return 1; }

#endif

int grad_allreduce_create(GradAllreduce *g, const DistContext *d, real *grads, long num_params,
                          long bucket_elems, char *err, size_t err_len) {
    memset(g, 0, sizeof *g);
    if (bucket_elems <= 0 || bucket_elems > (1L << 30)) {
        snprintf(err, err_len, "gradient bucket of %ld elements: must be in 1..2^30", bucket_elems);
        return -1;
    }
    g->dist = d;
    g->grads = grads;
    g->num_params = num_params;
    g->num_buckets = (int)((num_params + bucket_elems - 1) / bucket_elems);
    if (g->num_buckets == 0) g->num_buckets = 1;
    g->buckets = calloc((size_t)g->num_buckets, sizeof *g->buckets);
    g->requests = calloc((size_t)g->num_buckets, request_size());
    if (!g->buckets || !g->requests) {
        grad_allreduce_free(g);
        snprintf(err, err_len, "out of memory planning %d gradient buckets", g->num_buckets);
        return -1;
    }
    /* Equal buckets (the last no smaller than the others by more than one
     * element), so no call is a sliver. */
    long base = num_params / g->num_buckets, extra = num_params % g->num_buckets, offset = 0;
    for (int i = 0; i < g->num_buckets; i++) {
        g->buckets[i].offset = offset;
        g->buckets[i].count = base + (i < extra);
        offset += g->buckets[i].count;
    }
    g->next_to_start = g->num_buckets;
    return 0;
}

void grad_allreduce_free(GradAllreduce *g) {
    free(g->buckets);
    free(g->requests);
    memset(g, 0, sizeof *g);
}

void grad_allreduce_start_ready(GradAllreduce *g, long ready_from) {
    if (g->dist->size == 1) return;
    while (g->next_to_start > 0 && g->buckets[g->next_to_start - 1].offset >= ready_from) {
        g->next_to_start--;
        start_bucket(g, g->next_to_start);
    }
}

int grad_allreduce_finish(GradAllreduce *g, char *err, size_t err_len) {
    if (g->dist->size == 1) return 0;
    grad_allreduce_start_ready(g, 0);
    if (wait_buckets(g) != 0) {
        snprintf(err, err_len, "averaging the gradients across %d ranks failed", g->dist->size);
        return -1;
    }
    g->next_to_start = g->num_buckets;
    return 0;
}

void dist_rows(const DistContext *d, long B, long *first, long *count) {
    long begin = B * d->rank / d->size, end = B * (d->rank + 1) / d->size;
    *first = begin;
    *count = end - begin;
}

long dist_max_rows(const DistContext *d, long B) { return (B + d->size - 1) / d->size; }

/* TrainStepHooks.reduce_gradients: each rank's gradient and figures are its
 * slice's share of the whole batch's, so sums are the whole batch's. */
static int reduce_step(void *ctx, real *grads, long n, TrainStepStats *stats, char *err, size_t err_len) {
    DataParallel *dp = ctx;
    double start = now_seconds();
    if (grad_allreduce_finish(&dp->grads, err, err_len) != 0) return -1;
    double figures[9] = {
        stats->loss, stats->mlm_loss, stats->nsp_loss, stats->cls_loss, (double)stats->sequences,
        (double)stats->mlm_predictions, (double)stats->mlm_correct, (double)stats->nsp_correct,
        (double)stats->cls_correct,
    };
    if (dist_sum_doubles(dp->dist, figures, 9) != 0) {
        snprintf(err, err_len, "summing the step's losses across %d ranks failed", dp->dist->size);
        return -1;
    }
    stats->loss = figures[0];
    stats->mlm_loss = figures[1];
    stats->nsp_loss = figures[2];
    stats->cls_loss = figures[3];
    stats->sequences = (long)figures[4];
    stats->mlm_predictions = (long)figures[5];
    stats->mlm_correct = (long)figures[6];
    stats->nsp_correct = (long)figures[7];
    stats->cls_correct = (long)figures[8];
    dp->last_reduce_seconds = now_seconds() - start;
    return 0;
}

int data_parallel_attach(DataParallel *dp, const DistContext *d, TrainStep *ts, char *err, size_t err_len) {
    memset(dp, 0, sizeof *dp);
    dp->dist = d;
    if (!d || d->size == 1) return 0;
    if (grad_allreduce_create(&dp->grads, d, ts->model->grads_memory, ts->model->num_params, GRAD_BUCKET_ELEMS,
                              err, err_len) != 0)
        return -1;
    ts->hooks.reduce_gradients = reduce_step;
    ts->hooks.reduce_ctx = dp;
    return 0;
}

void data_parallel_free(DataParallel *dp) {
    if (dp->grads.buckets) grad_allreduce_free(&dp->grads);
    memset(dp, 0, sizeof *dp);
}

int dist_check_in_step(const DistContext *d, uint64_t batches_fingerprint, const BertModel *m, char *err,
                       size_t err_len) {
    if (d->size == 1) return 0;
    uint64_t h = dist_fingerprint(batches_fingerprint, m->params_memory, sizeof(real) * (size_t)m->num_params);
    return dist_check_agreement(d, "the weights or the batches drawn since the start", &h, sizeof h, err, err_len);
}

void dist_end_job_on_failure(const DistContext *d, const char *program, const char *err) {
    if (d->size == 1) return;
    fprintf(stderr, "%s: rank %d of %d: %s; ending the job\n", program, d->rank, d->size, err);
    dist_abort(d, 1);
}
