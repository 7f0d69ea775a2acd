/* test_embeddings.c — embeddings: sums of known rows, scatter-add by hand,
 * thread-count independence, finite differences. */
#include <omp.h>
#include <string.h>
#include "test_util.h"
#include "layers/embeddings.h"
#include "core/gemm.h"
#include "core/rng.h"

/* Tables whose entries encode where they came from, so every sum is
 * recognisable: word v, dim c = 100·v + c; position t = 10·t; type s = 1000·s. */
enum { V = 6, P = 4, TV = 2, C = 3 };
static void fill_tables(real *word, real *pos, real *type) {
    for (int v = 0; v < V; v++) for (int c = 0; c < C; c++) word[v * C + c] = 100 * v + c;
    for (int t = 0; t < P; t++) for (int c = 0; c < C; c++) pos[t * C + c] = 10 * t;
    for (int s = 0; s < TV; s++) for (int c = 0; c < C; c++) type[s * C + c] = 1000 * s;
}

START_TEST(embeddings_forward_sums_known_rows) {
    real word[V * C], pos[P * C], type[TV * C], out[2 * 3 * C];
    fill_tables(word, pos, type);
    int ids[6] = { 5, 0, 2, 2, 4, 1 }, types[6] = { 0, 1, 1, 0, 0, 1 };
    embeddings_forward(out, ids, types, word, pos, type, 2, 3, C);
    for (int b = 0; b < 2; b++)
        for (int t = 0; t < 3; t++)
            for (int c = 0; c < C; c++) {
                int bt = b * 3 + t;
                ck_assert_near(out[bt * C + c], 100 * ids[bt] + c + 10 * t + 1000 * types[bt], 0);
            }
}
END_TEST

START_TEST(embeddings_backward_scatter_add_accumulates) {
    /* B = 1, T = 3, ids = [2, 4, 2], types = [1, 0, 1]; dout row t = (t+1)·[1, 2, 3].
     * Word row 2 gets rows 0 and 2: (1 + 3)·[1,2,3]; word row 4 gets 2·[1,2,3];
     * position t gets row t; type 1 gets rows 0 + 2: 4·[1,2,3], type 0 row 1.
     * Every gradient starts at 0.5 (accumulation). */
    int ids[3] = { 2, 4, 2 }, types[3] = { 1, 0, 1 };
    real dout[3 * C];
    for (int t = 0; t < 3; t++) for (int c = 0; c < C; c++) dout[t * C + c] = (t + 1) * (c + 1);
    real dword[V * C], dpos[P * C], dtype[TV * C];
    for (int i = 0; i < V * C; i++) dword[i] = 0.5;
    for (int i = 0; i < P * C; i++) dpos[i] = 0.5;
    for (int i = 0; i < TV * C; i++) dtype[i] = 0.5;
    embeddings_backward(dword, dpos, dtype, dout, ids, types, 1, 3, C);
    for (int c = 0; c < C; c++) {
        ck_assert_near(dword[0 * C + c], 0.5, 0);
        ck_assert_near(dword[2 * C + c], 0.5 + 4 * (c + 1), 0);
        ck_assert_near(dword[4 * C + c], 0.5 + 2 * (c + 1), 0);
        for (int t = 0; t < 3; t++) ck_assert_near(dpos[t * C + c], 0.5 + (t + 1) * (c + 1), 0);
        ck_assert_near(dpos[3 * C + c], 0.5, 0);
        ck_assert_near(dtype[1 * C + c], 0.5 + 4 * (c + 1), 0);
        ck_assert_near(dtype[0 * C + c], 0.5 + 2 * (c + 1), 0);
    }
}
END_TEST

START_TEST(embeddings_backward_same_bits_for_any_thread_count) {
    /* Many colliding ids and awkward values: the sums must match bit for bit
     * with 1 and 2 threads (rounding makes any reordering visible). */
    /* B·T·CC = 24576 ≥ PARALLEL_MIN_WORK, so 2 threads really split the work */
    enum { B = 8, T = 32, CC = 96, VV = 3 };
    static int ids[B * T], types[B * T];
    static real dout[B * T * CC], dword[2][VV * CC], dpos[2][T * CC], dtype[2][TV * CC];
    Rng rng = rng_seeded(7);
    for (int i = 0; i < B * T; i++) { ids[i] = (int)rng_below(&rng, VV); types[i] = i % 2; }
    for (int i = 0; i < B * T * CC; i++) dout[i] = (real)(rng_normal(&rng) * 1e3) / 7;
    for (int k = 0; k < 2; k++) {
        memset(dword[k], 0, sizeof dword[k]);
        memset(dpos[k], 0, sizeof dpos[k]);
        memset(dtype[k], 0, sizeof dtype[k]);
        omp_set_num_threads(k + 1);
        embeddings_backward(dword[k], dpos[k], dtype[k], dout, ids, types, B, T, CC);
    }
    omp_set_num_threads(bert_threads());
    ck_assert(memcmp(dword[0], dword[1], sizeof dword[0]) == 0);
    ck_assert(memcmp(dpos[0], dpos[1], sizeof dpos[0]) == 0);
    ck_assert(memcmp(dtype[0], dtype[1], sizeof dtype[0]) == 0);
}
END_TEST

START_TEST(embeddings_gradcheck) { assert_gradcheck_passes("embeddings"); }
END_TEST

Suite *embeddings_suite(void) {
    Suite *s = suite_create("embeddings");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, embeddings_forward_sums_known_rows);
    tcase_add_test(tc, embeddings_backward_scatter_add_accumulates);
    tcase_add_test(tc, embeddings_backward_same_bits_for_any_thread_count);
    tcase_add_test(tc, embeddings_gradcheck);
    suite_add_tcase(s, tc);
    return s;
}
