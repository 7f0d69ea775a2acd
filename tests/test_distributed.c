/* test_distributed.c — the gradient buckets and the agreement fingerprint of
 * include/train/distributed.h, in one process. The runs across processes
 * (mpirun -np 2 against one process) are in test_distributed_runs.c. */
#include <stdlib.h>
#include <string.h>
#include "test_util.h"
#include "train/distributed.h"

START_TEST(buckets_cover_the_gradient_buffer_in_equal_pieces) {
    DistContext d;
    char err[256];
    ck_assert_int_eq(dist_init(&d, NULL, NULL, err, sizeof err), 0);
    real grads[1];
    const long sizes[][3] = { /* num_params, bucket_elems, expected buckets */
        {10, 4, 3}, {12, 4, 3}, {1, 4, 1}, {4, 4, 1}, {11170560, GRAD_BUCKET_ELEMS, 3},
    };
    for (size_t c = 0; c < sizeof sizes / sizeof sizes[0]; c++) {
        GradAllreduce g;
        ck_assert_int_eq(grad_allreduce_create(&g, &d, grads, sizes[c][0], sizes[c][1], err, sizeof err), 0);
        ck_assert_int_eq(g.num_buckets, sizes[c][2]);
        long next = 0, smallest = sizes[c][0], largest = 0;
        for (int i = 0; i < g.num_buckets; i++) {
            ck_assert_int_eq(g.buckets[i].offset, next);
            ck_assert(g.buckets[i].count <= sizes[c][1]);
            next += g.buckets[i].count;
            if (g.buckets[i].count < smallest) smallest = g.buckets[i].count;
            if (g.buckets[i].count > largest) largest = g.buckets[i].count;
        }
        ck_assert_int_eq(next, sizes[c][0]);
        ck_assert_msg(largest - smallest <= 1, "buckets of %ld and %ld elements", smallest, largest);
        grad_allreduce_free(&g);
    }
    GradAllreduce g;
    ck_assert_int_eq(grad_allreduce_create(&g, &d, grads, 10, 0, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "gradient bucket of 0 elements"), "%s", err);
    dist_finalize(&d);
}
END_TEST

START_TEST(one_rank_leaves_the_gradients_as_they_are) {
    DistContext d;
    char err[256];
    ck_assert_int_eq(dist_init(&d, NULL, NULL, err, sizeof err), 0);
    ck_assert_int_eq(d.rank, 0);
    ck_assert_int_eq(d.size, 1);
    real grads[7] = {1, -2, 3.5f, 0, 1e-3f, -7, 9};
    real before[7];
    memcpy(before, grads, sizeof grads);
    GradAllreduce g;
    ck_assert_int_eq(grad_allreduce_create(&g, &d, grads, 7, 3, err, sizeof err), 0);
    grad_allreduce_start_ready(&g, 3);
    ck_assert_int_eq(grad_allreduce_finish(&g, err, sizeof err), 0);
    ck_assert_mem_eq(grads, before, sizeof grads);
    double sums[2] = {1.5, 2.5};
    ck_assert_int_eq(dist_sum_doubles(&d, sums, 2), 0);
    ck_assert(sums[0] == 1.5 && sums[1] == 2.5);
    ck_assert_int_eq(dist_check_agreement(&d, "config", "abc", 3, err, sizeof err), 0);
    grad_allreduce_free(&g);
    dist_finalize(&d);
}
END_TEST

START_TEST(fingerprint_is_fnv1a_64) {
    /* Published FNV-1a 64-bit test vectors. */
    ck_assert_uint_eq(dist_fingerprint(DIST_FINGERPRINT_SEED, "", 0), 0xcbf29ce484222325ull);
    ck_assert_uint_eq(dist_fingerprint(DIST_FINGERPRINT_SEED, "a", 1), 0xaf63dc4c8601ec8cull);
    ck_assert_uint_eq(dist_fingerprint(DIST_FINGERPRINT_SEED, "foobar", 6), 0x85944171f73967e8ull);
    /* Folding pieces is the same as hashing their concatenation. */
    uint64_t h = dist_fingerprint(DIST_FINGERPRINT_SEED, "foo", 3);
    ck_assert_uint_eq(dist_fingerprint(h, "bar", 3), 0x85944171f73967e8ull);
}
END_TEST

Suite *distributed_suite(void) {
    Suite *s = suite_create("distributed");
    TCase *tc = tcase_create("one process");
    tcase_add_test(tc, buckets_cover_the_gradient_buffer_in_equal_pieces);
    tcase_add_test(tc, one_rank_leaves_the_gradients_as_they_are);
    tcase_add_test(tc, fingerprint_is_fnv1a_64);
    suite_add_tcase(s, tc);
    return s;
}
