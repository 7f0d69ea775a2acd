/* fuzz_util.h — shared by the libFuzzer harnesses in tests/fuzz/: the parsers
 * read files by path, so each input is written to a per-process scratch file
 * first (in /dev/shm when it exists: no disk traffic). */
#ifndef BERT_FUZZ_UTIL_H
#define BERT_FUZZ_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/* Writes data[size] to a scratch file named …SUFFIX and returns its path
 * (static storage, reused by every call in the process). */
static inline const char *fuzz_write_input(const uint8_t *data, size_t size, const char *suffix) {
    static char path[256];
    const char *dir = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    snprintf(path, sizeof path, "%s/bertc-fuzz-%ld%s", dir, (long)getpid(), suffix);
    FILE *f = fopen(path, "wb");
    if (!f) abort();
    if (size && fwrite(data, 1, size, f) != size) abort();
    if (fclose(f) != 0) abort();
    return path;
}

#endif
