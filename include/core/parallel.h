/* parallel.h — when an element-wise loop is worth an OpenMP team.
 *
 * Starting a parallel region costs microseconds, and far more when the cores
 * are shared with other processes (threads wait to be scheduled). Loops over
 * fewer elements than this run on the calling thread; the result is the same
 * either way, since no layer's result depends on the thread count. */
#ifndef BERT_PARALLEL_H
#define BERT_PARALLEL_H

#define PARALLEL_MIN_WORK 16384L

#endif
