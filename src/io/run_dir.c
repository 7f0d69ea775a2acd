/* run_dir.c — locking, checking and clearing a run directory
 * (include/io/run_dir.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "io/run_dir.h"
#include "io/fileio.h"
#include <cJSON.h>

int run_dir_lock(RunDirLock *lock, const char *dir, const char *command, char *err, size_t err_len) {
    lock->fd = -1;
    if (make_directory_path(dir, err, err_len) != 0) return -1;
    char path[4200];
    snprintf(path, sizeof path, "%s/.lock", dir);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
        format_error(err, err_len, "%s: cannot create the run's lock file: %s", path, strerror(errno));
        return -1;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        int saved = errno;
        char holder[512] = "";
        ssize_t n = pread(fd, holder, sizeof holder - 1, 0);
        close(fd);
        if (saved != EWOULDBLOCK) {
            format_error(err, err_len, "%s: cannot lock: %s", path, strerror(saved));
            return -1;
        }
        holder[n > 0 ? n : 0] = 0;
        holder[strcspn(holder, "\n")] = 0;
        format_error(err, err_len, "%s is in use by another run%s%s; wait for it to end or choose another --out",
                     dir, *holder ? ": " : "", holder);
        return -1;
    }
    char host[256] = "?", when[64] = "?", line[1024];
    gethostname(host, sizeof host - 1);
    time_t now = time(NULL);
    struct tm tm;
    if (gmtime_r(&now, &tm)) strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S UTC", &tm);
    int len = snprintf(line, sizeof line, "pid %ld on %s since %s (%s)\n", (long)getpid(), host, when, command);
    /* Who holds it, for the next run's message; the lock itself is the flock. */
    if (ftruncate(fd, 0) != 0 || pwrite(fd, line, (size_t)len, 0) != len) {
        format_error(err, err_len, "%s: cannot write: %s", path, strerror(errno));
        close(fd);
        return -1;
    }
    lock->fd = fd;
    return 0;
}

void run_dir_unlock(RunDirLock *lock) {
    if (lock->fd >= 0) close(lock->fd);
    lock->fd = -1;
}

static bool is_checkpoint_name(const char *name) {
    if (strcmp(name, "checkpoint-last") == 0) return true;
    if (strncmp(name, "checkpoint-", 11) != 0 || !name[11]) return false;
    for (const char *p = name + 11; *p; p++)
        if (*p < '0' || *p > '9') return false;
    return true;
}

/* The temporaries a run makes beside its checkpoints (pretrain.c,
 * finetune.c): .checkpoint-N.tmp, checkpoint-last.tmp and .old, best.tmp. */
static bool is_temporary_name(const char *name) {
    size_t n = strlen(name);
    if (strcmp(name, "checkpoint-last.tmp") == 0 || strcmp(name, "checkpoint-last.old") == 0 ||
        strcmp(name, "best.tmp") == 0)
        return true;
    return strncmp(name, ".checkpoint-", 12) == 0 && n > 16 && strcmp(name + n - 4, ".tmp") == 0;
}

bool run_dir_holds_run(const char *dir, char *what, size_t what_len) {
    DIR *d = opendir(dir);
    if (!d) return false;
    bool found = false;
    struct dirent *e;
    while (!found && (e = readdir(d)))
        if (is_checkpoint_name(e->d_name)) {
            snprintf(what, what_len, "%s", e->d_name);
            found = true;
        }
    closedir(d);
    static const char *const files[] = {"metrics.jsonl", "model.safetensors"};
    for (size_t i = 0; i < sizeof files / sizeof files[0] && !found; i++) {
        char path[4200];
        struct stat st;
        snprintf(path, sizeof path, "%s/%s", dir, files[i]);
        if (stat(path, &st) == 0) {
            snprintf(what, what_len, "%s", files[i]);
            found = true;
        }
    }
    return found;
}

int remove_flat_directory(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return errno == ENOENT ? 0 : -1;
    struct dirent *e;
    char path[4400];
    while ((e = readdir(d))) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        unlink(path);
    }
    closedir(d);
    return rmdir(dir) == 0 || errno == ENOENT ? 0 : -1;
}

int run_dir_clear(const char *dir, char *err, size_t err_len) {
    static const char *const files[] = {
        "metrics.jsonl", "curves.png", "config.json", "model.safetensors", "vocab.txt", "tokenizer.json",
        "tokenizer_config.json", "special_tokens_map.json", "training_args.json", "eval_report.json",
    };
    DIR *d = opendir(dir);
    if (!d) return 0;
    struct dirent *e;
    char path[4400];
    int rc = 0;
    while ((e = readdir(d))) {
        if (!is_checkpoint_name(e->d_name) && !is_temporary_name(e->d_name)) continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if (remove_flat_directory(path) != 0 && rc == 0) {
            format_error(err, err_len, "%s: cannot remove: %s", path, strerror(errno));
            rc = -1;
        }
    }
    closedir(d);
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, files[i]);
        if (unlink(path) != 0 && errno != ENOENT && rc == 0) {
            format_error(err, err_len, "%s: cannot remove: %s", path, strerror(errno));
            rc = -1;
        }
    }
    return rc;
}

/* Keeps the metrics of steps up to `step` only: a resumed run rewrites what
 * the interrupted run recorded after its last checkpoint. */
int run_dir_truncate_metrics(const char *path, long step, char *err, size_t err_len) {
    char *data = NULL;
    size_t len = 0;
    struct stat st;
    if (stat(path, &st) != 0) return 0;
    if (read_whole_file(path, &data, &len, err, err_len) != 0) return -1;
    size_t keep = 0;
    for (char *line = data; *line;) {
        char *end = strchr(line, '\n');
        size_t line_len = end ? (size_t)(end - line + 1) : strlen(line);
        char saved = line[line_len - (end ? 1 : 0)];
        line[line_len - (end ? 1 : 0)] = 0;
        cJSON *record = cJSON_Parse(line);
        const cJSON *s = cJSON_GetObjectItemCaseSensitive(record, "step");
        bool kept = cJSON_IsNumber(s) && s->valuedouble <= step;
        cJSON_Delete(record);
        line[line_len - (end ? 1 : 0)] = saved;
        if (kept) {
            memmove(data + keep, line, line_len);
            keep += line_len;
        }
        line += line_len;
    }
    int rc = atomic_write_file(path, data, keep, err, err_len);
    free(data);
    return rc;
}
