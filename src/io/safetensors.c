/* safetensors.c — reader (mmap + validated JSON header) and atomic writer for
 * the safetensors format; the layout is described in include/safetensors.h
 * and docs/checkpoints.md. */
#include "io/safetensors.h"

#include <cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <utf8proc.h>
#include "io/fileio.h"
#include "core/pages.h"

/* Tensor bytes are little-endian; on a little-endian host they are copied as is. */
_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "safetensors.c assumes a little-endian host");

static const struct { const char *name; size_t size; } dtype_table[ST_DTYPE_COUNT] = {
    [ST_BOOL] = { "BOOL", 1 }, [ST_U8] = { "U8", 1 }, [ST_I8] = { "I8", 1 },
    [ST_F8_E5M2] = { "F8_E5M2", 1 }, [ST_F8_E4M3] = { "F8_E4M3", 1 },
    [ST_I16] = { "I16", 2 }, [ST_U16] = { "U16", 2 }, [ST_F16] = { "F16", 2 }, [ST_BF16] = { "BF16", 2 },
    [ST_I32] = { "I32", 4 }, [ST_U32] = { "U32", 4 }, [ST_F32] = { "F32", 4 },
    [ST_F64] = { "F64", 8 }, [ST_I64] = { "I64", 8 }, [ST_U64] = { "U64", 8 },
};

const char *safetensors_dtype_name(SafeTensorDtype dtype) {
    return (unsigned)dtype < ST_DTYPE_COUNT ? dtype_table[dtype].name : "?";
}

size_t safetensors_dtype_size(SafeTensorDtype dtype) {
    return (unsigned)dtype < ST_DTYPE_COUNT ? dtype_table[dtype].size : 0;
}

static bool dtype_from_name(const char *name, SafeTensorDtype *dtype) {
    for (int d = 0; d < ST_DTYPE_COUNT; d++)
        if (strcmp(name, dtype_table[d].name) == 0) { *dtype = (SafeTensorDtype)d; return true; }
    return false;
}

struct SafeTensors {
    char *path;
    unsigned char *map;          /* the whole file */
    size_t map_len;
    const unsigned char *data;   /* the data buffer: map + 8 + header length */
    size_t data_len;
    SafeTensorInfo *tensors;
    int count;
    char **meta_keys, **meta_values;
    int meta_count;
};

void safetensors_close(SafeTensors *st) {
    if (!st) return;
    if (st->map) munmap(st->map, st->map_len);
    for (int i = 0; i < st->count; i++) free(st->tensors[i].name);
    for (int i = 0; i < st->meta_count; i++) { free(st->meta_keys[i]); free(st->meta_values[i]); }
    free(st->tensors);
    free(st->meta_keys);
    free(st->meta_values);
    free(st->path);
    free(st);
}

int safetensors_count(const SafeTensors *st) { return st->count; }

const SafeTensorInfo *safetensors_info(const SafeTensors *st, int i) {
    return i >= 0 && i < st->count ? &st->tensors[i] : NULL;
}

const SafeTensorInfo *safetensors_find(const SafeTensors *st, const char *name) {
    for (int i = 0; i < st->count; i++)
        if (strcmp(st->tensors[i].name, name) == 0) return &st->tensors[i];
    return NULL;
}

const char *safetensors_metadata(const SafeTensors *st, const char *key) {
    for (int i = 0; i < st->meta_count; i++)
        if (strcmp(st->meta_keys[i], key) == 0) return st->meta_values[i];
    return NULL;
}

/* A JSON number that is a non-negative integer small enough to be exact in a
 * double (cJSON stores numbers as double). */
static bool json_uint(const cJSON *item, int64_t *out) {
    if (!cJSON_IsNumber(item)) return false;
    double v = item->valuedouble;
    if (!(v >= 0 && v <= 9007199254740992.0) || v != (double)(int64_t)v) return false;
    *out = (int64_t)v;
    return true;
}

static char *string_copy(const char *s) {
    size_t n = strlen(s) + 1;
    char *c = malloc(n);
    if (c) memcpy(c, s, n);
    return c;
}

/* Parses one header entry `item` into info (name already set). */
static int parse_tensor_entry(const char *path, const cJSON *item, SafeTensorInfo *info,
                              size_t data_len, char *err, size_t err_len) {
    const char *name = info->name;
    if (!cJSON_IsObject(item)) {
        format_error(err, err_len, "%s: tensor \"%s\": entry is not a JSON object", path, name);
        return -1;
    }
    const cJSON *dtype = cJSON_GetObjectItemCaseSensitive(item, "dtype");
    const cJSON *shape = cJSON_GetObjectItemCaseSensitive(item, "shape");
    const cJSON *offsets = cJSON_GetObjectItemCaseSensitive(item, "data_offsets");
    if (!dtype || !shape || !offsets) {
        format_error(err, err_len, "%s: tensor \"%s\": missing \"%s\"", path, name,
                     !dtype ? "dtype" : !shape ? "shape" : "data_offsets");
        return -1;
    }
    if (!cJSON_IsString(dtype)) {
        format_error(err, err_len, "%s: tensor \"%s\": \"dtype\" is not a string", path, name);
        return -1;
    }
    if (!dtype_from_name(dtype->valuestring, &info->dtype)) {
        format_error(err, err_len, "%s: tensor \"%s\": unknown dtype \"%s\"", path, name, dtype->valuestring);
        return -1;
    }
    if (!cJSON_IsArray(shape)) {
        format_error(err, err_len, "%s: tensor \"%s\": \"shape\" is not an array", path, name);
        return -1;
    }
    int ndim = cJSON_GetArraySize(shape);
    if (ndim > SAFETENSORS_MAX_NDIM) {
        format_error(err, err_len, "%s: tensor \"%s\": shape has %d dimensions, more than the %d supported",
                     path, name, ndim, SAFETENSORS_MAX_NDIM);
        return -1;
    }
    info->ndim = ndim;
    info->numel = 1;
    for (int d = 0; d < ndim; d++) {
        int64_t n;
        if (!json_uint(cJSON_GetArrayItem(shape, d), &n)) {
            format_error(err, err_len, "%s: tensor \"%s\": shape[%d] is not a non-negative integer", path, name, d);
            return -1;
        }
        info->shape[d] = n;
        if (__builtin_mul_overflow(info->numel, n, &info->numel)) {
            format_error(err, err_len, "%s: tensor \"%s\": number of elements overflows", path, name);
            return -1;
        }
    }
    int64_t begin, end;
    if (!cJSON_IsArray(offsets) || cJSON_GetArraySize(offsets) != 2 ||
        !json_uint(cJSON_GetArrayItem(offsets, 0), &begin) || !json_uint(cJSON_GetArrayItem(offsets, 1), &end)) {
        format_error(err, err_len, "%s: tensor \"%s\": \"data_offsets\" is not [BEGIN, END] with non-negative integers",
                     path, name);
        return -1;
    }
    if (begin > end) {
        format_error(err, err_len, "%s: tensor \"%s\": data_offsets [%lld, %lld] has begin > end",
                     path, name, (long long)begin, (long long)end);
        return -1;
    }
    if ((uint64_t)end > data_len) {
        format_error(err, err_len, "%s: tensor \"%s\": data_offsets end %lld is beyond the %zu-byte data buffer "
                     "(file truncated?)", path, name, (long long)end, data_len);
        return -1;
    }
    int64_t nbytes;
    if (__builtin_mul_overflow(info->numel, (int64_t)dtype_table[info->dtype].size, &nbytes) ||
        nbytes != end - begin) {
        format_error(err, err_len, "%s: tensor \"%s\": data_offsets cover %lld bytes but %lld elements of %s "
                     "need %lld", path, name, (long long)(end - begin), (long long)info->numel,
                     dtype_table[info->dtype].name, (long long)info->numel * (long long)dtype_table[info->dtype].size);
        return -1;
    }
    info->begin = (size_t)begin;
    info->end = (size_t)end;
    return 0;
}

static int parse_metadata(SafeTensors *st, const cJSON *meta, char *err, size_t err_len) {
    if (!cJSON_IsObject(meta)) {
        format_error(err, err_len, "%s: \"__metadata__\" is not a JSON object", st->path);
        return -1;
    }
    int n = cJSON_GetArraySize(meta);
    st->meta_keys = calloc((size_t)n + 1, sizeof(char *));
    st->meta_values = calloc((size_t)n + 1, sizeof(char *));
    if (!st->meta_keys || !st->meta_values) {
        format_error(err, err_len, "%s: out of memory", st->path);
        return -1;
    }
    const cJSON *kv;
    cJSON_ArrayForEach(kv, meta) {
        if (!cJSON_IsString(kv)) {
            format_error(err, err_len, "%s: \"__metadata__\" value of \"%s\" is not a string", st->path, kv->string);
            return -1;
        }
        st->meta_keys[st->meta_count] = string_copy(kv->string);
        st->meta_values[st->meta_count] = string_copy(kv->valuestring);
        st->meta_count++;
        if (!st->meta_keys[st->meta_count - 1] || !st->meta_values[st->meta_count - 1]) {
            format_error(err, err_len, "%s: out of memory", st->path);
            return -1;
        }
    }
    return 0;
}

static int compare_by_name(const void *a, const void *b) {
    return strcmp((*(SafeTensorInfo *const *)a)->name, (*(SafeTensorInfo *const *)b)->name);
}

static int compare_by_offsets(const void *a, const void *b) {
    const SafeTensorInfo *x = *(SafeTensorInfo *const *)a, *y = *(SafeTensorInfo *const *)b;
    if (x->begin != y->begin) return x->begin < y->begin ? -1 : 1;
    if (x->end != y->end) return x->end < y->end ? -1 : 1;
    return 0;
}

/* Names are unique, and the tensors tile the data buffer: sorted by offset,
 * each begins where the previous ended and the last ends at the buffer's end
 * (the spec forbids holes, so no bytes hide in the file unaccounted for). */
static int check_layout(SafeTensors *st, char *err, size_t err_len) {
    if (st->count == 0) {
        if (st->data_len == 0) return 0;
        format_error(err, err_len, "%s: %zu bytes of data but no tensors", st->path, st->data_len);
        return -1;
    }
    SafeTensorInfo **order = malloc(sizeof(SafeTensorInfo *) * (size_t)st->count);
    if (!order) {
        format_error(err, err_len, "%s: out of memory", st->path);
        return -1;
    }
    for (int i = 0; i < st->count; i++) order[i] = &st->tensors[i];
    int rc = 0;
    qsort(order, (size_t)st->count, sizeof *order, compare_by_name);
    for (int i = 1; i < st->count && rc == 0; i++)
        if (strcmp(order[i - 1]->name, order[i]->name) == 0) {
            format_error(err, err_len, "%s: duplicate tensor name \"%s\"", st->path, order[i]->name);
            rc = -1;
        }
    qsort(order, (size_t)st->count, sizeof *order, compare_by_offsets);
    size_t expected = 0;
    for (int i = 0; i < st->count && rc == 0; i++) {
        const SafeTensorInfo *t = order[i];
        if (t->begin < expected) {
            format_error(err, err_len, "%s: tensor \"%s\" (bytes %zu..%zu) overlaps tensor \"%s\" (bytes %zu..%zu)",
                         st->path, t->name, t->begin, t->end, order[i - 1]->name, order[i - 1]->begin, order[i - 1]->end);
            rc = -1;
        } else if (t->begin > expected) {
            format_error(err, err_len, "%s: hole in the data buffer: bytes %zu..%zu belong to no tensor "
                         "(before tensor \"%s\")", st->path, expected, t->begin, t->name);
            rc = -1;
        }
        expected = t->end;
    }
    if (rc == 0 && expected != st->data_len) {
        format_error(err, err_len, "%s: hole in the data buffer: bytes %zu..%zu after the last tensor belong to no tensor",
                     st->path, expected, st->data_len);
        rc = -1;
    }
    free(order);
    return rc;
}

static bool valid_utf8(const unsigned char *s, size_t len) {
    size_t i = 0;
    while (i < len) {
        utf8proc_int32_t cp;
        utf8proc_ssize_t n = utf8proc_iterate(s + i, (utf8proc_ssize_t)(len - i), &cp);
        if (n <= 0) return false;
        i += (size_t)n;
    }
    return true;
}

static int parse_header(SafeTensors *st, const char *header, size_t header_len, char *err, size_t err_len) {
    if (header_len == 0 || header[0] != '{') {
        format_error(err, err_len, "%s: header does not start with '{'", st->path);
        return -1;
    }
    if (memchr(header, '\0', header_len)) {
        format_error(err, err_len, "%s: header contains a NUL byte", st->path);
        return -1;
    }
    if (!valid_utf8((const unsigned char *)header, header_len)) {
        format_error(err, err_len, "%s: header is not valid UTF-8", st->path);
        return -1;
    }
    const char *parse_end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(header, header_len, &parse_end, false);
    if (!root) {
        size_t at = parse_end ? (size_t)(parse_end - header) : 0;
        format_error(err, err_len, "%s: header is not valid JSON (error at byte %zu of the %zu-byte header)",
                     st->path, at, header_len);
        return -1;
    }
    /* The header may be padded after the JSON with spaces (any JSON whitespace is accepted). */
    for (const char *p = parse_end; p < header + header_len; p++)
        if (!strchr(" \t\r\n", *p)) {
            format_error(err, err_len, "%s: unexpected byte 0x%02x after the JSON header (at byte %zu of the header)",
                         st->path, (unsigned char)*p, (size_t)(p - header));
            cJSON_Delete(root);
            return -1;
        }
    int rc = 0;
    if (!cJSON_IsObject(root)) {
        format_error(err, err_len, "%s: header is not a JSON object", st->path);
        rc = -1;
    }
    int entries = rc == 0 ? cJSON_GetArraySize(root) : 0;
    st->tensors = calloc((size_t)entries + 1, sizeof(SafeTensorInfo));
    if (rc == 0 && !st->tensors) {
        format_error(err, err_len, "%s: out of memory", st->path);
        rc = -1;
    }
    int metadata_seen = 0;
    const cJSON *item;
    if (rc == 0) cJSON_ArrayForEach(item, root) {
        if (strcmp(item->string, "__metadata__") == 0) {
            if (metadata_seen++) {
                format_error(err, err_len, "%s: duplicate \"__metadata__\"", st->path);
                rc = -1;
            } else {
                rc = parse_metadata(st, item, err, err_len);
            }
        } else {
            SafeTensorInfo *info = &st->tensors[st->count];
            info->name = string_copy(item->string);
            if (!info->name) {
                format_error(err, err_len, "%s: out of memory", st->path);
                rc = -1;
                break;
            }
            st->count++;
            rc = parse_tensor_entry(st->path, item, info, st->data_len, err, err_len);
        }
        if (rc != 0) break;
    }
    cJSON_Delete(root);
    if (rc == 0) rc = check_layout(st, err, err_len);
    return rc;
}

SafeTensors *safetensors_open(const char *path, char *err, size_t err_len) {
    SafeTensors *st = calloc(1, sizeof *st);
    if (!st || !(st->path = string_copy(path))) {
        format_error(err, err_len, "%s: out of memory", path);
        free(st);
        return NULL;
    }
    int fd = open(path, O_RDONLY);
    if (fd < 0) {
        format_error(err, err_len, "%s: cannot open: %s", path, strerror(errno));
        safetensors_close(st);
        return NULL;
    }
    struct stat sb;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        format_error(err, err_len, "%s: not a regular file", path);
        close(fd);
        safetensors_close(st);
        return NULL;
    }
    size_t size = (size_t)sb.st_size;
    if (size < 8) {
        format_error(err, err_len, "%s: file is %zu bytes, too short for the 8-byte header length", path, size);
        close(fd);
        safetensors_close(st);
        return NULL;
    }
    void *map = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (map == MAP_FAILED) {
        format_error(err, err_len, "%s: cannot mmap %zu bytes: %s", path, size, strerror(errno));
        safetensors_close(st);
        return NULL;
    }
    st->map = map;
    st->map_len = size;
    uint64_t header_len = 0;
    for (int b = 7; b >= 0; b--) header_len = header_len << 8 | st->map[b];
    if (header_len > SAFETENSORS_MAX_HEADER) {
        format_error(err, err_len, "%s: header length %llu is absurd (limit %u bytes): not a safetensors file?",
                     path, (unsigned long long)header_len, SAFETENSORS_MAX_HEADER);
        safetensors_close(st);
        return NULL;
    }
    if (header_len > size - 8) {
        format_error(err, err_len, "%s: header length %llu is larger than the rest of the file (%zu bytes): "
                     "truncated or not a safetensors file", path, (unsigned long long)header_len, size - 8);
        safetensors_close(st);
        return NULL;
    }
    st->data = st->map + 8 + header_len;
    st->data_len = size - 8 - (size_t)header_len;
    if (parse_header(st, (const char *)st->map + 8, (size_t)header_len, err, err_len) != 0) {
        safetensors_close(st);
        return NULL;
    }
    return st;
}

/* Looks up `name` and checks its shape against shape[ndim]. */
static const SafeTensorInfo *find_checked(const SafeTensors *st, const char *name, int ndim,
                                          const int64_t *shape, char *err, size_t err_len) {
    const SafeTensorInfo *t = safetensors_find(st, name);
    if (!t) {
        format_error(err, err_len, "%s: no tensor named \"%s\"", st->path, name);
        return NULL;
    }
    bool same = t->ndim == ndim;
    for (int d = 0; same && d < ndim; d++) same = t->shape[d] == shape[d];
    if (!same) {
        char have[160] = "", want[160] = "";
        size_t h = 0, w = 0;
        for (int d = 0; d < t->ndim && h < sizeof have; d++)
            h += (size_t)snprintf(have + h, sizeof have - h, "%s%lld", d ? ", " : "", (long long)t->shape[d]);
        for (int d = 0; d < ndim && d < SAFETENSORS_MAX_NDIM && w < sizeof want; d++)
            w += (size_t)snprintf(want + w, sizeof want - w, "%s%lld", d ? ", " : "", (long long)shape[d]);
        format_error(err, err_len, "%s: tensor \"%s\" has shape [%s], expected [%s]", st->path, name, have, want);
        return NULL;
    }
    return t;
}

/* IEEE 754 binary16: sign, 5-bit exponent (bias 15), 10-bit mantissa.
 * Normal: (1024 + m)·2^(e−25); subnormal (e = 0): m·2^−24; e = 31: inf or NaN.
 * Every binary16 value is exact in float. */
static float f16_to_float(uint16_t h) {
    int e = (h >> 10) & 0x1f, m = h & 0x3ff;
    float v;
    if (e == 0) v = ldexpf((float)m, -24);
    else if (e == 31) v = m ? NAN : INFINITY;
    else v = ldexpf((float)(m | 0x400), e - 25);
    return (h & 0x8000) ? -v : v;
}

/* bfloat16 is the top half of a binary32. */
static float bf16_to_float(uint16_t h) {
    uint32_t bits = (uint32_t)h << 16;
    float v;
    memcpy(&v, &bits, sizeof v);
    return v;
}

/* As a tensor is copied out, the whole pages of the mapping it has been
 * copied from are dropped, a block at a time (they are file pages, read
 * again from the file should they be read again). So a model being loaded
 * occupies its own buffer and one block of the file, not the file as well:
 * 31 MB less at the peak for bert-mini's word embeddings alone. */
#define COPY_BLOCK_BYTES (1 << 20)

/* dst[i] = element i of src, a tensor of a float dtype; memcpy per element,
 * as the data need not be aligned in the mapping. */
static void copy_reals(real *dst, const unsigned char *src, int64_t from, int64_t to, SafeTensorDtype dtype) {
    switch (dtype) {
    case ST_F32:
        for (int64_t i = from; i < to; i++) { float v; memcpy(&v, src + 4 * i, 4); dst[i] = (real)v; }
        break;
    case ST_F64:
        for (int64_t i = from; i < to; i++) { double v; memcpy(&v, src + 8 * i, 8); dst[i] = (real)v; }
        break;
    case ST_F16:
        for (int64_t i = from; i < to; i++) { uint16_t v; memcpy(&v, src + 2 * i, 2); dst[i] = (real)f16_to_float(v); }
        break;
    default:   /* ST_BF16 */
        for (int64_t i = from; i < to; i++) { uint16_t v; memcpy(&v, src + 2 * i, 2); dst[i] = (real)bf16_to_float(v); }
        break;
    }
}

int safetensors_read_real(const SafeTensors *st, const char *name, real *dst, int ndim,
                          const int64_t *shape, char *err, size_t err_len) {
    const SafeTensorInfo *t = find_checked(st, name, ndim, shape, err, err_len);
    if (!t) return -1;
    if (t->dtype != ST_F32 && t->dtype != ST_F64 && t->dtype != ST_F16 && t->dtype != ST_BF16) {
        format_error(err, err_len, "%s: tensor \"%s\" has dtype %s, expected a float type (F32, F16, BF16, F64)",
                     st->path, name, dtype_table[t->dtype].name);
        return -1;
    }
    const unsigned char *src = st->data + t->begin;
    const int64_t size = (int64_t)dtype_table[t->dtype].size, block = COPY_BLOCK_BYTES / size;
    for (int64_t from = 0; from < t->numel; from += block) {
        int64_t to = t->numel - from < block ? t->numel : from + block;
        copy_reals(dst, src, from, to, t->dtype);
        release_whole_pages(src, (size_t)(to * size));
    }
    return 0;
}

int safetensors_read_int(const SafeTensors *st, const char *name, int *dst, int ndim,
                         const int64_t *shape, char *err, size_t err_len) {
    const SafeTensorInfo *t = find_checked(st, name, ndim, shape, err, err_len);
    if (!t) return -1;
    const unsigned char *src = st->data + t->begin;
    for (int64_t i = 0; i < t->numel; i++) {
        long long v;
        switch (t->dtype) {
        case ST_BOOL: case ST_U8: v = src[i]; break;
        case ST_I8: v = (int8_t)src[i]; break;
        case ST_I16: { int16_t x; memcpy(&x, src + 2 * i, 2); v = x; break; }
        case ST_U16: { uint16_t x; memcpy(&x, src + 2 * i, 2); v = x; break; }
        case ST_I32: { int32_t x; memcpy(&x, src + 4 * i, 4); v = x; break; }
        case ST_U32: { uint32_t x; memcpy(&x, src + 4 * i, 4); v = x; break; }
        case ST_I64: { int64_t x; memcpy(&x, src + 8 * i, 8); v = x; break; }
        case ST_U64: {
            uint64_t x;
            memcpy(&x, src + 8 * i, 8);
            v = x > (uint64_t)INT_MAX ? (long long)INT_MAX + 1 : (long long)x;
            break;
        }
        default:
            format_error(err, err_len, "%s: tensor \"%s\" has dtype %s, expected an integer type",
                         st->path, name, dtype_table[t->dtype].name);
            return -1;
        }
        if (v < INT_MIN || v > INT_MAX) {
            format_error(err, err_len, "%s: tensor \"%s\": element %lld does not fit in an int",
                         st->path, name, (long long)i);
            return -1;
        }
        dst[i] = (int)v;
    }
    return 0;
}

/* ---- writer ---------------------------------------------------------------- */

typedef struct {
    char *name;
    bool is_int;          /* int data written as I64, else real data written as F32 */
    const void *data;
    int ndim;
    int64_t shape[SAFETENSORS_MAX_NDIM];
    int64_t numel;
} WriterEntry;

struct SafeTensorsWriter {
    WriterEntry *entries;
    int count, cap;
    char **meta_keys, **meta_values;
    int meta_count, meta_cap;
    char error[256];      /* first bad add, reported by write */
};

SafeTensorsWriter *safetensors_writer_new(void) { return calloc(1, sizeof(SafeTensorsWriter)); }

void safetensors_writer_free(SafeTensorsWriter *w) {
    if (!w) return;
    for (int i = 0; i < w->count; i++) free(w->entries[i].name);
    for (int i = 0; i < w->meta_count; i++) { free(w->meta_keys[i]); free(w->meta_values[i]); }
    free(w->entries);
    free(w->meta_keys);
    free(w->meta_values);
    free(w);
}

static void writer_add(SafeTensorsWriter *w, const char *name, bool is_int, const void *data,
                       int ndim, const int64_t *shape) {
    if (w->error[0]) return;
    if (!name || !name[0] || strcmp(name, "__metadata__") == 0) {
        format_error(w->error, sizeof w->error, "invalid tensor name \"%s\"", name ? name : "(null)");
        return;
    }
    if (ndim < 0 || ndim > SAFETENSORS_MAX_NDIM || (ndim > 0 && !shape)) {
        format_error(w->error, sizeof w->error, "tensor \"%s\": ndim %d is not in 0..%d", name, ndim,
                     SAFETENSORS_MAX_NDIM);
        return;
    }
    WriterEntry e = { .is_int = is_int, .data = data, .ndim = ndim, .numel = 1 };
    for (int d = 0; d < ndim; d++) {
        if (shape[d] < 0 || __builtin_mul_overflow(e.numel, shape[d], &e.numel)) {
            format_error(w->error, sizeof w->error, "tensor \"%s\": invalid shape[%d] = %lld", name, d,
                         (long long)shape[d]);
            return;
        }
        e.shape[d] = shape[d];
    }
    if (e.numel > 0 && !data) {
        format_error(w->error, sizeof w->error, "tensor \"%s\": data is NULL", name);
        return;
    }
    if (w->count == w->cap) {
        int cap = w->cap ? 2 * w->cap : 16;
        WriterEntry *grown = realloc(w->entries, sizeof(WriterEntry) * (size_t)cap);
        if (!grown) { format_error(w->error, sizeof w->error, "out of memory"); return; }
        w->entries = grown;
        w->cap = cap;
    }
    if (!(e.name = string_copy(name))) { format_error(w->error, sizeof w->error, "out of memory"); return; }
    w->entries[w->count++] = e;
}

void safetensors_writer_add_real(SafeTensorsWriter *w, const char *name, const real *data,
                                 int ndim, const int64_t *shape) {
    writer_add(w, name, false, data, ndim, shape);
}

void safetensors_writer_add_int(SafeTensorsWriter *w, const char *name, const int *data,
                                int ndim, const int64_t *shape) {
    writer_add(w, name, true, data, ndim, shape);
}

void safetensors_writer_set_metadata(SafeTensorsWriter *w, const char *key, const char *value) {
    if (w->error[0]) return;
    if (!key || !value) { format_error(w->error, sizeof w->error, "metadata key or value is NULL"); return; }
    char *v = string_copy(value);
    if (!v) { format_error(w->error, sizeof w->error, "out of memory"); return; }
    for (int i = 0; i < w->meta_count; i++)
        if (strcmp(w->meta_keys[i], key) == 0) { free(w->meta_values[i]); w->meta_values[i] = v; return; }
    if (w->meta_count == w->meta_cap) {
        int cap = w->meta_cap ? 2 * w->meta_cap : 8;
        char **k2 = realloc(w->meta_keys, sizeof(char *) * (size_t)cap);
        if (k2) w->meta_keys = k2;
        char **v2 = realloc(w->meta_values, sizeof(char *) * (size_t)cap);
        if (v2) w->meta_values = v2;
        if (!k2 || !v2) { free(v); format_error(w->error, sizeof w->error, "out of memory"); return; }
        w->meta_cap = cap;
    }
    char *k = string_copy(key);
    if (!k) { free(v); format_error(w->error, sizeof w->error, "out of memory"); return; }
    w->meta_keys[w->meta_count] = k;
    w->meta_values[w->meta_count] = v;
    w->meta_count++;
}

static int compare_entry_names(const void *a, const void *b) {
    return strcmp(((const WriterEntry *)a)->name, ((const WriterEntry *)b)->name);
}

/* The reference writer's order: decreasing dtype (I64 before F32), then name. */
static int compare_entries(const void *a, const void *b) {
    const WriterEntry *x = a, *y = b;
    if (x->is_int != y->is_int) return x->is_int ? -1 : 1;
    return strcmp(x->name, y->name);
}

/* The header JSON (without padding) for entries already in file order. */
static char *build_header(const SafeTensorsWriter *w) {
    cJSON *root = cJSON_CreateObject();
    bool ok = root != NULL;
    if (ok && w->meta_count > 0) {
        cJSON *meta = cJSON_AddObjectToObject(root, "__metadata__");
        ok = meta != NULL;
        for (int i = 0; ok && i < w->meta_count; i++)
            ok = cJSON_AddStringToObject(meta, w->meta_keys[i], w->meta_values[i]) != NULL;
    }
    int64_t offset = 0;
    for (int i = 0; ok && i < w->count; i++) {
        const WriterEntry *e = &w->entries[i];
        int64_t nbytes = e->numel * (e->is_int ? 8 : 4);
        cJSON *t = cJSON_AddObjectToObject(root, e->name);
        cJSON *shape = t ? cJSON_AddArrayToObject(t, "shape") : NULL;
        ok = t && cJSON_AddStringToObject(t, "dtype", e->is_int ? "I64" : "F32") && shape;
        for (int d = 0; ok && d < e->ndim; d++) ok = cJSON_AddItemToArray(shape, cJSON_CreateNumber((double)e->shape[d]));
        cJSON *offsets = ok ? cJSON_AddArrayToObject(t, "data_offsets") : NULL;
        ok = offsets && cJSON_AddItemToArray(offsets, cJSON_CreateNumber((double)offset)) &&
             cJSON_AddItemToArray(offsets, cJSON_CreateNumber((double)(offset + nbytes)));
        offset += nbytes;
    }
    char *text = ok ? cJSON_PrintUnformatted(root) : NULL;
    cJSON_Delete(root);
    return text;
}

static bool write_entry_data(FILE *fp, const WriterEntry *e) {
    enum { CHUNK = 4096 };
    if (e->is_int) {
        int64_t buf[CHUNK];
        const int *src = e->data;
        for (int64_t i = 0; i < e->numel; i += CHUNK) {
            size_t n = (size_t)(e->numel - i < CHUNK ? e->numel - i : CHUNK);
            for (size_t j = 0; j < n; j++) buf[j] = src[i + (int64_t)j];
            if (fwrite(buf, sizeof buf[0], n, fp) != n) return false;
        }
    } else {
        float buf[CHUNK];
        const real *src = e->data;
        for (int64_t i = 0; i < e->numel; i += CHUNK) {
            size_t n = (size_t)(e->numel - i < CHUNK ? e->numel - i : CHUNK);
            for (size_t j = 0; j < n; j++) buf[j] = (float)src[i + (int64_t)j];
            if (fwrite(buf, sizeof buf[0], n, fp) != n) return false;
        }
    }
    return true;
}

int safetensors_writer_write(SafeTensorsWriter *w, const char *path, char *err, size_t err_len) {
    if (w->error[0]) {
        format_error(err, err_len, "%s: not written: %s", path, w->error);
        return -1;
    }
    qsort(w->entries, (size_t)w->count, sizeof(WriterEntry), compare_entry_names);
    for (int i = 1; i < w->count; i++)
        if (strcmp(w->entries[i - 1].name, w->entries[i].name) == 0) {
            format_error(err, err_len, "%s: not written: duplicate tensor name \"%s\"", path, w->entries[i].name);
            return -1;
        }
    qsort(w->entries, (size_t)w->count, sizeof(WriterEntry), compare_entries);
    char *header = build_header(w);
    if (!header) {
        format_error(err, err_len, "%s: out of memory building the header", path);
        return -1;
    }
    size_t json_len = strlen(header);
    size_t padded_len = (json_len + 7) / 8 * 8;   /* data then starts at 8 + padded_len, a multiple of 8 */
    unsigned char len_bytes[8];
    for (int b = 0; b < 8; b++) len_bytes[b] = (unsigned char)((uint64_t)padded_len >> (8 * b));
    AtomicFile f;
    if (atomic_write_begin(&f, path, err, err_len) != 0) {
        free(header);
        return -1;
    }
    bool ok = fwrite(len_bytes, 1, 8, f.fp) == 8 && fwrite(header, 1, json_len, f.fp) == json_len;
    for (size_t i = json_len; ok && i < padded_len; i++) ok = fputc(' ', f.fp) != EOF;
    for (int i = 0; ok && i < w->count; i++) ok = write_entry_data(f.fp, &w->entries[i]);
    free(header);
    if (!ok) {
        format_error(err, err_len, "%s: write failed: %s", path, strerror(errno));
        atomic_write_abort(&f);
        return -1;
    }
    return atomic_write_commit(&f, err, err_len);
}
