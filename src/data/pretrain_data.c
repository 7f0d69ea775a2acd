/* pretrain_data.c — sentence-pair instances and masked-LM predictions as in
 * Google's create_pretraining_data.py, and the batch stream over a corpus
 * (shards, held-out split, dynamic masking, resume).
 * docs/pretraining_data.md describes each step; the section names are cited below. */
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "data/pretrain_data.h"
#include "io/fileio.h"

PretrainConfig pretrain_config_default(void) {
    return (PretrainConfig){
        .max_seq_length = 128, .max_predictions_per_seq = 20, .masked_lm_prob = 0.15,
        .mask_token_prob = 0.8, .random_token_prob = 0.1,
        .short_seq_prob = 0.1, .whole_word_mask = false, .batch_size = 32, .seed = 12345,
        .eval_fraction = 0.01,
    };
}

void instancevec_free(InstanceVec *v) { free(v->data); v->data = NULL; v->len = v->cap = 0; }

static int instancevec_push(InstanceVec *v, PretrainInstance x) {
    if (v->len == v->cap) {
        long cap = v->cap ? 2 * v->cap : 256;
        PretrainInstance *d = realloc(v->data, sizeof *d * (size_t)cap);
        if (!d) return -1;
        v->data = d;
        v->cap = cap;
    }
    v->data[v->len++] = x;
    return 0;
}

/* Python's random.randint(lo, hi): uniform on the closed range. */
static long randint(Rng *rng, long lo, long hi) { return lo + (long)rng_below(rng, (uint64_t)(hi - lo + 1)); }

/* ---------- instances: "Sentence pairs" in the doc ---------- */

/* truncate_seq_pair: while the pair is too long, drop a token from the longer
 * one (B on ties), from its front or back with probability 1/2 each. */
static void truncate_seq_pair(int *a_begin, int *a_end, int *b_begin, int *b_end, int max_num_tokens, Rng *rng) {
    while ((*a_end - *a_begin) + (*b_end - *b_begin) > max_num_tokens) {
        bool trunc_a = (*a_end - *a_begin) > (*b_end - *b_begin);
        int *front = trunc_a ? a_begin : b_begin, *back = trunc_a ? a_end : b_end;
        if (rng_uniform(rng) < 0.5) (*front)++;
        else (*back)--;
    }
}

int pretrain_instances_from_document(const Documents *docs, long doc, int max_seq_length,
                                     double short_seq_prob, Rng *rng, InstanceVec *out) {
    const int *sent = docs->sent_start.data;
    const int *dstart = docs->doc_start.data;
    long n_docs = documents_count(docs);
    long first = dstart[doc], n_sent = dstart[doc + 1] - dstart[doc];
    int max_num_tokens = max_seq_length - 3;
    /* One target length per document, as in Google's code. */
    int target_seq_length = max_num_tokens;
    if (rng_uniform(rng) < short_seq_prob) target_seq_length = (int)randint(rng, 2, max_num_tokens);

    long chunk_first = 0;      /* the chunk is sentences chunk_first..i of the document */
    long current_length = 0;
    for (long i = 0; i < n_sent; i++) {
        current_length += sent[first + i + 1] - sent[first + i];
        if (i != n_sent - 1 && current_length < target_seq_length) continue;
        long chunk_len = i - chunk_first + 1;
        long a_end = 1;
        if (chunk_len >= 2) a_end = randint(rng, 1, chunk_len - 1);
        PretrainInstance inst = { .doc = (int)doc };
        inst.a_begin = sent[first + chunk_first];
        inst.a_end = sent[first + chunk_first + a_end];
        if (chunk_len == 1 || rng_uniform(rng) < 0.5) {
            inst.is_random_next = true;
            int target_b_length = target_seq_length - (inst.a_end - inst.a_begin);
            /* Ten tries to pick another document; with one document it is itself. */
            long random_doc = doc;
            for (int tries = 0; tries < 10; tries++) {
                random_doc = randint(rng, 0, n_docs - 1);
                if (random_doc != doc) break;
            }
            long r_first = dstart[random_doc], r_n = dstart[random_doc + 1] - r_first;
            long random_start = randint(rng, 0, r_n - 1);
            inst.b_begin = inst.b_end = sent[r_first + random_start];
            for (long j = random_start; j < r_n; j++) {
                inst.b_end = sent[r_first + j + 1];
                if (inst.b_end - inst.b_begin >= target_b_length) break;
            }
            /* The chunk's unused sentences are "put back" for the next chunk. */
            i -= chunk_len - a_end;
        } else {
            inst.is_random_next = false;
            inst.b_begin = inst.a_end;
            inst.b_end = sent[first + i + 1];
        }
        truncate_seq_pair(&inst.a_begin, &inst.a_end, &inst.b_begin, &inst.b_end, max_num_tokens, rng);
        if (instancevec_push(out, inst) < 0) return -1;
        chunk_first = i + 1;
        current_length = 0;
    }
    return 0;
}

/* ---------- packing: "Full sentences" in the doc ---------- */

int pretrain_packed_instances(const Documents *docs, int max_seq_length, double short_seq_prob, Rng *rng,
                              InstanceVec *out) {
    const int *sent = docs->sent_start.data;
    const int *dstart = docs->doc_start.data;
    long n_docs = documents_count(docs), n_tokens = docs->ids.len;
    int max_num_tokens = max_seq_length - 2;   /* [CLS] … [SEP] */
    long doc = 0;                              /* the document holding token `pos` */
    for (long pos = 0; pos < n_tokens;) {
        while (doc + 1 < n_docs && sent[dstart[doc + 1]] <= pos) doc++;
        long target = rng_uniform(rng) < short_seq_prob ? randint(rng, 2, max_num_tokens) : max_num_tokens;
        PretrainInstance row = { .a_begin = (int)pos, .doc = (int)doc };
        long len = 0, in_doc = doc;            /* tokens in the row, its inner [SEP]s included */
        while (pos < n_tokens && len < target) {
            long next_doc_start = in_doc + 1 < n_docs ? sent[dstart[in_doc + 1]] : n_tokens;
            if (pos == next_doc_start) {
                /* a document starts inside the row: a [SEP], if a token still fits after it */
                if (len + 2 > target) break;
                len++;
                in_doc++;
                continue;
            }
            long take = next_doc_start - pos < target - len ? next_doc_start - pos : target - len;
            pos += take;
            len += take;
        }
        row.a_end = row.b_begin = row.b_end = (int)pos;
        if (instancevec_push(out, row) < 0) return -1;
    }
    return 0;
}

/* ---------- masking: "Masked LM" in the doc ---------- */

int pretrain_mask_tokens(int *tokens, int n, const TokenSource *ts, const PretrainConfig *cfg,
                         Rng *rng, int *positions, int *labels, int *scratch) {
    /* Candidate words: group g is members[group_begin[g] .. group_begin[g+1]).
     * With whole-word masking a "##" piece joins the previous candidate group
     * (even across a [SEP], exactly as Google's code). */
    int *members = scratch, *group_begin = scratch + n, *order = scratch + 2 * n + 1;
    int n_members = 0, n_groups = 0;
    for (int i = 0; i < n; i++) {
        int t = tokens[i];
        if (t == ts->cls_id || t == ts->sep_id) continue;
        bool joins = cfg->whole_word_mask && n_groups > 0 && t >= 0 && t < ts->vocab_size &&
                     ts->is_continuation && ts->is_continuation[t];
        if (!joins) group_begin[n_groups++] = n_members;
        members[n_members++] = i;
    }
    group_begin[n_groups] = n_members;
    for (int g = 0; g < n_groups; g++) order[g] = g;
    /* random.shuffle: Fisher–Yates from the back. */
    for (int g = n_groups - 1; g > 0; g--) {
        int j = (int)rng_below(rng, (uint64_t)g + 1);
        int tmp = order[g]; order[g] = order[j]; order[j] = tmp;
    }
    /* Python's round() rounds halves to even, as rint() does by default. */
    long rounded = (long)rint((double)n * cfg->masked_lm_prob);
    int num_to_predict = (int)(rounded < 1 ? 1 : rounded);
    if (num_to_predict > cfg->max_predictions_per_seq) num_to_predict = cfg->max_predictions_per_seq;

    /* Google: random() < 0.8 → [MASK]; else random() < 0.5 → keep; else a
     * random token. The second threshold is the stay share of what is not
     * [MASK]: exactly 0.5 for 80/10/10. */
    double not_masked = 1.0 - cfg->mask_token_prob;
    double stay_share = not_masked > 0 ? (not_masked - cfg->random_token_prob) / not_masked : 1.0;
    if (cfg->mask_token_prob == 0.8 && cfg->random_token_prob == 0.1) stay_share = 0.5;
    int n_masked = 0;
    for (int k = 0; k < n_groups && n_masked < num_to_predict; k++) {
        int g = order[k], size = group_begin[g + 1] - group_begin[g];
        if (n_masked + size > num_to_predict) continue;   /* a whole word or nothing */
        for (int m = group_begin[g]; m < group_begin[g + 1]; m++) {
            int index = members[m];
            int original = tokens[index];
            if (rng_uniform(rng) < cfg->mask_token_prob) tokens[index] = ts->mask_id;
            else if (rng_uniform(rng) < stay_share) tokens[index] = original;
            else tokens[index] = (int)rng_below(rng, (uint64_t)ts->vocab_size);
            positions[n_masked] = index;
            labels[n_masked] = original;
            n_masked++;
        }
    }
    /* Sort by position (insertion sort; at most P entries). */
    for (int a = 1; a < n_masked; a++) {
        int p = positions[a], l = labels[a], b = a - 1;
        while (b >= 0 && positions[b] > p) { positions[b + 1] = positions[b]; labels[b + 1] = labels[b]; b--; }
        positions[b + 1] = p;
        labels[b + 1] = l;
    }
    return n_masked;
}

/* ---------- batches ---------- */

int pretrain_batch_alloc(PretrainBatch *b, int B, int T, int P) {
    memset(b, 0, sizeof *b);
    b->batch_size = B;
    b->max_seq_length = T;
    b->max_predictions = P;
    size_t bt = (size_t)B * (size_t)T, bp = (size_t)B * (size_t)P;
    b->input_ids = malloc(sizeof(int) * bt);
    b->token_type_ids = malloc(sizeof(int) * bt);
    b->attention_mask = malloc(sizeof(int) * bt);
    b->mlm_positions = malloc(sizeof(int) * bp);
    b->mlm_labels = malloc(sizeof(int) * bp);
    b->nsp_labels = malloc(sizeof(int) * (size_t)B);
    if (!b->input_ids || !b->token_type_ids || !b->attention_mask || !b->mlm_positions ||
        !b->mlm_labels || !b->nsp_labels) {
        pretrain_batch_free(b);
        return -1;
    }
    return 0;
}

void pretrain_batch_free(PretrainBatch *b) {
    free(b->input_ids);
    free(b->token_type_ids);
    free(b->attention_mask);
    free(b->mlm_positions);
    free(b->mlm_labels);
    free(b->nsp_labels);
    memset(b, 0, sizeof *b);
}

/* ---------- the stream: "Streaming", "Held-out documents", "Resuming" ---------- */

struct PretrainStream {
    CorpusReader *reader;
    TokenSource ts;
    PretrainConfig cfg;
    PretrainPart part;
    long n_docs, corpus_docs;
    CorpusPos shard_pos;       /* where the current shard starts */
    long epoch;
    Rng shard_rng, rng;
    Documents docs;
    InstanceVec instances;
    long next_instance;
    int *scratch;              /* [3T + 1] for pretrain_mask_tokens */
    char err[512];
};

/* Makes the current shard's instances with s->rng (saved first in shard_rng)
 * and shuffles them. */
static int build_instances(PretrainStream *s, char *err, size_t errlen) {
    s->shard_rng = s->rng;
    s->instances.len = 0;
    long n_docs = documents_count(&s->docs);
    if (s->cfg.full_sentences) {
        if (pretrain_packed_instances(&s->docs, s->cfg.max_seq_length, s->cfg.short_seq_prob, &s->rng,
                                      &s->instances) < 0) {
            format_error(err, errlen, "pretraining data: out of memory");
            return -1;
        }
    } else {
        for (long d = 0; d < n_docs; d++)
            if (pretrain_instances_from_document(&s->docs, d, s->cfg.max_seq_length, s->cfg.short_seq_prob,
                                                 &s->rng, &s->instances) < 0) {
                format_error(err, errlen, "pretraining data: out of memory");
                return -1;
            }
    }
    for (long k = s->instances.len - 1; k > 0; k--) {
        long j = (long)rng_below(&s->rng, (uint64_t)k + 1);
        PretrainInstance tmp = s->instances.data[k];
        s->instances.data[k] = s->instances.data[j];
        s->instances.data[j] = tmp;
    }
    s->next_instance = 0;
    return 0;
}

/* Reads the shard at the reader's position (wrapping to the start of the
 * range, next epoch, at its end) and makes its instances. */
static int next_shard(PretrainStream *s, char *err, size_t errlen) {
    for (int attempt = 0; attempt < 2; attempt++) {
        s->shard_pos = corpus_tell(s->reader);
        long n = corpus_read_shard(s->reader, &s->ts, &s->docs, err, errlen);
        if (n < 0) return -1;
        if (n > 0) return build_instances(s, err, errlen);
        s->epoch++;
        corpus_seek(s->reader, corpus_range_begin(s->reader));
    }
    format_error(err, errlen, "pretraining data: the corpus produced no tokens on a second pass");
    return -1;
}

static void describe_files(char *buf, size_t len, const char *const *paths, int n_paths) {
    if (n_paths == 1) snprintf(buf, len, "%s", paths[0]);
    else snprintf(buf, len, "%s and %d other file%s", paths[0], n_paths - 1, n_paths == 2 ? "" : "s");
}

/* Corpus weights ("Corpus weights" in the doc): replaces the stream's reader
 * with one that reads each training file weight times per epoch (the whole
 * file ⌊weight⌋ times, then the fraction as a prefix cut at a line start),
 * the held-out documents (from train_end on) excluded from every copy.
 * Returns the training documents per epoch, or −1 with a message. */
static long open_weighted(PretrainStream *s, const char *const *paths, int n_paths, const CorpusOptions *copt,
                          const double *weights, CorpusPos train_end, char *err, size_t errlen) {
    enum { MAX_COPIES = 1000 };
    int cap = 0;
    for (int f = 0; f < n_paths; f++) {
        if (!(weights[f] > 0 && weights[f] <= MAX_COPIES)) {
            format_error(err, errlen, "%s: corpus weight %g: it must be above 0 and at most %d", paths[f],
                         weights[f], MAX_COPIES);
            return -1;
        }
        cap += (int)ceil(weights[f]);
    }
    const char **entry_paths = malloc(sizeof *entry_paths * (size_t)cap);
    long *limits = malloc(sizeof *limits * (size_t)cap);
    long n_docs = -1;
    int n_entries = 0;
    if (!entry_paths || !limits) { format_error(err, errlen, "pretraining data: out of memory"); goto done; }
    for (int f = 0; f < n_paths && f <= train_end.file; f++) {
        /* the training part of file f: all of it, or up to the held-out documents */
        long extent = f < train_end.file ? -1 : train_end.offset;
        if (extent == 0) continue;
        int whole = (int)floor(weights[f]);
        for (int k = 0; k < whole; k++) { entry_paths[n_entries] = paths[f]; limits[n_entries++] = extent; }
        double fraction = weights[f] - whole;
        if (fraction > 0) {
            long size = corpus_line_start_after(paths[f], LONG_MAX, extent, err, errlen);
            if (size < 0) goto done;
            long cut = corpus_line_start_after(paths[f], (long)ceil(fraction * (double)size), size, err, errlen);
            if (cut < 0) goto done;
            if (cut > 0) { entry_paths[n_entries] = paths[f]; limits[n_entries++] = cut; }
        }
    }
    if (n_entries == 0) {
        format_error(err, errlen, "%s: the weighted corpus has no training text", paths[0]);
        goto done;
    }
    CorpusReader *weighted = corpus_open_limited(entry_paths, limits, n_entries, copt, err, errlen);
    if (!weighted) goto done;
    CorpusPos *starts = NULL;
    n_docs = corpus_scan(weighted, &starts, err, errlen);
    free(starts);
    if (n_docs < 0) { corpus_close(weighted); goto done; }
    corpus_close(s->reader);
    s->reader = weighted;
done:
    free(entry_paths);
    free(limits);
    return n_docs;
}

PretrainStream *pretrain_stream_open(const char *const *paths, int n_paths, const CorpusOptions *copt,
                                     const TokenSource *ts, const PretrainConfig *cfg, PretrainPart part,
                                     char *err, size_t errlen) {
    if (cfg->max_seq_length < 5 || cfg->max_predictions_per_seq < 1 || cfg->batch_size < 1 ||
        !(cfg->masked_lm_prob > 0 && cfg->masked_lm_prob <= 1) ||
        !(cfg->short_seq_prob >= 0 && cfg->short_seq_prob <= 1) ||
        !(cfg->eval_fraction >= 0 && cfg->eval_fraction < 1)) {
        format_error(err, errlen, "pretraining data: bad configuration (need max_seq_length >= 5, "
                "max_predictions >= 1, batch >= 1, 0 < masked_lm_prob <= 1, 0 <= short_seq_prob <= 1, "
                "0 <= eval_fraction < 1)");
        return NULL;
    }
    if (!ts || !ts->encode || ts->vocab_size <= 0) {
        format_error(err, errlen, "pretraining data: no tokenizer given");
        return NULL;
    }
    PretrainStream *s = calloc(1, sizeof *s);
    if (!s) { format_error(err, errlen, "pretraining data: out of memory"); return NULL; }
    s->ts = *ts;
    s->cfg = *cfg;
    s->part = part;
    s->reader = corpus_open(paths, n_paths, copt, err, errlen);
    if (!s->reader) { free(s); return NULL; }
    s->scratch = malloc(sizeof(int) * (3 * (size_t)cfg->max_seq_length + 1));
    if (!s->scratch) { format_error(err, errlen, "pretraining data: out of memory"); pretrain_stream_close(s); return NULL; }

    CorpusPos *starts = NULL;
    long n = corpus_scan(s->reader, &starts, err, errlen);
    if (n < 0) { pretrain_stream_close(s); return NULL; }
    char files[300];
    describe_files(files, sizeof files, paths, n_paths);
    if (n == 0) {
        format_error(err, errlen, "%s: the corpus is empty (no text)", files);
        free(starts);
        pretrain_stream_close(s);
        return NULL;
    }
    /* Held-out: the last round(n · eval_fraction) documents, at least one when
     * there are two or more, never all of them. */
    long n_eval = 0;
    if (part != PRETRAIN_ALL && cfg->eval_fraction > 0 && n >= 2) {
        n_eval = lround((double)n * cfg->eval_fraction);
        if (n_eval < 1) n_eval = 1;
        if (n_eval > n - 1) n_eval = n - 1;
    }
    if (part == PRETRAIN_HELDOUT && n_eval == 0) {
        format_error(err, errlen, "%s: no held-out documents (%ld document%s, eval_fraction %g)", files, n,
                n == 1 ? "" : "s", cfg->eval_fraction);
        free(starts);
        pretrain_stream_close(s);
        return NULL;
    }
    CorpusPos end = { n_paths, 0 };
    s->corpus_docs = n;
    CorpusPos train_end = part == PRETRAIN_TRAIN && n_eval > 0 ? starts[n - n_eval] : end;
    if (part == PRETRAIN_TRAIN && n_eval > 0) corpus_set_range(s->reader, (CorpusPos){ 0, 0 }, train_end);
    if (part == PRETRAIN_HELDOUT) corpus_set_range(s->reader, starts[n - n_eval], end);
    s->n_docs = part == PRETRAIN_HELDOUT ? n_eval : n - n_eval;
    free(starts);
    if (cfg->file_weights && part != PRETRAIN_HELDOUT &&
        (s->n_docs = open_weighted(s, paths, n_paths, copt, cfg->file_weights, train_end, err, errlen)) < 0) {
        pretrain_stream_close(s);
        return NULL;
    }

    s->rng = rng_seeded(cfg->seed);
    s->epoch = 0;
    s->shard_pos = corpus_tell(s->reader);
    long n_read = corpus_read_shard(s->reader, &s->ts, &s->docs, err, errlen);
    if (n_read == 0)
        format_error(err, errlen, "%s: the corpus has no tokens (its text tokenizes to nothing)", files);
    if (n_read <= 0 || build_instances(s, err, errlen) < 0) {
        pretrain_stream_close(s);
        return NULL;
    }
    return s;
}

void pretrain_stream_close(PretrainStream *s) {
    if (!s) return;
    corpus_close(s->reader);
    documents_free(&s->docs);
    instancevec_free(&s->instances);
    free(s->scratch);
    free(s);
}

const char *pretrain_stream_error(const PretrainStream *s) { return s->err; }
long pretrain_stream_num_documents(const PretrainStream *s) { return s->n_docs; }
long pretrain_stream_corpus_documents(const PretrainStream *s) { return s->corpus_docs; }
const Documents *pretrain_stream_shard(const PretrainStream *s) { return &s->docs; }
const InstanceVec *pretrain_stream_instances(const PretrainStream *s) { return &s->instances; }

/* Row r of the batch: [CLS] A [SEP] B [SEP], padding, then masking drawn now
 * (dynamic masking: a new mask every time the instance is used). */
static void fill_row(PretrainStream *s, PretrainBatch *b, int r, const PretrainInstance *inst) {
    int T = b->max_seq_length, P = b->max_predictions;
    int *ids = b->input_ids + (long)r * T, *types = b->token_type_ids + (long)r * T;
    int *mask = b->attention_mask + (long)r * T;
    const int *src = s->docs.ids.data;
    int n = 0;
    ids[n] = s->ts.cls_id; types[n++] = 0;
    if (s->cfg.full_sentences) {
        /* [CLS] doc d … [SEP] doc d+1 … [SEP]: a [SEP] where a document starts */
        const int *sent = s->docs.sent_start.data, *dstart = s->docs.doc_start.data;
        long n_docs = documents_count(&s->docs), next_doc = inst->doc + 1;
        for (int k = inst->a_begin; k < inst->a_end; k++) {
            if (next_doc < n_docs && k == sent[dstart[next_doc]]) { ids[n] = s->ts.sep_id; types[n++] = 0; next_doc++; }
            ids[n] = src[k]; types[n++] = 0;
        }
        ids[n] = s->ts.sep_id; types[n++] = 0;
    } else {
        for (int k = inst->a_begin; k < inst->a_end; k++) { ids[n] = src[k]; types[n++] = 0; }
        ids[n] = s->ts.sep_id; types[n++] = 0;
        for (int k = inst->b_begin; k < inst->b_end; k++) { ids[n] = src[k]; types[n++] = 1; }
        ids[n] = s->ts.sep_id; types[n++] = 1;
    }
    for (int t = 0; t < T; t++) mask[t] = t < n;
    for (int t = n; t < T; t++) { ids[t] = s->ts.pad_id; types[t] = 0; }
    int *pos = b->mlm_positions + (long)r * P, *lab = b->mlm_labels + (long)r * P;
    int m = pretrain_mask_tokens(ids, n, &s->ts, &s->cfg, &s->rng, pos, lab, s->scratch);
    for (int k = m; k < P; k++) { pos[k] = 0; lab[k] = -100; }
    b->nsp_labels[r] = inst->is_random_next ? 1 : 0;
    b->n_tokens += n;
    b->n_predictions += m;
}

int pretrain_next_batch(PretrainStream *s, PretrainBatch *b) {
    if (b->batch_size != s->cfg.batch_size || b->max_seq_length != s->cfg.max_seq_length ||
        b->max_predictions != s->cfg.max_predictions_per_seq) {
        format_error(s->err, sizeof s->err, "pretraining data: batch allocated as B=%d T=%d P=%d, stream wants %d %d %d",
                b->batch_size, b->max_seq_length, b->max_predictions, s->cfg.batch_size,
                s->cfg.max_seq_length, s->cfg.max_predictions_per_seq);
        return -1;
    }
    b->n_tokens = b->n_predictions = 0;
    for (int r = 0; r < b->batch_size; r++) {
        if (s->next_instance >= s->instances.len && next_shard(s, s->err, sizeof s->err) < 0) return -1;
        fill_row(s, b, r, &s->instances.data[s->next_instance++]);
    }
    return 0;
}

PretrainStreamState pretrain_stream_state(const PretrainStream *s) {
    return (PretrainStreamState){
        .file = s->shard_pos.file, .offset = s->shard_pos.offset, .epoch = s->epoch,
        .shard_rng = s->shard_rng.state, .next_instance = s->next_instance, .rng = s->rng.state,
    };
}

int pretrain_stream_restore(PretrainStream *s, const PretrainStreamState *st, char *err, size_t errlen) {
    if (st->file < 0 || st->file > INT_MAX || st->offset < 0 || st->epoch < 0 || st->next_instance < 0) {
        format_error(err, errlen, "pretraining data: invalid saved position (file %lld, byte %lld)",
                (long long)st->file, (long long)st->offset);
        return -1;
    }
    CorpusPos pos = { (int)st->file, (long)st->offset };
    if (corpus_check_position(s->reader, pos, err, errlen) != 0) return -1;
    corpus_seek(s->reader, pos);
    s->shard_pos = pos;
    long n = corpus_read_shard(s->reader, &s->ts, &s->docs, err, errlen);
    if (n < 0) return -1;
    if (n == 0) {
        format_error(err, errlen, "pretraining data: saved position (file %d, byte %ld) holds no text; "
                "was the corpus changed?", pos.file, pos.offset);
        return -1;
    }
    s->rng.state = st->shard_rng;
    if (build_instances(s, err, errlen) < 0) return -1;
    if (st->next_instance > s->instances.len) {
        format_error(err, errlen, "pretraining data: saved position is past the shard's %ld instances; "
                "was the corpus or configuration changed?", s->instances.len);
        return -1;
    }
    s->next_instance = st->next_instance;
    s->epoch = st->epoch;
    s->rng.state = st->rng;
    return 0;
}
