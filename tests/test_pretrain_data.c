/* test_pretrain_data.c — pretraining instances, masking and the batch stream
 * on a synthetic corpus whose words all have distinct ids (so every token
 * says where it came from), with the toy whitespace tokenizer. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "test_util.h"
#include "toy_tokenizer.h"
#include "data/pretrain_data.h"

enum { N_DOCS = 40 };

/* Line-mode corpus: document d has 40 + d % 9 sentences of 2–6 words; word k
 * of the corpus is "wk" (id 100 + k). With pieces, every third word is
 * "wk+j", a word of two WordPiece pieces. first_id[d] is d's first word id;
 * first_id[N_DOCS] is one past the last. */
static const char *write_synthetic(int slot, bool pieces, int *first_id) {
    static char text[1 << 17];
    size_t len = 0;
    int word = 1;
    for (int d = 0; d < N_DOCS; d++) {
        first_id[d] = TOY_WORD + word;
        for (int s = 0; s < 40 + d % 9; s++) {
            int n_words = (d * 7 + s * 3) % 5 + 2;
            for (int w = 0; w < n_words; w++, word++) {
                if (pieces && word % 3 == 0) len += (size_t)snprintf(text + len, sizeof text - len, "w%d+%d ", word, word % 1000);
                else len += (size_t)snprintf(text + len, sizeof text - len, "w%d ", word);
            }
            text[len++] = '\n';
        }
        text[len++] = '\n';
    }
    text[len] = 0;
    first_id[N_DOCS] = TOY_WORD + word;
    ck_assert_int_lt(word, 9900);
    return toy_write_file(slot, text);
}

static PretrainStream *open_stream(const char *path, const PretrainConfig *cfg, PretrainPart part, size_t shard_bytes) {
    TokenSource ts = toy_tokens();
    CorpusOptions copt = { .mode = CORPUS_LINES, .shard_bytes = shard_bytes };
    char err[512] = "";
    PretrainStream *s = pretrain_stream_open(&path, 1, &copt, &ts, cfg, part, err, sizeof err);
    ck_assert_msg(s != NULL, "%s", err);
    return s;
}

static PretrainConfig small_config(int T, int P, int B) {
    PretrainConfig cfg = pretrain_config_default();
    cfg.max_seq_length = T;
    cfg.max_predictions_per_seq = P;
    cfg.batch_size = B;
    return cfg;
}

/* Row r's tokens before masking: the inputs with every prediction slot's label put back. */
static int original_row(const PretrainBatch *b, int r, int *orig, bool *masked) {
    int T = b->max_seq_length, P = b->max_predictions, n = 0;
    for (int t = 0; t < T; t++) {
        orig[t] = b->input_ids[r * T + t];
        masked[t] = false;
        n += b->attention_mask[r * T + t];
    }
    for (int k = 0; k < P && b->mlm_labels[r * P + k] != -100; k++) {
        orig[b->mlm_positions[r * P + k]] = b->mlm_labels[r * P + k];
        masked[b->mlm_positions[r * P + k]] = true;
    }
    return n;
}

START_TEST(batches_have_bert_layout_and_google_masking_rates) {
    int first_id[N_DOCS + 1];
    const char *path = write_synthetic(0, false, first_id);
    enum { T = 32, P = 5, B = 16, STEPS = 100 };
    PretrainConfig cfg = small_config(T, P, B);
    /* Google's procedure gives a one-sentence chunk a random B always, and
     * short target lengths (short_seq_prob) make many such chunks, so NotNext
     * is above 1/2 by design (docs/pretraining_data.md); without short
     * targets only document ends do that and the split is within 5% of 50/50. */
    cfg.short_seq_prob = 0;
    PretrainStream *s = open_stream(path, &cfg, PRETRAIN_ALL, 0);
    PretrainBatch b;
    ck_assert_int_eq(pretrain_batch_alloc(&b, B, T, P), 0);
    long rows = 0, not_next = 0, tokens = 0, predictions = 0, as_mask = 0, kept = 0, replaced = 0;
    int orig[T];
    bool masked[T];
    for (int step = 0; step < STEPS; step++) {
        ck_assert_int_eq(pretrain_next_batch(s, &b), 0);
        long batch_tokens = 0, batch_predictions = 0;
        for (int r = 0; r < B; r++, rows++) {
            int n = original_row(&b, r, orig, masked);
            const int *ids = b.input_ids + r * T, *types = b.token_type_ids + r * T, *mask = b.attention_mask + r * T;
            ck_assert_int_le(n, T);
            ck_assert_int_eq(ids[0], TOY_CLS);
            ck_assert_int_eq(orig[n - 1], TOY_SEP);
            int first_sep = -1, n_sep = 0;
            for (int t = 0; t < n; t++)
                if (orig[t] == TOY_SEP) { n_sep++; if (first_sep < 0) first_sep = t; }
            ck_assert_int_eq(n_sep, 2);
            ck_assert_int_ge(first_sep, 2);          /* A has a token */
            ck_assert_int_le(first_sep, n - 3);      /* B has a token */
            for (int t = 0; t < T; t++) {
                ck_assert_int_eq(mask[t], t < n);
                ck_assert_int_eq(types[t], t > first_sep && t < n);
                if (t >= n) ck_assert_int_eq(ids[t], TOY_PAD);
            }
            /* Google's count: min(P, max(1, round(n · 0.15))), positions increasing, never special. */
            int m = 0;
            for (int k = 0; k < P; k++) {
                int pos = b.mlm_positions[r * P + k], lab = b.mlm_labels[r * P + k];
                if (lab == -100) { ck_assert_int_eq(pos, 0); continue; }
                ck_assert_int_eq(k, m);
                m++;
                ck_assert_int_gt(pos, 0);
                ck_assert_int_lt(pos, n - 1);
                if (k > 0) ck_assert_int_gt(pos, b.mlm_positions[r * P + k - 1]);
                ck_assert_int_ne(lab, TOY_SEP);
                ck_assert_int_ne(lab, TOY_CLS);
                ck_assert_int_ge(lab, TOY_WORD);
                if (ids[pos] == TOY_MASK) as_mask++;
                else if (ids[pos] == lab) kept++;
                else replaced++;
            }
            long want = lrint(n * 0.15);
            if (want < 1) want = 1;
            if (want > P) want = P;
            ck_assert_int_eq(m, want);
            /* A and B are each a contiguous stretch of the corpus: consecutive word ids */
            for (int t = 1; t + 1 < n - 1; t++)
                if (t != first_sep && t + 1 != first_sep) ck_assert_int_eq(orig[t + 1], orig[t] + 1);
            not_next += b.nsp_labels[r];
            ck_assert(b.nsp_labels[r] == 0 || b.nsp_labels[r] == 1);
            batch_tokens += n;
            batch_predictions += m;
        }
        ck_assert_int_eq(b.n_tokens, batch_tokens);
        ck_assert_int_eq(b.n_predictions, batch_predictions);
        tokens += batch_tokens;
        predictions += batch_predictions;
    }
    double nsp = (double)not_next / rows, frac = (double)predictions / tokens;
    double f_mask = (double)as_mask / predictions, f_keep = (double)kept / predictions,
           f_rand = (double)replaced / predictions;
    printf("pretrain batches: %ld rows, NotNext %.3f, masked %.3f of tokens, [MASK] %.3f keep %.3f random %.3f\n",
           rows, nsp, frac, f_mask, f_keep, f_rand);
    ck_assert_near(nsp, 0.5, 0.05);
    ck_assert_near(frac, 0.15, 0.02);
    ck_assert_near(f_mask, 0.8, 0.03);
    ck_assert_near(f_keep, 0.1, 0.02);
    ck_assert_near(f_rand, 0.1, 0.02);
    pretrain_batch_free(&b);
    pretrain_stream_close(s);
    remove(path);
}
END_TEST

/* Which document holds ids offset k (its token range in the Documents). */
static long doc_of(const Documents *d, int k) {
    for (long doc = 0; doc < documents_count(d); doc++)
        if (k < d->sent_start.data[d->doc_start.data[doc + 1]]) return doc;
    return -1;
}

static bool is_sentence_boundary(const Documents *d, int k) {
    for (long s = 0; s < d->sent_start.len; s++)
        if (d->sent_start.data[s] == k) return true;
    return false;
}

START_TEST(isnext_pairs_follow_in_their_document) {
    int first_id[N_DOCS + 1];
    const char *path = write_synthetic(0, false, first_id);
    TokenSource ts = toy_tokens();
    CorpusOptions copt = { .mode = CORPUS_LINES };
    char err[256] = "";
    CorpusReader *r = corpus_open(&path, 1, &copt, err, sizeof err);
    Documents docs = { 0 };
    ck_assert_int_eq(corpus_read_shard(r, &ts, &docs, err, sizeof err), N_DOCS);
    corpus_close(r);
    const int lengths[3] = { 16, 32, 128 };
    long untruncated_next = 0, n_random = 0, n_total = 0, front_cut = 0, back_cut = 0;
    for (int li = 0; li < 3; li++) {
        int max_num_tokens = lengths[li] - 3;
        Rng rng = rng_seeded(99 + li);
        InstanceVec inst = { 0 };
        for (long d = 0; d < N_DOCS; d++)
            ck_assert_int_eq(pretrain_instances_from_document(&docs, d, lengths[li], 0.1, &rng, &inst), 0);
        for (long k = 0; k < inst.len; k++) {
            const PretrainInstance *p = &inst.data[k];
            int len_a = p->a_end - p->a_begin, len_b = p->b_end - p->b_begin;
            ck_assert_int_ge(len_a, 1);
            ck_assert_int_ge(len_b, 1);
            ck_assert_int_le(len_a + len_b, max_num_tokens);
            ck_assert_int_eq(doc_of(&docs, p->a_begin), p->doc);
            ck_assert_int_eq(doc_of(&docs, p->a_end - 1), p->doc);
            long b_doc = doc_of(&docs, p->b_begin);
            ck_assert_int_eq(doc_of(&docs, p->b_end - 1), b_doc);
            if (p->is_random_next) {
                ck_assert_int_ne(b_doc, p->doc);   /* 40 documents: ten tries never all fail here */
                n_random++;
            } else {
                ck_assert_int_eq(b_doc, p->doc);
                ck_assert_int_ge(p->b_begin, p->a_end);
                /* ids are consecutive word numbers: B's words come after A's */
                ck_assert_int_gt(docs.ids.data[p->b_begin], docs.ids.data[p->a_end - 1]);
                /* truncate_seq_pair cuts at the front or the back at random: both happen */
                if (!is_sentence_boundary(&docs, p->a_begin)) front_cut++;
                if (!is_sentence_boundary(&docs, p->b_end)) back_cut++;
                if (len_a + len_b < max_num_tokens) {   /* nothing was truncated */
                    ck_assert_int_eq(p->b_begin, p->a_end);
                    ck_assert(is_sentence_boundary(&docs, p->a_begin));
                    ck_assert(is_sentence_boundary(&docs, p->a_end));
                    ck_assert(is_sentence_boundary(&docs, p->b_end));
                    untruncated_next++;
                }
            }
            n_total++;
        }
        instancevec_free(&inst);
    }
    ck_assert_int_gt(untruncated_next, 20);
    ck_assert_int_gt(front_cut, 5);
    ck_assert_int_gt(back_cut, 5);
    ck_assert_int_gt(n_random, n_total / 4);
    documents_free(&docs);
    remove(path);
}
END_TEST

START_TEST(mask_counts_by_hand) {
    TokenSource ts = toy_tokens();
    PretrainConfig cfg = pretrain_config_default();
    int scratch[64], pos[20], lab[20];
    Rng rng = rng_seeded(5);
    /* n = 7, masked_lm_prob 1, P = 3: exactly 3 of the 4 word positions {1, 2, 3, 5}. */
    int toks[7] = { TOY_CLS, 110, 111, 112, TOY_SEP, 113, TOY_SEP };
    cfg.masked_lm_prob = 1.0;
    cfg.max_predictions_per_seq = 3;
    int m = pretrain_mask_tokens(toks, 7, &ts, &cfg, &rng, pos, lab, scratch);
    ck_assert_int_eq(m, 3);
    const int orig[7] = { TOY_CLS, 110, 111, 112, TOY_SEP, 113, TOY_SEP };
    for (int k = 0; k < m; k++) {
        ck_assert(pos[k] == 1 || pos[k] == 2 || pos[k] == 3 || pos[k] == 5);
        if (k) ck_assert_int_gt(pos[k], pos[k - 1]);
        ck_assert_int_eq(lab[k], orig[pos[k]]);
    }
    ck_assert_int_eq(toks[0], TOY_CLS);
    ck_assert_int_eq(toks[4], TOY_SEP);
    ck_assert_int_eq(toks[6], TOY_SEP);
    /* n = 10, prob 0.25: round(2.5) is 2 (Python rounds halves to even). */
    int ten[10] = { TOY_CLS, 110, 111, 112, 113, TOY_SEP, 114, 115, 116, TOY_SEP };
    cfg.masked_lm_prob = 0.25;
    cfg.max_predictions_per_seq = 20;
    ck_assert_int_eq(pretrain_mask_tokens(ten, 10, &ts, &cfg, &rng, pos, lab, scratch), 2);
    /* n = 3, prob 0.15: round(0.45) = 0, but at least one prediction, position 1. */
    int three[3] = { TOY_CLS, 120, TOY_SEP };
    cfg.masked_lm_prob = 0.15;
    ck_assert_int_eq(pretrain_mask_tokens(three, 3, &ts, &cfg, &rng, pos, lab, scratch), 1);
    ck_assert_int_eq(pos[0], 1);
    ck_assert_int_eq(lab[0], 120);
}
END_TEST

/* Counts, over many batches, words whose two pieces were masked differently. */
static void count_split_words(bool whole_word, long *split, long *masked_words) {
    int first_id[N_DOCS + 1];
    const char *path = write_synthetic(1, true, first_id);
    enum { T = 64, P = 10, B = 8 };
    PretrainConfig cfg = small_config(T, P, B);
    cfg.whole_word_mask = whole_word;
    PretrainStream *s = open_stream(path, &cfg, PRETRAIN_ALL, 0);
    PretrainBatch b;
    ck_assert_int_eq(pretrain_batch_alloc(&b, B, T, P), 0);
    int orig[T];
    bool masked[T];
    *split = *masked_words = 0;
    for (int step = 0; step < 60; step++) {
        ck_assert_int_eq(pretrain_next_batch(s, &b), 0);
        for (int r = 0; r < B; r++) {
            int n = original_row(&b, r, orig, masked);
            for (int i = 2; i < n; i++) {
                if (orig[i] < TOY_CONT || orig[i - 1] == TOY_SEP) continue;   /* B cut just after a head: Google joins across [SEP] */
                if (masked[i] != masked[i - 1]) (*split)++;
                else if (masked[i]) (*masked_words)++;
            }
        }
    }
    pretrain_batch_free(&b);
    pretrain_stream_close(s);
    remove(path);
}

/* The 80/10/10 split made configurable: over 20,000 chosen tokens the
 * shares of [MASK], random and unchanged come out as asked (within 0.02;
 * the standard error is below 0.004), and the extremes are exact. */
START_TEST(mask_token_and_random_token_shares_are_configurable) {
    TokenSource ts = toy_tokens();
    enum { N = 402, ROUNDS = 50 };
    int toks[N], scratch[3 * N + 1], pos[N], lab[N];
    const double cases[][2] = { {0.5, 0.3}, {1.0, 0.0}, {0.0, 0.0}, {0.0, 1.0} };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        PretrainConfig cfg = pretrain_config_default();
        cfg.masked_lm_prob = 1.0;
        cfg.max_predictions_per_seq = N;
        cfg.mask_token_prob = cases[c][0];
        cfg.random_token_prob = cases[c][1];
        Rng rng = rng_seeded(77 + c);
        long masked = 0, unchanged = 0, other = 0, total = 0;
        for (int round = 0; round < ROUNDS; round++) {
            toks[0] = TOY_CLS;
            for (int i = 1; i < N - 1; i++) toks[i] = 110 + i % 7;
            toks[N - 1] = TOY_SEP;
            int m = pretrain_mask_tokens(toks, N, &ts, &cfg, &rng, pos, lab, scratch);
            for (int k = 0; k < m; k++) {
                int t = toks[pos[k]];
                if (t == ts.mask_id) masked++;
                else if (t == lab[k]) unchanged++;
                else other++;
                total++;
            }
        }
        /* A random token can be the original one (1 in vocab_size) or [MASK] itself. */
        double random_share = cfg.random_token_prob, stay_share = 1 - cfg.mask_token_prob - cfg.random_token_prob;
        double f_mask = (double)masked / total, f_same = (double)unchanged / total, f_other = (double)other / total;
        ck_assert_msg(fabs(f_mask - cfg.mask_token_prob) <= 0.02 && fabs(f_same - stay_share) <= 0.02 &&
                      fabs(f_other - random_share) <= 0.02,
                      "asked %.2f/%.2f/%.2f, got [MASK] %.3f, random %.3f, unchanged %.3f", cfg.mask_token_prob,
                      random_share, stay_share, f_mask, f_other, f_same);
        if (cfg.mask_token_prob == 1) ck_assert_int_eq(masked, total);
        if (cfg.mask_token_prob == 0 && cfg.random_token_prob == 0) ck_assert_int_eq(unchanged, total);
    }
}
END_TEST

START_TEST(whole_word_masking_masks_every_piece) {
    long split, masked_words;
    count_split_words(true, &split, &masked_words);
    ck_assert_int_eq(split, 0);
    ck_assert_int_gt(masked_words, 100);
    count_split_words(false, &split, &masked_words);   /* per-piece masking does split words */
    ck_assert_int_gt(split, 100);
}
END_TEST

static bool batches_equal(const PretrainBatch *a, const PretrainBatch *b) {
    size_t bt = sizeof(int) * (size_t)a->batch_size * (size_t)a->max_seq_length;
    size_t bp = sizeof(int) * (size_t)a->batch_size * (size_t)a->max_predictions;
    return memcmp(a->input_ids, b->input_ids, bt) == 0 && memcmp(a->token_type_ids, b->token_type_ids, bt) == 0 &&
           memcmp(a->attention_mask, b->attention_mask, bt) == 0 &&
           memcmp(a->mlm_positions, b->mlm_positions, bp) == 0 && memcmp(a->mlm_labels, b->mlm_labels, bp) == 0 &&
           memcmp(a->nsp_labels, b->nsp_labels, sizeof(int) * (size_t)a->batch_size) == 0 &&
           a->n_tokens == b->n_tokens && a->n_predictions == b->n_predictions;
}

START_TEST(same_seed_same_batches_other_seed_differs) {
    int first_id[N_DOCS + 1];
    const char *path = write_synthetic(0, false, first_id);
    PretrainConfig cfg = small_config(32, 5, 8);
    PretrainStream *s1 = open_stream(path, &cfg, PRETRAIN_ALL, 0), *s2 = open_stream(path, &cfg, PRETRAIN_ALL, 0);
    cfg.seed = 54321;
    PretrainStream *s3 = open_stream(path, &cfg, PRETRAIN_ALL, 0);
    PretrainBatch b1, b2, b3;
    pretrain_batch_alloc(&b1, 8, 32, 5);
    pretrain_batch_alloc(&b2, 8, 32, 5);
    pretrain_batch_alloc(&b3, 8, 32, 5);
    int differ = 0;
    for (int step = 0; step < 5; step++) {
        ck_assert_int_eq(pretrain_next_batch(s1, &b1), 0);
        ck_assert_int_eq(pretrain_next_batch(s2, &b2), 0);
        ck_assert_int_eq(pretrain_next_batch(s3, &b3), 0);
        ck_assert(batches_equal(&b1, &b2));
        differ += !batches_equal(&b1, &b3);
    }
    ck_assert_int_eq(differ, 5);
    pretrain_batch_free(&b1);
    pretrain_batch_free(&b2);
    pretrain_batch_free(&b3);
    pretrain_stream_close(s1);
    pretrain_stream_close(s2);
    pretrain_stream_close(s3);
    remove(path);
}
END_TEST

/* Saved after k batches and restored into a fresh stream, the next batches
 * are identical — across shard boundaries and epochs (small shards). */
START_TEST(save_restore_reproduces_next_batches) {
    int first_id[N_DOCS + 1];
    const char *path = write_synthetic(0, false, first_id);
    enum { T = 32, P = 5, B = 8, AHEAD = 40 };
    PretrainConfig cfg = small_config(T, P, B);
    PretrainStream *s = open_stream(path, &cfg, PRETRAIN_TRAIN, 300);
    PretrainBatch b, c;
    pretrain_batch_alloc(&b, B, T, P);
    pretrain_batch_alloc(&c, B, T, P);
    static PretrainBatch want[AHEAD];
    const int save_after[3] = { 0, 43, 100 };   /* cumulative steps */
    int steps = 0;
    for (int k = 0; k < 3; k++) {
        while (steps < save_after[k]) { ck_assert_int_eq(pretrain_next_batch(s, &b), 0); steps++; }
        PretrainStreamState st = pretrain_stream_state(s);
        for (int j = 0; j < AHEAD; j++) {
            pretrain_batch_alloc(&want[j], B, T, P);
            ck_assert_int_eq(pretrain_next_batch(s, &want[j]), 0);
        }
        steps += AHEAD;
        PretrainStream *fresh = open_stream(path, &cfg, PRETRAIN_TRAIN, 300);
        char err[256] = "";
        ck_assert_msg(pretrain_stream_restore(fresh, &st, err, sizeof err) == 0, "%s", err);
        for (int j = 0; j < AHEAD; j++) {
            ck_assert_int_eq(pretrain_next_batch(fresh, &c), 0);
            ck_assert_msg(batches_equal(&c, &want[j]), "batch %d after restoring at step %d differs", j, save_after[k]);
            pretrain_batch_free(&want[j]);
        }
        PretrainStreamState end_a = pretrain_stream_state(s), end_b = pretrain_stream_state(fresh);
        ck_assert(memcmp(&end_a, &end_b, sizeof end_a) == 0);
        pretrain_stream_close(fresh);
    }
    /* ~7,000 tokens (~240 instances) in 300-byte shards: 140 batches of 8 crossed shards and epochs */
    ck_assert_int_ge(pretrain_stream_state(s).epoch, 2);
    pretrain_batch_free(&b);
    pretrain_batch_free(&c);
    pretrain_stream_close(s);
    remove(path);
}
END_TEST

START_TEST(held_out_documents_never_in_training) {
    int first_id[N_DOCS + 1];
    const char *path = write_synthetic(0, false, first_id);
    enum { T = 32, P = 5, B = 16 };
    PretrainConfig cfg = small_config(T, P, B);
    cfg.eval_fraction = 0.1;   /* the last 4 of 40 documents */
    int split_id = first_id[N_DOCS - 4];
    for (int part = PRETRAIN_TRAIN; part <= PRETRAIN_HELDOUT; part++) {
        PretrainStream *s = open_stream(path, &cfg, (PretrainPart)part, 500);
        ck_assert_int_eq(pretrain_stream_corpus_documents(s), N_DOCS);
        ck_assert_int_eq(pretrain_stream_num_documents(s), part == PRETRAIN_TRAIN ? N_DOCS - 4 : 4);
        PretrainBatch b;
        pretrain_batch_alloc(&b, B, T, P);
        int orig[T];
        bool masked[T];
        long words = 0;
        for (int step = 0; step < 40; step++) {
            ck_assert_int_eq(pretrain_next_batch(s, &b), 0);
            for (int r = 0; r < B; r++) {
                int n = original_row(&b, r, orig, masked);
                for (int t = 0; t < n; t++) {
                    if (orig[t] < TOY_WORD) continue;
                    words++;
                    if (part == PRETRAIN_TRAIN) ck_assert_int_lt(orig[t], split_id);
                    else ck_assert_int_ge(orig[t], split_id);
                }
            }
        }
        ck_assert_int_ge(pretrain_stream_state(s).epoch, 1);
        ck_assert_int_gt(words, 10000);
        pretrain_batch_free(&b);
        pretrain_stream_close(s);
    }
    /* eval_fraction 0.01 of 40 documents rounds to 0: still one held out. */
    cfg.eval_fraction = 0.01;
    PretrainStream *s = open_stream(path, &cfg, PRETRAIN_HELDOUT, 0);
    ck_assert_int_eq(pretrain_stream_num_documents(s), 1);
    pretrain_stream_close(s);
    remove(path);
}
END_TEST

/* NSP off (PretrainConfig.full_sentences, docs/pretraining_data.md "Full
 * sentences"): one epoch of rows, unmasked, is the corpus's token stream in
 * order, cut into rows of [CLS] … [SEP] with a [SEP] exactly where a
 * document starts inside a row; rows are full (T − 2 tokens, or one short
 * where a [SEP] would have ended the row), token types 0, next-sentence
 * labels 0; a sentence longer than a row runs on into the next. */
START_TEST(full_sentences_pack_contiguous_text_across_documents) {
    int first_id[N_DOCS + 1];
    const char *path = write_synthetic(0, false, first_id);
    enum { T = 24, P = 4, B = 8 };
    PretrainConfig cfg = small_config(T, P, B);
    cfg.full_sentences = true;
    cfg.short_seq_prob = 0;
    TokenSource ts = toy_tokens();
    PretrainStream *s = open_stream(path, &cfg, PRETRAIN_ALL, 0);
    const Documents *docs = pretrain_stream_shard(s);
    ck_assert_int_eq(documents_count(docs), N_DOCS);
    /* the instances in the order they were made: unshuffle by their start */
    const InstanceVec *inst = pretrain_stream_instances(s);
    long n_rows = inst->len;
    int *order = malloc(sizeof(int) * (size_t)n_rows);
    for (long i = 0; i < n_rows; i++) order[i] = (int)i;
    for (long a = 1; a < n_rows; a++)
        for (long b = a; b > 0 && inst->data[order[b - 1]].a_begin > inst->data[order[b]].a_begin; b--) {
            int t = order[b]; order[b] = order[b - 1]; order[b - 1] = t;
        }
    long expected_next = 0;
    for (long i = 0; i < n_rows; i++) {
        const PretrainInstance *x = &inst->data[order[i]];
        ck_assert_int_eq(x->a_begin, expected_next);   /* contiguous: nothing skipped, nothing twice */
        ck_assert_int_eq(x->b_begin, x->a_end);
        ck_assert_int_eq(x->b_end, x->a_end);
        long inner_seps = 0;
        for (int d = 1; d < N_DOCS; d++) {
            int start = docs->sent_start.data[docs->doc_start.data[d]];
            inner_seps += start > x->a_begin && start < x->a_end;
        }
        long len = x->a_end - x->a_begin + inner_seps;
        ck_assert_int_le(len, T - 2);
        if (i + 1 < n_rows) {
            /* full, or one short because the next token starts a document */
            bool new_doc = false;
            for (int d = 1; d < N_DOCS; d++) new_doc |= docs->sent_start.data[docs->doc_start.data[d]] == x->a_end;
            ck_assert_msg(len == T - 2 || (len == T - 3 && new_doc), "row %ld holds %ld tokens", i, len);
        }
        expected_next = x->a_end;
    }
    ck_assert_int_eq(expected_next, docs->ids.len);
    free(order);
    /* the batches: [CLS] consecutive word ids, with [SEP] before each document's first word, [SEP] */
    PretrainBatch b;
    pretrain_batch_alloc(&b, B, T, P);
    int orig[T];
    bool masked[T];
    long words = 0;
    for (long row = 0; row < n_rows; row += B) {
        ck_assert_int_eq(pretrain_next_batch(s, &b), 0);
        for (int r = 0; r < B && row + r < n_rows; r++) {
            int n = original_row(&b, r, orig, masked);
            ck_assert_int_eq(orig[0], ts.cls_id);
            ck_assert_int_eq(orig[n - 1], ts.sep_id);
            ck_assert_int_eq(b.nsp_labels[r], 0);
            for (int t = 0; t < T; t++) ck_assert_int_eq(b.token_type_ids[r * T + t], 0);
            for (int t = 1; t < n - 1; t++) {
                if (orig[t] == ts.sep_id) {
                    /* an inner [SEP]: between the last word of a document and the first of the next */
                    ck_assert_int_gt(t, 1);
                    bool starts_doc = false;
                    for (int d = 1; d < N_DOCS; d++) starts_doc |= orig[t + 1] == first_id[d];
                    ck_assert_msg(starts_doc, "[SEP] at %d before id %d, not a document start", t, orig[t + 1]);
                    ck_assert_int_eq(orig[t - 1] + 1, orig[t + 1]);
                    continue;
                }
                words++;
                if (t > 1 && orig[t - 1] != ts.sep_id) {
                    ck_assert_int_eq(orig[t], orig[t - 1] + 1);
                    for (int d = 1; d < N_DOCS; d++) ck_assert_int_ne(orig[t], first_id[d]);
                }
            }
        }
    }
    ck_assert_int_eq(words, first_id[N_DOCS] - first_id[0]);
    pretrain_batch_free(&b);
    pretrain_stream_close(s);

    /* a sentence longer than a row runs on: rows of 8, in order */
    const char *long_path = toy_write_file(1, "w1 w2 w3 w4 w5 w6 w7 w8 w9 w10 w11 w12 w13 w14 w15 w16 w17 w18 w19 w20 "
                                              "w21 w22 w23 w24 w25 w26 w27 w28 w29 w30\nw31 w32\n");
    cfg.max_seq_length = 10;   /* 8 tokens a row */
    s = open_stream(long_path, &cfg, PRETRAIN_ALL, 0);
    inst = pretrain_stream_instances(s);
    ck_assert_int_eq(inst->len, 4);   /* 32 tokens */
    long lengths[4] = {0}, n_lengths = 0;
    for (long i = 0; i < inst->len; i++) lengths[n_lengths++] = inst->data[i].a_end - inst->data[i].a_begin;
    long eights = 0;
    for (int i = 0; i < 4; i++) eights += lengths[i] == 8;
    ck_assert_int_eq(eights, 4);
    pretrain_stream_close(s);
    remove(long_path);
    remove(path);
}
END_TEST

/* Corpus weights (PretrainConfig.file_weights): weight 2.5 reads the
 * training documents twice and then their first half (cut at a line), the
 * held-out documents in no copy; weight 1 is the plain stream. */
START_TEST(corpus_weights_repeat_training_text_and_never_the_held_out) {
    int first_id[N_DOCS + 1];
    const char *path = write_synthetic(0, false, first_id);
    enum { T = 32, P = 5, B = 16 };
    PretrainConfig cfg = small_config(T, P, B);
    cfg.eval_fraction = 0.1;   /* the last 4 documents */
    cfg.full_sentences = true;
    cfg.short_seq_prob = 0;
    double weight = 2.5;
    cfg.file_weights = &weight;
    PretrainStream *s = open_stream(path, &cfg, PRETRAIN_TRAIN, 0);
    long docs = pretrain_stream_num_documents(s);
    ck_assert_int_gt(docs, 2 * (N_DOCS - 4));
    ck_assert_int_lt(docs, 3 * (N_DOCS - 4));
    /* one epoch is the shard: count every word's appearances */
    int n_words = first_id[N_DOCS] - first_id[0];
    int *seen = calloc((size_t)n_words, sizeof(int));
    const Documents *d = pretrain_stream_shard(s);
    for (long k = 0; k < d->ids.len; k++) {
        int w = d->ids.data[k] - first_id[0];
        ck_assert_int_lt(d->ids.data[k], first_id[N_DOCS - 4]);   /* no held-out word */
        seen[w]++;
    }
    int split = first_id[N_DOCS - 4] - first_id[0];
    long thrice = 0;
    for (int w = 0; w < split; w++) {
        ck_assert_int_ge(seen[w], 2);
        ck_assert_int_le(seen[w], 3);
        if (seen[w] == 3) { thrice++; ck_assert_int_eq(w == 0 || seen[w - 1] == 3, 1); }   /* a prefix */
    }
    ck_assert_msg(fabs((double)thrice / split - 0.5) < 0.05, "%ld of %d words read a third time", thrice, split);
    free(seen);
    pretrain_stream_close(s);
    /* the held-out stream is the same with or without weights */
    s = open_stream(path, &cfg, PRETRAIN_HELDOUT, 0);
    ck_assert_int_eq(pretrain_stream_num_documents(s), 4);
    pretrain_stream_close(s);
    /* a weight of 0 is refused, naming the file */
    weight = 0;
    TokenSource ts = toy_tokens();
    CorpusOptions copt = { .mode = CORPUS_LINES };
    char err[512] = "";
    ck_assert_ptr_null(pretrain_stream_open(&path, 1, &copt, &ts, &cfg, PRETRAIN_TRAIN, err, sizeof err));
    ck_assert_msg(strstr(err, path) && strstr(err, "weight"), "%s", err);
    remove(path);
}
END_TEST

START_TEST(empty_corpus_is_an_error_naming_the_files) {
    TokenSource ts = toy_tokens();
    PretrainConfig cfg = pretrain_config_default();
    CorpusOptions copt = { .mode = CORPUS_LINES };
    char err[512] = "";
    const char *blank[2] = { toy_write_file(0, "\n\n   \n"), toy_write_file(1, "") };
    ck_assert_ptr_null(pretrain_stream_open(blank, 2, &copt, &ts, &cfg, PRETRAIN_TRAIN, err, sizeof err));
    ck_assert_msg(strstr(err, blank[0]) && strstr(err, "1 other file") && strstr(err, "empty"), "%s", err);
    /* text that tokenizes to nothing */
    const char *punct = toy_write_file(2, "... !!!\n?\n");
    ck_assert_ptr_null(pretrain_stream_open(&punct, 1, &copt, &ts, &cfg, PRETRAIN_ALL, err, sizeof err));
    ck_assert_msg(strstr(err, punct) && strstr(err, "no tokens"), "%s", err);
    /* a missing file */
    const char *missing = "/nonexistent/corpus.txt";
    ck_assert_ptr_null(pretrain_stream_open(&missing, 1, &copt, &ts, &cfg, PRETRAIN_ALL, err, sizeof err));
    ck_assert_msg(strstr(err, missing) != NULL, "%s", err);
    /* a bad configuration */
    cfg.max_seq_length = 4;
    ck_assert_ptr_null(pretrain_stream_open(&punct, 1, &copt, &ts, &cfg, PRETRAIN_ALL, err, sizeof err));
    ck_assert_msg(strstr(err, "max_seq_length") != NULL, "%s", err);
    remove(blank[0]);
    remove(blank[1]);
    remove(punct);
}
END_TEST

Suite *pretrain_data_suite(void) {
    Suite *s = suite_create("pretrain_data");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, batches_have_bert_layout_and_google_masking_rates);
    tcase_add_test(tc, isnext_pairs_follow_in_their_document);
    tcase_add_test(tc, mask_counts_by_hand);
    tcase_add_test(tc, mask_token_and_random_token_shares_are_configurable);
    tcase_add_test(tc, whole_word_masking_masks_every_piece);
    tcase_add_test(tc, same_seed_same_batches_other_seed_differs);
    tcase_add_test(tc, save_restore_reproduces_next_batches);
    tcase_add_test(tc, held_out_documents_never_in_training);
    tcase_add_test(tc, full_sentences_pack_contiguous_text_across_documents);
    tcase_add_test(tc, corpus_weights_repeat_training_text_and_never_the_held_out);
    tcase_add_test(tc, empty_corpus_is_an_error_naming_the_files);
    suite_add_tcase(s, tc);
    return s;
}
