/* pages.h — giving memory that is no longer needed back to the system.
 *
 * Used where one copy of some data replaces another for good: a
 * forward-only bf16 model's f32 product weights (model.c), and a
 * checkpoint's mapped file pages once a tensor is copied out
 * (safetensors.c). */
#ifndef BERT_PAGES_H
#define BERT_PAGES_H

#include <stddef.h>

/* madvise(MADV_DONTNEED) on the whole pages inside [start, start + bytes);
 * the partial pages at either end are left alone, since they may hold
 * neighbouring data. Afterwards anonymous memory reads as zeros and an
 * unmodified private file mapping reads the file again. */
void release_whole_pages(const void *start, size_t bytes);

#endif
