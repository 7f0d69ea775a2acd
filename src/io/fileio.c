/* fileio.c — whole-file reads and crash-safe (write, fsync, rename) writes. */
#include "io/fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void format_error(char *err, size_t err_len, const char *fmt, ...) {
    if (!err || err_len == 0) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, err_len, fmt, ap);
    va_end(ap);
}

int read_whole_file(const char *path, char **data, size_t *len, char *err, size_t err_len) {
    *data = NULL;
    *len = 0;
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        format_error(err, err_len, "%s: cannot open for reading: %s", path, strerror(errno));
        return -1;
    }
    struct stat st;
    if (fstat(fileno(fp), &st) != 0 || !S_ISREG(st.st_mode)) {
        format_error(err, err_len, "%s: not a regular file", path);
        fclose(fp);
        return -1;
    }
    size_t size = (size_t)st.st_size;
    char *buf = malloc(size + 1);
    if (!buf) {
        format_error(err, err_len, "%s: out of memory reading %zu bytes", path, size);
        fclose(fp);
        return -1;
    }
    size_t got = fread(buf, 1, size, fp);
    int read_error = ferror(fp);
    fclose(fp);
    if (got != size || read_error) {
        format_error(err, err_len, "%s: read %zu of %zu bytes: %s", path, got, size,
                     read_error ? strerror(errno) : "file changed while reading");
        free(buf);
        return -1;
    }
    buf[size] = '\0';
    *data = buf;
    *len = size;
    return 0;
}

static char *string_copy(const char *s) {
    size_t n = strlen(s) + 1;
    char *c = malloc(n);
    if (c) memcpy(c, s, n);
    return c;
}

static void atomic_file_release(AtomicFile *f) {
    free(f->path);
    free(f->tmp_path);
    f->fp = NULL;
    f->path = f->tmp_path = NULL;
}

/* PATH with every symlink at its end replaced by what it points to (a
 * relative target is relative to the link's directory), malloc'd; NULL with
 * errno set (ELOOP after 40 links) or 0 if out of memory. */
static char *follow_symlinks(const char *path) {
    char *p = string_copy(path);
    for (int hops = 0; p; hops++) {
        struct stat st;
        if (lstat(p, &st) != 0 || !S_ISLNK(st.st_mode)) return p;
        if (hops == 40) { free(p); errno = ELOOP; return NULL; }
        char target[PATH_MAX];
        ssize_t n = readlink(p, target, sizeof target - 1);
        if (n < 0) { free(p); return NULL; }
        target[n] = 0;
        const char *slash = strrchr(p, '/');
        size_t dir_len = target[0] == '/' || !slash ? 0 : (size_t)(slash - p) + 1;
        char *next = malloc(dir_len + (size_t)n + 1);
        if (next) {
            memcpy(next, p, dir_len);
            memcpy(next + dir_len, target, (size_t)n + 1);
        }
        free(p);
        p = next;
        errno = 0;
    }
    errno = 0;
    return NULL;
}

int atomic_write_begin(AtomicFile *f, const char *path, char *err, size_t err_len) {
    f->fp = NULL;
    f->tmp_path = NULL;
    /* Through a symlink: replace the file it names (which may not exist yet), not the link. */
    f->path = follow_symlinks(path);
    if (!f->path) {
        format_error(err, err_len, "%s: cannot follow the symlink: %s", path, errno ? strerror(errno) : "out of memory");
        return -1;
    }
    struct stat st;
    bool exists = stat(f->path, &st) == 0;
    if (exists && S_ISDIR(st.st_mode)) {
        format_error(err, err_len, "%s: is a directory", path);
        atomic_file_release(f);
        return -1;
    }
    if (exists && !S_ISREG(st.st_mode)) {
        f->fp = fopen(f->path, "wb");
        if (!f->fp) {
            format_error(err, err_len, "%s: cannot open for writing: %s", path, strerror(errno));
            atomic_file_release(f);
            return -1;
        }
        return 0;
    }
    size_t n = strlen(f->path) + 32;
    f->tmp_path = malloc(n);
    if (!f->tmp_path) {
        format_error(err, err_len, "%s: out of memory", path);
        atomic_file_release(f);
        return -1;
    }
    snprintf(f->tmp_path, n, "%s.tmp.%ld", f->path, (long)getpid());
    f->fp = fopen(f->tmp_path, "wb");
    if (!f->fp) {
        format_error(err, err_len, "%s: cannot create %s: %s", path, f->tmp_path, strerror(errno));
        atomic_file_release(f);
        return -1;
    }
    return 0;
}

void atomic_write_abort(AtomicFile *f) {
    if (f->fp) fclose(f->fp);
    if (f->tmp_path) unlink(f->tmp_path);
    atomic_file_release(f);
}

/* fsync the directory holding path, so a rename into it is durable. */
static int fsync_parent_dir(const char *path) {
    const char *slash = strrchr(path, '/');
    char *dir = slash ? strndup(path, slash == path ? 1 : (size_t)(slash - path)) : string_copy(".");
    if (!dir) return -1;
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    free(dir);
    if (fd < 0) return -1;
    int rc = fsync(fd);
    close(fd);
    return rc;
}

int atomic_write_commit(AtomicFile *f, char *err, size_t err_len) {
    if (!f->fp) {
        format_error(err, err_len, "%s: atomic write was not started", f->path ? f->path : "(null)");
        atomic_write_abort(f);
        return -1;
    }
    if (!f->tmp_path) {   /* a device or FIFO, written directly */
        errno = 0;
        bool failed = ferror(f->fp) != 0;
        failed |= fflush(f->fp) != 0;
        int saved = errno;
        failed |= fclose(f->fp) != 0;
        f->fp = NULL;
        if (failed) format_error(err, err_len, "%s: write failed: %s", f->path, strerror(saved ? saved : errno));
        atomic_file_release(f);
        return failed ? -1 : 0;
    }
    /* ferror catches any earlier fwrite that failed (disk full, ...). */
    if (ferror(f->fp) || fflush(f->fp) != 0 || fsync(fileno(f->fp)) != 0) {
        format_error(err, err_len, "%s: writing %s failed: %s", f->path, f->tmp_path, strerror(errno));
        atomic_write_abort(f);
        return -1;
    }
    int close_rc = fclose(f->fp);
    f->fp = NULL;
    if (close_rc != 0) {
        format_error(err, err_len, "%s: closing %s failed: %s", f->path, f->tmp_path, strerror(errno));
        atomic_write_abort(f);
        return -1;
    }
    if (rename(f->tmp_path, f->path) != 0) {
        format_error(err, err_len, "%s: cannot rename %s over it: %s", f->path, f->tmp_path, strerror(errno));
        atomic_write_abort(f);
        return -1;
    }
    if (fsync_parent_dir(f->path) != 0) {
        /* The file is complete and in place; only its durability across a
         * power cut is in doubt, which is worth reporting but not undoing. */
        format_error(err, err_len, "%s: written, but fsync of its directory failed: %s", f->path, strerror(errno));
        atomic_file_release(f);
        return -1;
    }
    atomic_file_release(f);
    return 0;
}

int atomic_write_file(const char *path, const void *data, size_t len, char *err, size_t err_len) {
    AtomicFile f;
    if (atomic_write_begin(&f, path, err, err_len) != 0) return -1;
    if (len > 0 && fwrite(data, 1, len, f.fp) != len) {
        format_error(err, err_len, "%s: writing %s failed: %s", path, f.tmp_path, strerror(errno));
        atomic_write_abort(&f);
        return -1;
    }
    return atomic_write_commit(&f, err, err_len);
}

void text_line_col(const char *text, size_t len, size_t offset, int *line, int *col) {
    int l = 1, c = 1;
    for (size_t i = 0; i < offset && i < len; i++) {
        if (text[i] == '\n') { l++; c = 1; }
        else c++;
    }
    *line = l;
    *col = c;
}

int make_directory_path(const char *dir, char *err, size_t err_len) {
    char path[4096];
    snprintf(path, sizeof path, "%s", dir);
    for (char *p = path + 1; *p; p++) {
        if (*p != '/') continue;
        *p = 0;
        if (mkdir(path, 0755) != 0 && errno != EEXIST) goto fail;
        *p = '/';
    }
    if (mkdir(path, 0755) != 0 && errno != EEXIST) goto fail;
    return 0;
fail:
    format_error(err, err_len, "%s: cannot create directory: %s", path, strerror(errno));
    return -1;
}
