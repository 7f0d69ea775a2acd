/* test_safetensors.c — the reader against a fixture written independently by
 * tests/reference/make_safetensors_fixture.py (Python struct + json), writer
 * round trips, and one malformed file per validation error. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "test_util.h"
#include "tmpdir.h"
#include "io/safetensors.h"
#include "io/fileio.h"

#define FIXTURE "tests/reference/fixture.safetensors"

static char tmpdir[64];

/* ---- the independent fixture ---- */

START_TEST(reads_python_fixture) {
    char err[256];
    SafeTensors *st = safetensors_open(FIXTURE, err, sizeof err);
    ck_assert_msg(st != NULL, "%s", err);
    ck_assert_int_eq(safetensors_count(st), 6);
    ck_assert_str_eq(safetensors_metadata(st, "format"), "pt");
    ck_assert_str_eq(safetensors_metadata(st, "producer"), "make_safetensors_fixture.py");
    ck_assert_ptr_null(safetensors_metadata(st, "absent"));
    ck_assert_ptr_null(safetensors_find(st, "absent"));

    const SafeTensorInfo *t = safetensors_find(st, "f32");
    ck_assert_ptr_nonnull(t);
    ck_assert_int_eq(t->dtype, ST_F32);
    ck_assert_int_eq(t->ndim, 2);
    ck_assert_int_eq(t->shape[0], 2);
    ck_assert_int_eq(t->shape[1], 3);
    ck_assert_int_eq(t->numel, 6);
    ck_assert_uint_eq(t->begin, 40);   /* after f64 (16 bytes) and i64 (24 bytes) */
    ck_assert_uint_eq(t->end, 64);
    ck_assert_str_eq(safetensors_info(st, 0)->name, "f64");   /* header order */
    ck_assert_ptr_null(safetensors_info(st, 6));

    /* F32: every float is exact in real */
    real f32[6];
    int64_t shape23[2] = { 2, 3 };
    ck_assert_int_eq(safetensors_read_real(st, "f32", f32, 2, shape23, err, sizeof err), 0);
    const float want32[6] = { 1.5f, -2.25f, 3.0e-8f, 1.0e30f, -0.0f, 0.1f };
    for (int i = 0; i < 6; i++) ck_assert_msg(f32[i] == (real)want32[i], "f32[%d] = %g", i, (double)f32[i]);
    ck_assert(signbit(f32[4]));

    /* F16: normal, smallest and largest subnormal, largest finite, inf, -0 */
    real f16[7];
    int64_t shape7[1] = { 7 };
    ck_assert_msg(safetensors_read_real(st, "f16", f16, 1, shape7, err, sizeof err) == 0, "%s", err);
    ck_assert(f16[0] == 1);
    ck_assert(f16[1] == (real)-2.5);
    ck_assert(f16[2] == (real)ldexp(1.0, -24));
    ck_assert(f16[3] == (real)(1023 * ldexp(1.0, -24)));
    ck_assert(f16[4] == 65504);
    ck_assert(isinf(f16[5]) && f16[5] > 0);
    ck_assert(f16[6] == 0 && signbit(f16[6]));

    /* BF16, including a value that is subnormal in float32 */
    real bf16[4];
    int64_t shape22[2] = { 2, 2 };
    ck_assert_int_eq(safetensors_read_real(st, "bf16", bf16, 2, shape22, err, sizeof err), 0);
    ck_assert(bf16[0] == 1);
    ck_assert(bf16[1] == (real)-3.5);
    ck_assert(bf16[2] == (real)0.15625);
    ck_assert(bf16[3] == (real)ldexp(1.0, -130));

    /* F64 rounds to real */
    real f64[2];
    int64_t shape2[1] = { 2 };
    ck_assert_int_eq(safetensors_read_real(st, "f64", f64, 1, shape2, err, sizeof err), 0);
    ck_assert(f64[0] == (real)0.1);
    ck_assert(f64[1] == (real)-12345.678);

    /* Integers */
    int i64[3], mask[4];
    int64_t shape3[1] = { 3 }, shape4[1] = { 4 };
    ck_assert_int_eq(safetensors_read_int(st, "i64", i64, 1, shape3, err, sizeof err), 0);
    ck_assert_int_eq(i64[0], 0);
    ck_assert_int_eq(i64[1], -7);
    ck_assert_int_eq(i64[2], 2147483647);
    ck_assert_int_eq(safetensors_read_int(st, "mask", mask, 1, shape4, err, sizeof err), 0);
    ck_assert(mask[0] == 1 && mask[1] == 0 && mask[2] == 0 && mask[3] == 1);

    /* Wrong requests */
    ck_assert_int_eq(safetensors_read_real(st, "i64", f32, 1, shape3, err, sizeof err), -1);
    ck_assert_msg(strstr(err, FIXTURE) && strstr(err, "\"i64\" has dtype I64, expected a float type"), "%s", err);
    ck_assert_int_eq(safetensors_read_int(st, "f32", i64, 2, shape23, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "dtype F32, expected an integer type"), "%s", err);
    int64_t shape32[2] = { 3, 2 };
    ck_assert_int_eq(safetensors_read_real(st, "f32", f32, 2, shape32, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "\"f32\" has shape [2, 3], expected [3, 2]"), "%s", err);
    ck_assert_int_eq(safetensors_read_real(st, "f32", f32, 1, shape7, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "has shape [2, 3], expected [7]"), "%s", err);
    ck_assert_int_eq(safetensors_read_real(st, "nope", f32, 1, shape7, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "no tensor named \"nope\""), "%s", err);
    safetensors_close(st);
}
END_TEST

/* ---- writer round trip ---- */

START_TEST(writer_round_trip) {
    tmpdir_create(tmpdir, "st");
    char path[128], err[256];
    snprintf(path, sizeof path, "%s/model.safetensors", tmpdir);
    real w[6] = { (real)0.1, -2, (real)3.25e-7, 1e6, 0, (real)-0.5 };
    real bias[3] = { 1, 2, 3 };
    real scalar = (real)42.5;
    int ids[4] = { -3, 0, 7, 2147483647 };
    int64_t shape_w[2] = { 2, 3 }, shape_b[1] = { 3 }, shape_ids[1] = { 4 }, shape_empty[2] = { 0, 5 };
    SafeTensorsWriter *wr = safetensors_writer_new();
    safetensors_writer_add_real(wr, "layer.weight", w, 2, shape_w);
    safetensors_writer_add_real(wr, "layer.bias", bias, 1, shape_b);
    safetensors_writer_add_real(wr, "scale", &scalar, 0, NULL);
    safetensors_writer_add_real(wr, "empty", NULL, 2, shape_empty);
    safetensors_writer_add_int(wr, "ids", ids, 1, shape_ids);
    safetensors_writer_set_metadata(wr, "format", "np");
    safetensors_writer_set_metadata(wr, "step", "10");
    safetensors_writer_set_metadata(wr, "format", "pt");   /* replaces */
    ck_assert_msg(safetensors_writer_write(wr, path, err, sizeof err) == 0, "%s", err);
    safetensors_writer_free(wr);

    /* Data starts 8-byte aligned: the header length is a multiple of 8. */
    FILE *fp = fopen(path, "rb");
    unsigned char len_bytes[8];
    ck_assert_uint_eq(fread(len_bytes, 1, 8, fp), 8);
    fclose(fp);
    uint64_t header_len = 0;
    for (int b = 7; b >= 0; b--) header_len = header_len << 8 | len_bytes[b];
    ck_assert_uint_eq(header_len % 8, 0);

    SafeTensors *st = safetensors_open(path, err, sizeof err);
    ck_assert_msg(st != NULL, "%s", err);
    ck_assert_int_eq(safetensors_count(st), 5);
    /* The reference writer's order: I64 first, then F32 by name */
    const char *order[5] = { "ids", "empty", "layer.bias", "layer.weight", "scale" };
    for (int i = 0; i < 5; i++) ck_assert_str_eq(safetensors_info(st, i)->name, order[i]);
    ck_assert_int_eq(safetensors_info(st, 0)->dtype, ST_I64);
    ck_assert_int_eq(safetensors_info(st, 0)->begin, 0);
    ck_assert_int_eq(safetensors_info(st, 1)->dtype, ST_F32);
    ck_assert_str_eq(safetensors_metadata(st, "format"), "pt");
    ck_assert_str_eq(safetensors_metadata(st, "step"), "10");

    real w2[6], b2[3], s2;
    int ids2[4];
    ck_assert_int_eq(safetensors_read_real(st, "layer.weight", w2, 2, shape_w, err, sizeof err), 0);
    for (int i = 0; i < 6; i++) ck_assert(w2[i] == (real)(float)w[i]);   /* F32 on disk */
    ck_assert_int_eq(safetensors_read_real(st, "layer.bias", b2, 1, shape_b, err, sizeof err), 0);
    for (int i = 0; i < 3; i++) ck_assert(b2[i] == bias[i]);
    ck_assert_int_eq(safetensors_read_real(st, "scale", &s2, 0, NULL, err, sizeof err), 0);
    ck_assert(s2 == scalar);
    ck_assert_int_eq(safetensors_find(st, "empty")->numel, 0);
    ck_assert_int_eq(safetensors_read_int(st, "ids", ids2, 1, shape_ids, err, sizeof err), 0);
    for (int i = 0; i < 4; i++) ck_assert_int_eq(ids2[i], ids[i]);
    safetensors_close(st);

    /* No temporary file is left behind. */
    ck_assert_int_eq(tmpdir_count(tmpdir, NULL), 1);

    /* Deterministic: the same tensors added in another order give the same bytes. */
    char path2[128];
    snprintf(path2, sizeof path2, "%s/again.safetensors", tmpdir);
    wr = safetensors_writer_new();
    safetensors_writer_set_metadata(wr, "step", "10");
    safetensors_writer_set_metadata(wr, "format", "pt");
    safetensors_writer_add_int(wr, "ids", ids, 1, shape_ids);
    safetensors_writer_add_real(wr, "scale", &scalar, 0, NULL);
    safetensors_writer_add_real(wr, "layer.bias", bias, 1, shape_b);
    safetensors_writer_add_real(wr, "empty", NULL, 2, shape_empty);
    safetensors_writer_add_real(wr, "layer.weight", w, 2, shape_w);
    ck_assert_int_eq(safetensors_writer_write(wr, path2, err, sizeof err), 0);
    safetensors_writer_free(wr);
    char *bytes1, *bytes2;
    size_t len1, len2;
    ck_assert_int_eq(read_whole_file(path, &bytes1, &len1, err, sizeof err), 0);
    ck_assert_int_eq(read_whole_file(path2, &bytes2, &len2, err, sizeof err), 0);
    /* header: metadata is written in insertion order, so compare from the first tensor on */
    const char *t1 = strstr(bytes1 + 8, "\"ids\""), *t2 = strstr(bytes2 + 8, "\"ids\"");
    ck_assert_ptr_nonnull(t1);
    ck_assert_ptr_nonnull(t2);
    ck_assert_uint_eq(len1, len2);
    ck_assert_int_eq(memcmp(t1, t2, len1 - (size_t)(t1 - bytes1)), 0);
    free(bytes1);
    free(bytes2);
    tmpdir_remove(tmpdir);
}
END_TEST

/* Reading a tensor drops the pages it was copied from, a 1 MB block at a
 * time (safetensors.c, release_whole_pages): a tensor of 2.4 MB, read twice,
 * and its neighbour, whose first page it shares, still read back exactly
 * as written, the second time from pages read again from the file. */
START_TEST(reading_a_large_tensor_twice_gives_the_same_values) {
    tmpdir_create(tmpdir, "st");
    char path[128], err[256];
    snprintf(path, sizeof path, "%s/large.safetensors", tmpdir);
    enum { N = 600001, SMALL = 3 };
    real *values = malloc(sizeof(real) * N), *got = malloc(sizeof(real) * N);
    for (long i = 0; i < N; i++) values[i] = (real)((i * 7919) % 100003) / 1024;
    real small[SMALL] = { (real)1.5, -2, (real)0.25 };
    int64_t shape[1] = { N }, shape_small[1] = { SMALL };
    SafeTensorsWriter *wr = safetensors_writer_new();
    safetensors_writer_add_real(wr, "a.small", small, 1, shape_small);   /* before "b.large" in the file */
    safetensors_writer_add_real(wr, "b.large", values, 1, shape);
    ck_assert_msg(safetensors_writer_write(wr, path, err, sizeof err) == 0, "%s", err);
    safetensors_writer_free(wr);
    SafeTensors *st = safetensors_open(path, err, sizeof err);
    ck_assert_msg(st != NULL, "%s", err);
    for (int pass = 0; pass < 2; pass++) {
        memset(got, 0, sizeof(real) * N);
        ck_assert_msg(safetensors_read_real(st, "b.large", got, 1, shape, err, sizeof err) == 0, "%s", err);
        ck_assert_mem_eq(got, values, sizeof(real) * N);
    }
    real small_got[SMALL];
    ck_assert_msg(safetensors_read_real(st, "a.small", small_got, 1, shape_small, err, sizeof err) == 0, "%s", err);
    ck_assert_mem_eq(small_got, small, sizeof small);
    safetensors_close(st);
    free(values);
    free(got);
}
END_TEST

START_TEST(writer_rejects_bad_input) {
    tmpdir_create(tmpdir, "st");
    char path[128], err[256];
    snprintf(path, sizeof path, "%s/bad.safetensors", tmpdir);
    real x[2] = { 1, 2 };
    int k[2] = { 1, 2 };
    int64_t shape[9] = { 2, 1, 1, 1, 1, 1, 1, 1, 1 }, neg[1] = { -2 };

    SafeTensorsWriter *w = safetensors_writer_new();
    safetensors_writer_add_real(w, "a", x, 1, shape);
    safetensors_writer_add_int(w, "a", k, 1, shape);
    ck_assert_int_eq(safetensors_writer_write(w, path, err, sizeof err), -1);
    ck_assert_msg(strstr(err, path) && strstr(err, "duplicate tensor name \"a\""), "%s", err);
    safetensors_writer_free(w);

    w = safetensors_writer_new();
    safetensors_writer_add_real(w, "a", x, 9, shape);
    ck_assert_int_eq(safetensors_writer_write(w, path, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "ndim 9"), "%s", err);
    safetensors_writer_free(w);

    w = safetensors_writer_new();
    safetensors_writer_add_real(w, "a", x, 1, neg);
    ck_assert_int_eq(safetensors_writer_write(w, path, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "invalid shape[0] = -2"), "%s", err);
    safetensors_writer_free(w);

    w = safetensors_writer_new();
    safetensors_writer_add_real(w, "__metadata__", x, 1, shape);
    ck_assert_int_eq(safetensors_writer_write(w, path, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "invalid tensor name"), "%s", err);
    safetensors_writer_free(w);

    ck_assert_int_eq(access(path, F_OK), -1);   /* nothing was written */
    tmpdir_remove(tmpdir);
}
END_TEST

/* ---- malformed files ---- */

/* Writes u64 header_len (or strlen(header) if header_len is UINT64_MAX), the
 * header bytes, and data_len zero bytes. */
static void write_file(const char *path, uint64_t header_len, const char *header, size_t data_len) {
    FILE *fp = fopen(path, "wb");
    ck_assert_ptr_nonnull(fp);
    if (header_len == UINT64_MAX) header_len = strlen(header);
    for (int b = 0; b < 8; b++) fputc((int)(header_len >> (8 * b)) & 0xff, fp);
    fputs(header, fp);
    for (size_t i = 0; i < data_len; i++) fputc(0, fp);
    fclose(fp);
}

/* Opening PATH must fail with an error naming the file and containing `problem`. */
static void assert_open_fails(const char *path, const char *problem) {
    char err[512] = "";
    SafeTensors *st = safetensors_open(path, err, sizeof err);
    if (st) safetensors_close(st);
    ck_assert_msg(st == NULL, "opened although: %s", problem);
    ck_assert_msg(strstr(err, path) != NULL, "error does not name the file: %s", err);
    ck_assert_msg(strstr(err, problem) != NULL, "expected \"%s\" in: %s", problem, err);
}

#define T(name, dtype, shape, offsets) "\"" name "\":{\"dtype\":" dtype ",\"shape\":" shape ",\"data_offsets\":" offsets "}"

START_TEST(malformed_files_are_rejected) {
    tmpdir_create(tmpdir, "st");
    char path[128];
    snprintf(path, sizeof path, "%s/bad.safetensors", tmpdir);
    static const struct { const char *header; size_t data_len; const char *problem; } cases[] = {
        { "[1]", 0, "header does not start with '{'" },
        { "{\"a\": ", 0, "header is not valid JSON" },
        { "{}x", 0, "unexpected byte 0x78 after the JSON header" },
        { "{\"a\":{\"dtype\":\"F32\",\"shape\":[1]}}", 4, "tensor \"a\": missing \"data_offsets\"" },
        { "{\"a\":{\"dtype\":\"F32\",\"data_offsets\":[0,4]}}", 4, "tensor \"a\": missing \"shape\"" },
        { "{\"a\":{\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "tensor \"a\": missing \"dtype\"" },
        { "{\"a\":[1]}", 0, "tensor \"a\": entry is not a JSON object" },
        { "{" T("a", "5", "[1]", "[0,4]") "}", 4, "\"dtype\" is not a string" },
        { "{" T("a", "\"F33\"", "[1]", "[0,4]") "}", 4, "unknown dtype \"F33\"" },
        { "{" T("a", "\"F32\"", "[-1]", "[0,4]") "}", 4, "shape[0] is not a non-negative integer" },
        { "{" T("a", "\"F32\"", "[2, 1.5]", "[0,4]") "}", 4, "shape[1] is not a non-negative integer" },
        { "{" T("a", "\"F32\"", "\"1\"", "[0,4]") "}", 4, "\"shape\" is not an array" },
        { "{" T("a", "\"F32\"", "[1,1,1,1,1,1,1,1,1]", "[0,4]") "}", 4, "9 dimensions" },
        { "{" T("a", "\"F32\"", "[0]", "[4,0]") "}", 4, "data_offsets [4, 0] has begin > end" },
        { "{" T("a", "\"F32\"", "[1]", "[0,4,8]") "}", 8, "\"data_offsets\" is not [BEGIN, END]" },
        { "{" T("a", "\"F32\"", "[1]", "[0,\"4\"]") "}", 4, "\"data_offsets\" is not [BEGIN, END]" },
        { "{" T("a", "\"F32\"", "[2]", "[0,8]") "}", 4, "end 8 is beyond the 4-byte data buffer" },
        { "{" T("a", "\"F32\"", "[3]", "[0,8]") "}", 8, "cover 8 bytes but 3 elements of F32 need 12" },
        { "{" T("a", "\"F32\"", "[2]", "[0,8]") "," T("b", "\"F32\"", "[2]", "[4,12]") "}", 12, "overlaps" },
        { "{" T("a", "\"F32\"", "[1]", "[0,4]") "," T("b", "\"F32\"", "[1]", "[8,12]") "}", 12,
          "hole in the data buffer: bytes 4..8" },
        { "{" T("a", "\"F32\"", "[1]", "[0,4]") "}", 8, "bytes 4..8 after the last tensor" },
        { "{}", 4, "4 bytes of data but no tensors" },
        { "{" T("a", "\"F32\"", "[1]", "[0,4]") "," T("a", "\"F32\"", "[1]", "[4,8]") "}", 8,
          "duplicate tensor name \"a\"" },
        { "{\"__metadata__\":{\"k\":1}}", 0, "\"__metadata__\" value of \"k\" is not a string" },
        { "{\"__metadata__\":[]}", 0, "\"__metadata__\" is not a JSON object" },
        { "{\"\xff\":1}", 0, "header is not valid UTF-8" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        write_file(path, UINT64_MAX, cases[i].header, cases[i].data_len);
        assert_open_fails(path, cases[i].problem);
    }
    /* Sizes: too short for the length, length absurd, length beyond the file */
    FILE *fp = fopen(path, "wb");
    fwrite("\x02\0\0\0\0", 1, 5, fp);
    fclose(fp);
    assert_open_fails(path, "file is 5 bytes, too short");
    write_file(path, 200ull << 20, "{}", 0);
    assert_open_fails(path, "header length 209715200 is absurd");
    write_file(path, 1000, "{}", 0);
    assert_open_fails(path, "header length 1000 is larger than the rest of the file (2 bytes)");
    fp = fopen(path, "wb");
    fwrite("\x04\0\0\0\0\0\0\0{}\0 ", 1, 12, fp);   /* raw NUL inside the header */
    fclose(fp);
    assert_open_fails(path, "header contains a NUL byte");
    assert_open_fails("/nonexistent-dir/m.safetensors", "cannot open");
    tmpdir_remove(tmpdir);
}
END_TEST

START_TEST(truncated_file_is_rejected) {
    tmpdir_create(tmpdir, "st");
    char path[128], err[256];
    snprintf(path, sizeof path, "%s/cut.safetensors", tmpdir);
    real x[64];
    for (int i = 0; i < 64; i++) x[i] = (real)i;
    int64_t shape[1] = { 64 };
    SafeTensorsWriter *w = safetensors_writer_new();
    safetensors_writer_add_real(w, "x", x, 1, shape);
    ck_assert_int_eq(safetensors_writer_write(w, path, err, sizeof err), 0);
    safetensors_writer_free(w);
    ck_assert_int_eq(truncate(path, 100), 0);   /* header + part of the data */
    assert_open_fails(path, "beyond the");
    assert_open_fails(path, "(file truncated?)");
    tmpdir_remove(tmpdir);
}
END_TEST

START_TEST(reader_does_not_need_alignment_or_padding) {
    /* A header with no padding puts the data at an odd offset; reads use memcpy. */
    tmpdir_create(tmpdir, "st");
    char path[128], err[256];
    snprintf(path, sizeof path, "%s/odd.safetensors", tmpdir);
    const char *header = "{" T("v", "\"F32\"", "[2]", "[0,8]") "}";
    FILE *fp = fopen(path, "wb");
    uint64_t n = strlen(header);
    for (int b = 0; b < 8; b++) fputc((int)(n >> (8 * b)) & 0xff, fp);
    fputs(header, fp);
    float v[2] = { 0.75f, -8.0f };
    fwrite(v, sizeof v[0], 2, fp);
    fclose(fp);
    ck_assert_uint_ne((8 + n) % 4, 0);
    SafeTensors *st = safetensors_open(path, err, sizeof err);
    ck_assert_msg(st != NULL, "%s", err);
    real r[2];
    int64_t shape[1] = { 2 };
    ck_assert_int_eq(safetensors_read_real(st, "v", r, 1, shape, err, sizeof err), 0);
    ck_assert(r[0] == (real)0.75 && r[1] == -8);
    safetensors_close(st);
    tmpdir_remove(tmpdir);
}
END_TEST

Suite *safetensors_suite(void) {
    Suite *s = suite_create("safetensors");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, reads_python_fixture);
    tcase_add_test(tc, writer_round_trip);
    tcase_add_test(tc, writer_rejects_bad_input);
    tcase_add_test(tc, malformed_files_are_rejected);
    tcase_add_test(tc, truncated_file_is_rejected);
    tcase_add_test(tc, reader_does_not_need_alignment_or_padding);
    tcase_add_test(tc, reading_a_large_tensor_twice_gives_the_same_values);
    suite_add_tcase(s, tc);
    return s;
}
