/* run_dir.h — the run directory of `bert pretrain` and `bert finetune`:
 * one run at a time (a lock), no silent restart over an earlier run, and
 * removal of the directories a run writes. docs/checkpoints.md. */
#ifndef BERT_RUN_DIR_H
#define BERT_RUN_DIR_H

#include <stdbool.h>
#include <stddef.h>

/* Held for the whole run: an flock(2) on DIR/.lock, which the kernel drops
 * when the process ends however it ends, so a killed run leaves no stale
 * lock. The file says who holds it (pid, host, start time, command). */
typedef struct {
    int fd;                    /* −1: not held */
} RunDirLock;

/* Creates DIR (and its parents) if needed and takes the lock, or fails
 * with "DIR is in use by another run: pid P on HOST since TIME (bert CMD)".
 * command names the program ("bert pretrain"). */
int run_dir_lock(RunDirLock *lock, const char *dir, const char *command, char *err, size_t err_len);
void run_dir_unlock(RunDirLock *lock);

/* Whether DIR already holds a run or a model (metrics.jsonl, a
 * checkpoint-N or checkpoint-last directory, model.safetensors); what[] gets
 * the first thing found. False when DIR does not exist. */
bool run_dir_holds_run(const char *dir, char *what, size_t what_len);

/* For --overwrite: removes from DIR what a run writes there — the
 * checkpoint directories (checkpoint-N, checkpoint-last and their
 * temporaries), metrics.jsonl, curves.png and the model files — and nothing
 * else. */
int run_dir_clear(const char *dir, char *err, size_t err_len);

/* Removes DIR and the files in it (checkpoint directories are flat); a
 * missing DIR is not an error. Returns 0, or −1 when something stays. */
int remove_flat_directory(const char *dir);

/* Keeps the records of metrics.jsonl at PATH whose "step" is at most STEP
 * (a resumed run rewrites what the interrupted one recorded after its last
 * checkpoint, so the file describes one run). A missing file is fine. */
int run_dir_truncate_metrics(const char *path, long step, char *err, size_t err_len);

#endif
