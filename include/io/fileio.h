/* fileio.h — whole-file reads, atomic file writes and error formatting shared
 * by the checkpoint formats (safetensors, config.json) and trainer state.
 *
 * Atomic write: data goes to PATH.tmp.PID, which is flushed, fsync'd, closed
 * and rename()d over PATH, then the directory is fsync'd so the rename itself
 * survives a crash. A reader therefore sees either the old PATH or the complete
 * new one, never a half-written file. Every function returns 0 on success and
 * -1 on failure with a message naming the file in err (err may be NULL). */
#ifndef BERT_FILEIO_H
#define BERT_FILEIO_H

#include <stddef.h>
#include <stdio.h>

/* snprintf into err[err_len] (no-op when err is NULL or err_len is 0). */
void format_error(char *err, size_t err_len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Reads all of PATH into a malloc'd buffer *data of *len bytes, followed by a
 * '\0' that is not counted in *len (so text files can be used as C strings).
 * The caller frees *data. */
int read_whole_file(const char *path, char **data, size_t *len, char *err, size_t err_len);

/* A file being written atomically. fp is an ordinary stdio stream: write to it
 * with fwrite/fprintf, then commit (publish) or abort (discard). */
typedef struct {
    FILE *fp;
    char *path;      /* the final name (a symlink's target, resolved) */
    char *tmp_path;  /* PATH.tmp.PID; NULL when writing straight to a device or FIFO */
} AtomicFile;

/* Creates PATH.tmp.PID for writing. Only a regular file is ever replaced:
 * when PATH is a symlink the file it points to is written (the link stays);
 * a character or block device, FIFO or socket (/dev/full, /dev/stdout, a
 * pipe) is opened and written directly, with no temporary file or rename;
 * a directory is an error. */
int atomic_write_begin(AtomicFile *f, const char *path, char *err, size_t err_len);

/* Checks that every write succeeded, fsyncs, renames over PATH and fsyncs the
 * directory. On failure the temporary file is removed and PATH is untouched.
 * Either way f is released. */
int atomic_write_commit(AtomicFile *f, char *err, size_t err_len);

/* Closes and removes the temporary file; PATH is untouched. Safe to call on an
 * AtomicFile that failed to begin or was already committed. */
void atomic_write_abort(AtomicFile *f);

/* The whole of data[len] written to PATH atomically. */
int atomic_write_file(const char *path, const void *data, size_t len, char *err, size_t err_len);

/* 1-based line and column of byte `offset` in text[len] (for error messages). */
/* mkdir -p: creates dir and any missing parents (0755). 0, or −1 with err. */
int make_directory_path(const char *dir, char *err, size_t err_len);

void text_line_col(const char *text, size_t len, size_t offset, int *line, int *col);

#endif
