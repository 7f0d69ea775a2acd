/* safetensors.h — reading and writing Hugging Face safetensors files, the
 * format of bert.c checkpoints (docs/checkpoints.md).
 *
 * Layout: an 8-byte little-endian u64 N, then N bytes of UTF-8 JSON
 *   {"__metadata__": {"key": "value", ...},
 *    "NAME": {"dtype": "F32", "shape": [d0, d1, ...], "data_offsets": [BEGIN, END]}, ...}
 * (padded at the end with spaces), then the data buffer. Offsets are relative
 * to the first byte after the header; tensors are little-endian, row-major,
 * and must cover the data buffer exactly (no holes, no overlaps).
 *
 * The reader validates every field before using it, so a malformed or
 * truncated file gives an error naming the file and the problem, never a read
 * out of bounds. Functions returning int give 0 on success, -1 on error with a
 * message in err (which may be NULL). */
#ifndef BERT_SAFETENSORS_H
#define BERT_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>
#include "core/real.h"

/* In the order of the reference implementation, which is increasing
 * alignment; its writer lays tensors out by decreasing dtype in this order. */
typedef enum {
    ST_BOOL, ST_U8, ST_I8, ST_F8_E5M2, ST_F8_E4M3, ST_I16, ST_U16, ST_F16, ST_BF16,
    ST_I32, ST_U32, ST_F32, ST_F64, ST_I64, ST_U64, ST_DTYPE_COUNT
} SafeTensorDtype;

#define SAFETENSORS_MAX_NDIM 8
/* The reference implementation refuses headers larger than this. */
#define SAFETENSORS_MAX_HEADER (100u << 20)

typedef struct {
    char *name;
    SafeTensorDtype dtype;
    int ndim;
    int64_t shape[SAFETENSORS_MAX_NDIM];
    int64_t numel;       /* product of shape; 1 for a scalar (ndim 0) */
    size_t begin, end;   /* byte range in the data buffer */
} SafeTensorInfo;

const char *safetensors_dtype_name(SafeTensorDtype dtype);   /* "F32", ... */
size_t safetensors_dtype_size(SafeTensorDtype dtype);        /* bytes per element */

/* ---- reader ---- */

typedef struct SafeTensors SafeTensors;   /* an opened file: header parsed, data mmapped */

SafeTensors *safetensors_open(const char *path, char *err, size_t err_len);
void safetensors_close(SafeTensors *st);
int  safetensors_count(const SafeTensors *st);
/* Tensors in header order, 0 <= i < count. */
const SafeTensorInfo *safetensors_info(const SafeTensors *st, int i);
const SafeTensorInfo *safetensors_find(const SafeTensors *st, const char *name);   /* NULL if absent */
const char *safetensors_metadata(const SafeTensors *st, const char *key);          /* NULL if absent */

/* Copies tensor `name` into dst[numel], converting F32/F16/BF16/F64 to real
 * (F16 and BF16 exactly; F64 rounds in the float build). Fails with a clear
 * message if the name is absent, the dtype is not a float type, or the shape
 * is not exactly shape[ndim]. */
int safetensors_read_real(const SafeTensors *st, const char *name, real *dst, int ndim,
                          const int64_t *shape, char *err, size_t err_len);

/* Same for integer tensors (BOOL/U8/I8/I16/U16/I32/U32/I64/U64) into int; a
 * value outside int's range is an error. */
int safetensors_read_int(const SafeTensors *st, const char *name, int *dst, int ndim,
                         const int64_t *shape, char *err, size_t err_len);

/* ---- writer ---- */

/* Collects tensors by pointer (not copied: they must stay valid until
 * safetensors_writer_write), then writes the file atomically (fileio.h).
 * Float data is written as F32 whatever `real` is; int data as I64. The layout
 * is the reference writer's: tensors ordered by dtype (I64 before F32), then by
 * name (strcmp), and the header padded with spaces so the data buffer starts at
 * a multiple of 8 bytes. A bad argument to an add function (ndim, shape,
 * duplicate name) is remembered and reported by safetensors_writer_write. */
typedef struct SafeTensorsWriter SafeTensorsWriter;

SafeTensorsWriter *safetensors_writer_new(void);   /* NULL if out of memory */
void safetensors_writer_add_real(SafeTensorsWriter *w, const char *name, const real *data,
                                 int ndim, const int64_t *shape);
void safetensors_writer_add_int(SafeTensorsWriter *w, const char *name, const int *data,
                                int ndim, const int64_t *shape);
/* Sets (or replaces) one "__metadata__" string. */
void safetensors_writer_set_metadata(SafeTensorsWriter *w, const char *key, const char *value);
int  safetensors_writer_write(SafeTensorsWriter *w, const char *path, char *err, size_t err_len);
void safetensors_writer_free(SafeTensorsWriter *w);

#endif
