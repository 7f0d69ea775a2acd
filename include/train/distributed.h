/* distributed.h — data-parallel training across processes with Open MPI.
 *
 * P ranks each hold the whole model. Every step, each rank runs forward and
 * backward on its own slice of the global batch, the gradients are summed
 * across ranks (each slice weighted by its share: the sum is the mean), and every rank takes the same AdamW step, so the parameters
 * stay identical. docs/distributed.md describes the scheme and its costs.
 *
 * Built with MPI when the Makefile finds mpicc (or with `make MPI=1`):
 * -DBERT_MPI. Without it the same functions run one process (rank 0 of 1), so
 * the training loops call them unconditionally. */
#ifndef BERT_DISTRIBUTED_H
#define BERT_DISTRIBUTED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "core/real.h"
#include "train/train_step.h"

typedef struct {
    int rank, size;        /* this process, and how many take part (0 and 1 alone) */
    bool owns_mpi;         /* dist_init called MPI_Init, so dist_finalize ends it */
} DistContext;

/* True when this build can run several ranks. */
bool dist_available(void);

/* Joins the job: under mpirun, MPI_Init_thread (funneled: only the main thread
 * calls MPI, OpenMP threads do not); otherwise one rank. Returns 0, or −1 with
 * a message. */
int dist_init(DistContext *d, int *argc, char ***argv, char *err, size_t err_len);
void dist_finalize(DistContext *d);

static inline bool dist_is_root(const DistContext *d) { return d->rank == 0; }

/* Ends every rank of the job (a rank that cannot go on must not leave the
 * others waiting in a collective). */
void dist_abort(const DistContext *d, int exit_code);

/* Checks that every rank holds the same bytes for `what` (the config, the
 * vocabulary, the seed and options, the data's fingerprint). Collective: all
 * ranks call it with their own bytes. On a mismatch every rank returns −1 and
 * the message names `what` and the first rank that differs from rank 0. */
int dist_check_agreement(const DistContext *d, const char *what, const void *bytes, size_t n,
                         char *err, size_t err_len);

/* 64-bit FNV-1a, the fingerprint dist_check_agreement compares; exposed so a
 * caller can fold several pieces into one value. */
uint64_t dist_fingerprint(uint64_t h, const void *bytes, size_t n);
#define DIST_FINGERPRINT_SEED 14695981039346656037ull

/* Sums n doubles over all ranks, in place, the same result on every rank
 * (evaluation counts and losses). */
int dist_sum_doubles(const DistContext *d, double *values, int n);

/* This rank's rows of a batch of B: [*first, *first + *count) with
 * first = rank·B/P (rounded down), so the ranks' rows are disjoint, in
 * order and cover the batch; a rank's count may be 0 when B < P. */
void dist_rows(const DistContext *d, long B, long *first, long *count);

/* The largest count dist_rows gives any rank for a batch of B: ⌈B/P⌉. */
long dist_max_rows(const DistContext *d, long B);

/* True on every rank when `mine` is true on any (a stop requested by a
 * signal that reached one rank first must stop all at the same step). */
bool dist_any(const DistContext *d, bool mine);

/* After a stage every rank passes (set-up): how many ranks failed, and
 * whether rank 0 did. Collective. A failure on rank 0 is reported by rank 0
 * alone (every rank usually fails the same way on a bad option or file);
 * otherwise each failing rank reports its own, naming itself. */
int dist_count_failures(const DistContext *d, bool failed, bool *root_failed);

/* ---- gradient averaging ----------------------------------------------------------
 *
 * The flat gradient buffer [num_params] is cut into buckets of about
 * bucket_elems elements; each bucket is one MPI_Iallreduce (a few large calls,
 * not one per tensor). Backward produces the gradients of the last layers
 * first, and they sit at the end of the buffer, so buckets are started from
 * the last: a caller that knows backward is done with [offset, num_params) can
 * start the buckets inside it while backward goes on with the rest. */
typedef struct {
    long offset, count;    /* elements of the gradient buffer */
} GradBucket;

typedef struct {
    const DistContext *dist;
    GradBucket *buckets;   /* ascending offsets, covering [0, num_params) */
    int num_buckets;
    int next_to_start;     /* buckets ≥ this one have been started (counts down) */
    void *requests;        /* MPI_Request[num_buckets] */
    real *grads;
    long num_params;
} GradAllreduce;

/* Default bucket size: 4 Mi elements (16 MB of float). */
#define GRAD_BUCKET_ELEMS (4L << 20)

int grad_allreduce_create(GradAllreduce *g, const DistContext *d, real *grads, long num_params,
                          long bucket_elems, char *err, size_t err_len);
void grad_allreduce_free(GradAllreduce *g);

/* Starts the allreduce of every bucket that lies wholly in [ready_from,
 * num_params) and has not been started; backward calls it as it finishes
 * layers (optional), and grad_allreduce_finish starts the rest. */
void grad_allreduce_start_ready(GradAllreduce *g, long ready_from);

/* Starts whatever is left and waits for every bucket: every rank then holds
 * the sum of all ranks' gradients. Each rank's batch is a slice of the whole
 * batch whose losses were weighted by its share (model.h BertBatch.first_row),
 * so the sum is the whole batch's mean gradient. Returns 0, or −1 with a message. */
int grad_allreduce_finish(GradAllreduce *g, char *err, size_t err_len);

/* Before a save: every rank still holds the same weights (m's) and drew the
 * same batches (batches_fingerprint, folded over every batch since the
 * start), so rank 0's checkpoint describes the run all took. Collective. */
int dist_check_in_step(const DistContext *d, uint64_t batches_fingerprint, const BertModel *m, char *err,
                       size_t err_len);

/* A failure on this rank alone after set-up: the others would wait in the
 * next collective for ever, so it prints "PROGRAM: rank R of P: ERR; ending
 * the job" and ends every rank (dist_abort). Returns at once with one rank. */
void dist_end_job_on_failure(const DistContext *d, const char *program, const char *err);

/* ---- the training step's seam ------------------------------------------------------
 *
 * Installs the data-parallel hook on ts (train_step.h reduce_gradients):
 * the gradient sum of grad_allreduce_finish, then the step's figures
 * (losses, counts) summed the same way. With one rank nothing is installed.
 * dp must outlive ts's use. */
typedef struct {
    GradAllreduce grads;
    const DistContext *dist;
    double last_reduce_seconds;   /* wall time of the last step's sums (the allreduce's share of a step) */
} DataParallel;

int data_parallel_attach(DataParallel *dp, const DistContext *d, TrainStep *ts, char *err, size_t err_len);
void data_parallel_free(DataParallel *dp);

#endif
