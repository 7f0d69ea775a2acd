/* vocab_train.c — WordPiece vocabulary training (`bert vocab`): count the
 * words BERT's basic tokenizer produces, then repeatedly merge the most
 * frequent adjacent pair of pieces (BPE with "##" continuations, as Hugging
 * Face's WordPiece trainer). Pair counts are updated incrementally: a merge
 * only revisits the words that contain the pair. docs/tokenizer.md. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <time.h>
#include <unistd.h>
#include <fcntl.h>
#include <utf8proc.h>
#include "data/tokenizer.h"
#include "data/vocab_train.h"
#include "io/fileio.h"

static double now_seconds(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static uint64_t hash_bytes(const char *s, long n) {
    uint64_t h = 0xcbf29ce484222325ULL;   /* FNV-1a */
    for (long i = 0; i < n; i++) { h ^= (unsigned char)s[i]; h *= 0x100000001b3ULL; }
    return h;
}

static uint64_t hash_u64(uint64_t x) {   /* splitmix64 finaliser */
    x ^= x >> 30; x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27; x *= 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

static bool grow(void **p, long *cap, long need, size_t elem) {
    if (need <= *cap) return true;
    long c = *cap ? *cap : 256;
    while (c < need) c *= 2;
    void *q = realloc(*p, (size_t)c * elem);
    if (!q) return false;
    *p = q;
    *cap = c;
    return true;
}

/* ---------------------------------------------------------------- string → index map */

/* Strings live in one arena; the map stores indices into parallel arrays. */
typedef struct {
    char *arena; long arena_len, arena_cap;
    long *offset; int *length; long *count; long n, cap;   /* per string */
    int *slots; long nslots;                                 /* open addressing, −1 empty */
} StrMap;

static bool strmap_rehash(StrMap *m, long nslots) {
    int *slots = malloc(sizeof(int) * (size_t)nslots);
    if (!slots) return false;
    memset(slots, 0xff, sizeof(int) * (size_t)nslots);
    for (long i = 0; i < m->n; i++) {
        uint64_t h = hash_bytes(m->arena + m->offset[i], m->length[i]) & (uint64_t)(nslots - 1);
        while (slots[h] >= 0) h = (h + 1) & (uint64_t)(nslots - 1);
        slots[h] = (int)i;
    }
    free(m->slots);
    m->slots = slots;
    m->nslots = nslots;
    return true;
}

/* Index of s[0..n), added (count 0) if absent; −1 if memory ran out. */
static long strmap_get(StrMap *m, const char *s, int n, bool *added) {
    if (2 * (m->n + 1) > m->nslots && !strmap_rehash(m, m->nslots ? 2 * m->nslots : 1024)) return -1;
    uint64_t mask = (uint64_t)(m->nslots - 1), h = hash_bytes(s, n) & mask;
    for (; m->slots[h] >= 0; h = (h + 1) & mask) {
        int i = m->slots[h];
        if (m->length[i] == n && memcmp(m->arena + m->offset[i], s, (size_t)n) == 0) {
            if (added) *added = false;
            return i;
        }
    }
    if (m->n >= INT32_MAX - 1) return -1;
    long cap = m->cap;
    if (!grow((void **)&m->arena, &m->arena_cap, m->arena_len + n + 1, 1) ||
        !grow((void **)&m->offset, &cap, m->n + 1, sizeof(long)) ||
        (cap = m->cap, !grow((void **)&m->length, &cap, m->n + 1, sizeof(int))) ||
        (cap = m->cap, !grow((void **)&m->count, &cap, m->n + 1, sizeof(long))))
        return -1;
    m->cap = cap;
    memcpy(m->arena + m->arena_len, s, (size_t)n);
    m->arena[m->arena_len + n] = 0;
    long i = m->n++;
    m->offset[i] = m->arena_len;
    m->length[i] = n;
    m->count[i] = 0;
    m->arena_len += n + 1;
    m->slots[h] = (int)i;
    if (added) *added = true;
    return i;
}

/* Index of s[0..n), or −1 if absent. */
static long strmap_find(const StrMap *m, const char *s, int n) {
    if (!m->nslots) return -1;
    uint64_t mask = (uint64_t)(m->nslots - 1), h = hash_bytes(s, n) & mask;
    for (; m->slots[h] >= 0; h = (h + 1) & mask) {
        int i = m->slots[h];
        if (m->length[i] == n && memcmp(m->arena + m->offset[i], s, (size_t)n) == 0) return i;
    }
    return -1;
}

static const char *strmap_str(const StrMap *m, long i) { return m->arena + m->offset[i]; }

static void strmap_free(StrMap *m) {
    free(m->arena); free(m->offset); free(m->length); free(m->count); free(m->slots);
    memset(m, 0, sizeof *m);
}

/* ---------------------------------------------------------------- counting */

typedef struct {
    StrMap words;
    long total;
    bool oom;
} Counter;

static void count_word(void *ctx, const char *word, int nbytes, int nchars) {
    Counter *c = ctx;
    long i = strmap_get(&c->words, word, nbytes, NULL);
    if (i < 0) { c->oom = true; return; }
    c->words.count[i]++;
    c->total++;
}

/* Feeds a file to the basic tokenizer in pieces that end at a newline (a
 * newline is whitespace, so this splits no word). */
static int count_file(const char *path, bool lower_case, Counter *counter, VocabTrainStats *st,
                      FILE *progress, char *err, size_t err_len) {
    FILE *f = fopen(path, "rb");
    if (!f) { snprintf(err, err_len, "%s: cannot open: %s", path, strerror(errno)); return -1; }
    long cap = 4 << 20, len = 0;
    char *buf = malloc((size_t)cap);
    if (!buf) { fclose(f); snprintf(err, err_len, "%s: out of memory", path); return -1; }
    int status = 0;
    for (;;) {
        size_t got = fread(buf + len, 1, (size_t)(cap - len), f);
        len += (long)got;
        bool eof = got == 0;
        long cut = len;
        if (!eof) {
            while (cut > 0 && buf[cut - 1] != '\n') cut--;
            if (cut == 0) {   /* no newline in the whole buffer: read more */
                if (len == cap) {
                    char *bigger = realloc(buf, (size_t)cap * 2);
                    if (!bigger) { snprintf(err, err_len, "%s: out of memory", path); status = -1; break; }
                    buf = bigger;
                    cap *= 2;
                }
                continue;
            }
        }
        long invalid = tokenizer_basic_words(buf, (size_t)cut, lower_case, count_word, counter);
        if (invalid < 0 || counter->oom) { snprintf(err, err_len, "%s: out of memory", path); status = -1; break; }
        st->invalid_bytes += invalid;
        st->bytes += cut;
        if (progress && cut > 0)
            fprintf(progress, "\rcounting: %.1f MB, %ld words, %ld distinct", st->bytes / 1e6, counter->total,
                    counter->words.n);
        memmove(buf, buf + cut, (size_t)(len - cut));
        len -= cut;
        if (eof) break;
    }
    if (status == 0 && ferror(f)) { snprintf(err, err_len, "%s: read error", path); status = -1; }
    free(buf);
    fclose(f);
    return status;
}

/* ---------------------------------------------------------------- merging state */

typedef struct {
    int a, b;            /* symbol ids; the pair is a followed by b in some word */
    long count;          /* Σ word count over occurrences */
    long heap_count;     /* count of this pair's newest heap entry */
    long stamp;          /* merge number that last touched it */
    int *words; int nwords, capwords;   /* words that contain(ed) the pair (may be stale) */
} Pair;

typedef struct { long count; int a, b; } HeapEntry;

typedef struct {
    Pair *pairs; long npairs, cap;
    int *slots; long nslots;   /* key a,b → pair index */
    HeapEntry *heap; long nheap, heap_cap;
} PairTable;

/* Max-heap order: higher count first; ties broken by the smaller (a, b), so
 * the result does not depend on anything but the input. */
static bool heap_before(const HeapEntry *x, const HeapEntry *y) {
    if (x->count != y->count) return x->count > y->count;
    if (x->a != y->a) return x->a < y->a;
    return x->b < y->b;
}

static bool heap_push(PairTable *t, long count, int a, int b) {
    if (!grow((void **)&t->heap, &t->heap_cap, t->nheap + 1, sizeof(HeapEntry))) return false;
    long i = t->nheap++;
    HeapEntry e = { count, a, b };
    while (i > 0 && heap_before(&e, &t->heap[(i - 1) / 2])) { t->heap[i] = t->heap[(i - 1) / 2]; i = (i - 1) / 2; }
    t->heap[i] = e;
    return true;
}

static HeapEntry heap_pop(PairTable *t) {
    HeapEntry top = t->heap[0], last = t->heap[--t->nheap];
    long i = 0;
    for (;;) {
        long c = 2 * i + 1;
        if (c >= t->nheap) break;
        if (c + 1 < t->nheap && heap_before(&t->heap[c + 1], &t->heap[c])) c++;
        if (!heap_before(&t->heap[c], &last)) break;
        t->heap[i] = t->heap[c];
        i = c;
    }
    if (t->nheap > 0) t->heap[i] = last;
    return top;
}

static uint64_t pair_key(int a, int b) { return (uint64_t)(uint32_t)a << 32 | (uint32_t)b; }

static bool pairs_rehash(PairTable *t, long nslots) {
    int *slots = malloc(sizeof(int) * (size_t)nslots);
    if (!slots) return false;
    memset(slots, 0xff, sizeof(int) * (size_t)nslots);
    for (long i = 0; i < t->npairs; i++) {
        uint64_t h = hash_u64(pair_key(t->pairs[i].a, t->pairs[i].b)) & (uint64_t)(nslots - 1);
        while (slots[h] >= 0) h = (h + 1) & (uint64_t)(nslots - 1);
        slots[h] = (int)i;
    }
    free(t->slots);
    t->slots = slots;
    t->nslots = nslots;
    return true;
}

/* Index of pair (a, b), created with count 0 if absent; −1 if out of memory. */
static long pair_get(PairTable *t, int a, int b) {
    if (2 * (t->npairs + 1) > t->nslots && !pairs_rehash(t, t->nslots ? 2 * t->nslots : 4096)) return -1;
    uint64_t mask = (uint64_t)(t->nslots - 1), h = hash_u64(pair_key(a, b)) & mask;
    for (; t->slots[h] >= 0; h = (h + 1) & mask) {
        Pair *p = &t->pairs[t->slots[h]];
        if (p->a == a && p->b == b) return t->slots[h];
    }
    if (!grow((void **)&t->pairs, &t->cap, t->npairs + 1, sizeof(Pair))) return -1;
    long i = t->npairs++;
    t->pairs[i] = (Pair){ .a = a, .b = b, .stamp = -1 };
    t->slots[h] = (int)i;
    return i;
}

static bool pair_add_word(Pair *p, int w) {
    if (p->nwords && p->words[p->nwords - 1] == w) return true;
    if (p->nwords == p->capwords) {
        int cap = p->capwords ? 2 * p->capwords : 4;
        int *words = realloc(p->words, sizeof(int) * (size_t)cap);
        if (!words) return false;
        p->words = words;
        p->capwords = cap;
    }
    p->words[p->nwords++] = w;
    return true;
}

static void pairs_free(PairTable *t) {
    for (long i = 0; i < t->npairs; i++) free(t->pairs[i].words);
    free(t->pairs); free(t->slots); free(t->heap);
}

/* ---------------------------------------------------------------- training */

typedef struct { uint32_t cp; long count; } CharCount;

static int by_code_point(const void *x, const void *y) {
    uint32_t a = ((const CharCount *)x)->cp, b = ((const CharCount *)y)->cp;
    return (a > b) - (a < b);
}

static const StrMap *sort_words_map;
static int by_word_bytes(const void *x, const void *y) {
    return strcmp(strmap_str(sort_words_map, *(const int *)x), strmap_str(sort_words_map, *(const int *)y));
}

static int write_vocab(const char *out_path, const StrMap *symbols, const int *order, long n, char *err, size_t err_len) {
    AtomicFile f;
    if (atomic_write_begin(&f, out_path, err, err_len) != 0) return -1;
    static const char *const specials[5] = { "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]" };
    for (int i = 0; i < 5; i++) fprintf(f.fp, "%s\n", specials[i]);
    for (long i = 0; i < n; i++) fprintf(f.fp, "%s\n", strmap_str(symbols, order[i]));
    return atomic_write_commit(&f, err, err_len);
}

/* Everything vocab_train builds, passed between its phases. */
typedef struct {
    const VocabTrainOptions *opt;
    long min_count;
    FILE *progress;
    char *err; size_t err_len;
    VocabTrainStats st;
    Counter counter;                 /* distinct words and their counts */
    StrMap symbols;                  /* every piece: alphabet, ##alphabet, merges */
    int *order; long norder, order_cap;   /* vocabulary order (symbol ids) after the specials */
    CharCount *chars; long nchars;   /* the alphabet, by code point */
    /* the usable words as symbol sequences: word w is syms[wstart[w] .. + wlen[w]) */
    int *word_ids, *syms, *wstart, *wlen;
    long *wcount, nwords;
    PairTable pt;
    long *wstamp;                    /* merge number that last re-counted each word */
    long *touched, touched_n, touched_cap;   /* pairs whose count a merge changed */
    char *piece; long piece_cap;     /* the merged piece being built */
} VocabTrainer;

static int out_of_memory(VocabTrainer *t) {
    snprintf(t->err, t->err_len, "out of memory");
    return -1;
}

/* 1. Count the words of every file. */
static int count_corpus(VocabTrainer *t, const char *const *corpus_paths, int n_paths) {
    if (n_paths < 1) { snprintf(t->err, t->err_len, "no corpus files given"); return -1; }
    for (int i = 0; i < n_paths; i++)
        if (count_file(corpus_paths[i], t->opt->lower_case, &t->counter, &t->st, t->progress, t->err, t->err_len) != 0)
            return -1;
    t->st.words = t->counter.total;
    t->st.unique_words = t->counter.words.n;
    if (t->counter.total == 0) {
        snprintf(t->err, t->err_len, "%s%s: the corpus contains no words", corpus_paths[0], n_paths > 1 ? " ..." : "");
        return -1;
    }
    return 0;
}

/* 2. The alphabet: characters seen at least min_count times (weighted by word
 * count), sorted by code point; then the first symbols, "c" for every
 * alphabet character and then "##c" (vocabulary order = symbol order). */
static int build_alphabet(VocabTrainer *t) {
    const StrMap *words = &t->counter.words;
    long chars_cap = 0;
    StrMap char_map = { 0 };   /* keyed by the character's UTF-8 bytes */
    for (long w = 0; w < words->n; w++) {
        const char *s = strmap_str(words, w);
        for (int k = 0; k < words->length[w];) {
            int len = utf8proc_utf8class[(unsigned char)s[k]];
            long ci = strmap_get(&char_map, s + k, len, NULL);
            if (ci < 0) { strmap_free(&char_map); return out_of_memory(t); }
            char_map.count[ci] += words->count[w];
            k += len;
        }
    }
    for (long ci = 0; ci < char_map.n; ci++) {
        if (char_map.count[ci] < t->min_count) continue;
        utf8proc_int32_t cp;
        utf8proc_iterate((const utf8proc_uint8_t *)strmap_str(&char_map, ci), char_map.length[ci], &cp);
        if (!grow((void **)&t->chars, &chars_cap, t->nchars + 1, sizeof(CharCount))) {
            strmap_free(&char_map);
            return out_of_memory(t);
        }
        t->chars[t->nchars++] = (CharCount){ (uint32_t)cp, char_map.count[ci] };
    }
    strmap_free(&char_map);
    qsort(t->chars, (size_t)t->nchars, sizeof(CharCount), by_code_point);
    long nchars = t->nchars;
    t->st.alphabet = (int)nchars;
    if (5 + 2 * nchars > t->opt->vocab_size) {
        snprintf(t->err, t->err_len, "--size %d is too small: the 5 special tokens and the %ld-character alphabet "
                 "(each with and without ##) need %ld entries; raise --size or --min-count",
                 t->opt->vocab_size, nchars, 5 + 2 * nchars);
        return -1;
    }

    for (int cont = 0; cont < 2; cont++)
        for (long i = 0; i < nchars; i++) {
            char buf[8] = "##";
            int n = 2 * cont + (int)utf8proc_encode_char((utf8proc_int32_t)t->chars[i].cp, (utf8proc_uint8_t *)buf + 2 * cont);
            long id = strmap_get(&t->symbols, buf, n, NULL);
            if (id < 0 || !grow((void **)&t->order, &t->order_cap, t->norder + 1, sizeof(int))) return out_of_memory(t);
            t->order[t->norder++] = (int)id;
        }
    return 0;
}

/* 3. Words as symbol sequences, in byte order of the word (deterministic).
 * Words longer than TOKENIZER_MAX_WORD_CHARS, or with a character outside
 * the alphabet, can only ever be [UNK] and take no part. */
static int split_words(VocabTrainer *t) {
    const StrMap *words = &t->counter.words;
    t->word_ids = malloc(sizeof(int) * (size_t)words->n);
    if (!t->word_ids) return out_of_memory(t);
    for (long w = 0; w < words->n; w++) t->word_ids[w] = (int)w;
    sort_words_map = words;
    qsort(t->word_ids, (size_t)words->n, sizeof(int), by_word_bytes);
    long nwords = 0, nsyms = 0, syms_cap = 0, wcap = 0;
    for (long k = 0; k < words->n; k++) {
        long w = t->word_ids[k];
        const char *s = strmap_str(words, w);
        int len = words->length[w], nc = 0;
        if (!grow((void **)&t->syms, &syms_cap, nsyms + len, sizeof(int))) return out_of_memory(t);
        bool usable = true;
        for (int i = 0; i < len && usable;) {
            int cl = utf8proc_utf8class[(unsigned char)s[i]];
            char buf[8] = "##";
            memcpy(buf + 2, s + i, (size_t)cl);
            long id = i == 0 ? strmap_find(&t->symbols, buf + 2, cl) : strmap_find(&t->symbols, buf, cl + 2);
            if (id < 0) usable = false;   /* a character outside the alphabet */
            t->syms[nsyms + nc++] = (int)id;
            i += cl;
        }
        if (!usable || nc > TOKENIZER_MAX_WORD_CHARS) continue;
        long c1 = wcap;
        if (!grow((void **)&t->wstart, &c1, nwords + 1, sizeof(int)) ||
            (c1 = wcap, !grow((void **)&t->wlen, &c1, nwords + 1, sizeof(int))) ||
            (c1 = wcap, !grow((void **)&t->wcount, &c1, nwords + 1, sizeof(long))))
            return out_of_memory(t);
        wcap = c1;
        t->wstart[nwords] = (int)nsyms;
        t->wlen[nwords] = nc;
        t->wcount[nwords] = words->count[w];
        nsyms += nc;
        nwords++;
        t->nwords = nwords;
    }
    if (nsyms > INT32_MAX) {
        snprintf(t->err, t->err_len, "corpus too large (more than 2^31 characters in distinct words)");
        return -1;
    }
    return 0;
}

/* 4. Initial pair counts, and the words each pair occurs in. */
static int count_pairs(VocabTrainer *t) {
    PairTable *pt = &t->pt;
    for (long w = 0; w < t->nwords; w++) {
        const int *s = t->syms + t->wstart[w];
        for (int i = 0; i + 1 < t->wlen[w]; i++) {
            long p = pair_get(pt, s[i], s[i + 1]);
            if (p < 0 || !pair_add_word(&pt->pairs[p], (int)w)) return out_of_memory(t);
            pt->pairs[p].count += t->wcount[w];
        }
    }
    for (long p = 0; p < pt->npairs; p++) {
        if (!heap_push(pt, pt->pairs[p].count, pt->pairs[p].a, pt->pairs[p].b)) return out_of_memory(t);
        pt->pairs[p].heap_count = pt->pairs[p].count;
    }
    t->wstamp = malloc(sizeof(long) * (size_t)(t->nwords ? t->nwords : 1));
    if (!t->wstamp) return out_of_memory(t);
    for (long w = 0; w < t->nwords; w++) t->wstamp[w] = -1;
    return 0;
}

/* Merge number `merge` of pair pi = (a, b) into symbol x: re-count each word
 * that contains (a, b): remove its old pairs, merge left to right, add its
 * new pairs; then queue every pair whose count went up (new pairs included).
 * The list of (a, b) does not grow during this loop (new pairs all contain
 * x), but pt.pairs may move. */
static int merge_pair_in_words(VocabTrainer *t, long pi, int a, int b, int x, long merge) {
    PairTable *pt = &t->pt;
    int nlist = pt->pairs[pi].nwords;
    int *list = pt->pairs[pi].words;
    for (int k = 0; k < nlist; k++) {
        int w = list[k];
        if (t->wstamp[w] == merge) continue;
        t->wstamp[w] = merge;
        int *s = t->syms + t->wstart[w], n = t->wlen[w];
        bool found = false;
        for (int i = 0; i + 1 < n && !found; i++) found = s[i] == a && s[i + 1] == b;
        if (!found) continue;
        for (int pass = 0; pass < 2; pass++) {
            if (pass == 1) {   /* merge in place */
                int m = 0;
                for (int i = 0; i < n; i++) {
                    if (i + 1 < n && s[i] == a && s[i + 1] == b) { s[m++] = x; i++; }
                    else s[m++] = s[i];
                }
                n = t->wlen[w] = m;
            }
            for (int i = 0; i + 1 < n; i++) {
                long q = pair_get(pt, s[i], s[i + 1]);
                if (q < 0) return out_of_memory(t);
                Pair *p = &pt->pairs[q];
                p->count += pass == 0 ? -t->wcount[w] : t->wcount[w];
                if (pass == 1 && (s[i] == x || s[i + 1] == x) && !pair_add_word(p, w)) return out_of_memory(t);
                if (p->stamp != merge) {
                    p->stamp = merge;
                    if (!grow((void **)&t->touched, &t->touched_cap, t->touched_n + 1, sizeof(long)))
                        return out_of_memory(t);
                    t->touched[t->touched_n++] = q;
                }
            }
        }
    }
    for (long k = 0; k < t->touched_n; k++) {
        Pair *p = &pt->pairs[t->touched[k]];
        if (p->count > p->heap_count) {
            if (!heap_push(pt, p->count, p->a, p->b)) return out_of_memory(t);
            p->heap_count = p->count;
        }
    }
    t->touched_n = 0;
    return 0;
}

/* 5. Merge the most frequent pair until the vocabulary is full (or no pair
 * occurs min_count times). Sets st.vocab_size. */
static int merge_until_full(VocabTrainer *t) {
    PairTable *pt = &t->pt;
    const int vocab_size = t->opt->vocab_size;
    long vocab = 5 + t->norder;
    while (vocab < vocab_size && pt->nheap > 0) {
        HeapEntry top = heap_pop(pt);
        long pi = pair_get(pt, top.a, top.b);
        if (pi < 0) return out_of_memory(t);
        long current = pt->pairs[pi].count;
        if (current != top.count) {   /* stale entry: re-queue a lowered count, drop the rest */
            if (current > 0 && current < top.count) {
                if (!heap_push(pt, current, top.a, top.b)) return out_of_memory(t);
                pt->pairs[pi].heap_count = current;
            }
            continue;
        }
        if (current < t->min_count) break;

        /* The merged piece: a followed by b without its "##". */
        const char *sa = strmap_str(&t->symbols, top.a), *sb = strmap_str(&t->symbols, top.b) + 2;
        long la = (long)strlen(sa), lb = (long)strlen(sb);
        if (!grow((void **)&t->piece, &t->piece_cap, la + lb + 1, 1)) return out_of_memory(t);
        memcpy(t->piece, sa, (size_t)la);
        memcpy(t->piece + la, sb, (size_t)lb);
        bool added;
        long x = strmap_get(&t->symbols, t->piece, (int)(la + lb), &added);
        if (x < 0) return out_of_memory(t);
        if (added) {
            if (!grow((void **)&t->order, &t->order_cap, t->norder + 1, sizeof(int))) return out_of_memory(t);
            t->order[t->norder++] = (int)x;
            vocab++;
        }
        long merge = t->st.merges++;
        if (merge_pair_in_words(t, pi, top.a, top.b, (int)x, merge) != 0) return -1;
        if (t->progress && (t->st.merges % 200 == 0 || vocab == vocab_size))
            fprintf(t->progress, "\rmerging: vocabulary %ld / %d, %ld merges, last count %ld   ", vocab,
                    vocab_size, t->st.merges, top.count);
    }
    t->st.vocab_size = (int)vocab;
    return 0;
}

static void vocab_trainer_free(VocabTrainer *t) {
    strmap_free(&t->counter.words);
    strmap_free(&t->symbols);
    pairs_free(&t->pt);
    free(t->chars); free(t->order); free(t->word_ids); free(t->syms); free(t->wstart); free(t->wlen);
    free(t->wcount); free(t->wstamp); free(t->touched); free(t->piece);
}

int vocab_train(const char *const *corpus_paths, int n_paths, const VocabTrainOptions *opt,
                const char *out_path, VocabTrainStats *stats, char *err, size_t err_len) {
    VocabTrainer t = {
        .opt = opt, .min_count = opt->min_count < 1 ? 1 : opt->min_count, .progress = opt->progress,
        .err = err, .err_len = err_len,
    };
    int status = -1;
    double t0 = now_seconds();
    if (count_corpus(&t, corpus_paths, n_paths) != 0 || build_alphabet(&t) != 0 || split_words(&t) != 0) goto done;
    t.st.count_seconds = now_seconds() - t0;
    if (t.progress) fprintf(t.progress, "\rcounting: %.1f MB, %ld words, %ld distinct — done in %.1f s\n",
                            t.st.bytes / 1e6, t.st.words, t.st.unique_words, t.st.count_seconds);

    double t1 = now_seconds();
    if (count_pairs(&t) != 0 || merge_until_full(&t) != 0) goto done;
    t.st.merge_seconds = now_seconds() - t1;
    if (t.progress) fprintf(t.progress, "\rmerging: vocabulary %d / %d, %ld merges — done in %.1f s      \n",
                            t.st.vocab_size, opt->vocab_size, t.st.merges, t.st.merge_seconds);

    status = write_vocab(out_path, &t.symbols, t.order, t.norder, err, err_len);
done:
    if (stats) *stats = t.st;
    vocab_trainer_free(&t);
    return status;
}
