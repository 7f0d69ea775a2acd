/* pages.c — see pages.h. */
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>
#include "core/pages.h"

void release_whole_pages(const void *start, size_t bytes) {
    const uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
    uintptr_t first = ((uintptr_t)start + page - 1) & ~(page - 1), end = ((uintptr_t)start + bytes) & ~(page - 1);
    if (end > first) madvise((void *)first, end - first, MADV_DONTNEED);
}
