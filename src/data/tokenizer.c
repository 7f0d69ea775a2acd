/* tokenizer.c — BERT's WordPiece tokenizer (basic tokenization + greedy
 * longest-match WordPiece), token-for-token identical to Google's
 * FullTokenizer / Hugging Face's BertTokenizer on bert-base-uncased, and the
 * [CLS] A [SEP] B [SEP] input builder. Unicode properties, lowercasing and NFD
 * come from utf8proc; docs/tokenizer.md explains every step and the few places
 * where Python's str.lower() needs more than utf8proc's per-character mapping. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <utf8proc.h>
#include "data/tokenizer.h"

struct Tokenizer {
    int vocab_size;
    char *arena;            /* every token, NUL-terminated, in id order */
    int *offset, *length;   /* [vocab_size] position of token id in arena, its byte length */
    int *slots;             /* open-addressing hash table of ids, −1 = empty */
    uint64_t slot_mask;     /* table size − 1 (a power of two) */
    int max_token_bytes;    /* longest token, so WordPiece never tries a longer piece */
    bool lower_case;
    int pad_id, unk_id, cls_id, sep_id, mask_id;
};

/* ---------------------------------------------------------------- vocab hash */

/* FNV-1a, 64-bit. The "##" continuation prefix is hashed as two leading bytes
 * so a lookup of "##" + piece needs no concatenated copy. */
static uint64_t fnv_bytes(uint64_t h, const char *s, long n) {
    for (long i = 0; i < n; i++) { h ^= (unsigned char)s[i]; h *= 0x100000001b3ULL; }
    return h;
}
#define FNV_OFFSET 0xcbf29ce484222325ULL

static uint64_t token_hash(bool continuation, const char *s, long n) {
    uint64_t h = FNV_OFFSET;
    if (continuation) h = fnv_bytes(h, "##", 2);
    return fnv_bytes(h, s, n);
}

/* Id of ("##" if continuation) + s[0..n), or −1. */
static int lookup(const Tokenizer *tok, bool continuation, const char *s, long n) {
    long full = n + (continuation ? 2 : 0);
    if (full > tok->max_token_bytes) return -1;
    uint64_t i = token_hash(continuation, s, n) & tok->slot_mask;
    for (;; i = (i + 1) & tok->slot_mask) {
        int id = tok->slots[i];
        if (id < 0) return -1;
        if (tok->length[id] != full) continue;
        const char *t = tok->arena + tok->offset[id];
        if (continuation) {
            if (t[0] != '#' || t[1] != '#') continue;
            t += 2;
        }
        if (memcmp(t, s, (size_t)n) == 0) return id;
    }
}

/* ---------------------------------------------------------------- loading */

static bool valid_utf8(const char *s, long n) {
    while (n > 0) {
        utf8proc_int32_t cp;
        utf8proc_ssize_t k = utf8proc_iterate((const utf8proc_uint8_t *)s, n, &cp);
        if (k <= 0) return false;
        s += k;
        n -= k;
    }
    return true;
}

static char *read_whole_file(const char *path, long *size, char *err, size_t err_len) {
    FILE *f = fopen(path, "rb");
    if (!f) { snprintf(err, err_len, "%s: cannot open: %s", path, strerror(errno)); return NULL; }
    char *buf = NULL;
    long cap = 0, n = 0;
    for (;;) {
        if (n + 65536 + 1 > cap) {
            cap = 2 * cap + 65536 + 1;
            char *grown = realloc(buf, (size_t)cap);
            if (!grown) { free(buf); fclose(f); snprintf(err, err_len, "%s: out of memory", path); return NULL; }
            buf = grown;
        }
        size_t got = fread(buf + n, 1, (size_t)(cap - n - 1), f);
        n += (long)got;
        if (got == 0) break;
    }
    bool failed = ferror(f);
    fclose(f);
    if (failed) { free(buf); snprintf(err, err_len, "%s: read error", path); return NULL; }
    buf[n] = 0;
    *size = n;
    return buf;
}

Tokenizer *tokenizer_load(const char *vocab_path, bool lower_case, char *err, size_t err_len) {
    long size;
    char *text = read_whole_file(vocab_path, &size, err, err_len);
    if (!text) return NULL;
    return tokenizer_load_text(vocab_path, text, size, lower_case, err, err_len);
}

Tokenizer *tokenizer_load_text(const char *vocab_path, char *text, long size, bool lower_case, char *err,
                               size_t err_len) {
    Tokenizer *tok = calloc(1, sizeof *tok);
    if (!tok) { free(text); snprintf(err, err_len, "%s: out of memory", vocab_path); return NULL; }
    tok->arena = text;   /* lines are NUL-terminated in place */
    tok->lower_case = lower_case;

    long lines = 0;
    for (long i = 0; i < size; i++) lines += text[i] == '\n';
    if (size > 0 && text[size - 1] != '\n') lines++;
    if (lines == 0) { snprintf(err, err_len, "%s: empty vocabulary file", vocab_path); goto fail; }
    if (lines > 100000000) { snprintf(err, err_len, "%s: too many lines", vocab_path); goto fail; }
    tok->offset = malloc(sizeof(int) * (size_t)lines);
    tok->length = malloc(sizeof(int) * (size_t)lines);
    uint64_t table = 1;
    while (table < 2 * (uint64_t)lines) table <<= 1;
    tok->slots = malloc(sizeof(int) * table);
    if (!tok->offset || !tok->length || !tok->slots) { snprintf(err, err_len, "%s: out of memory", vocab_path); goto fail; }
    memset(tok->slots, 0xff, sizeof(int) * table);
    tok->slot_mask = table - 1;

    long pos = 0;
    for (int id = 0; id < lines; id++) {
        long start = pos;
        while (pos < size && text[pos] != '\n') pos++;
        long n = pos - start;
        text[pos] = 0;   /* the '\n' (or the terminator read_whole_file added) */
        pos++;
        if (n == 0) { snprintf(err, err_len, "%s:%d: empty line (every line must hold one token)", vocab_path, id + 1); goto fail; }
        if (text[start + n - 1] == '\r') { snprintf(err, err_len, "%s:%d: line ends in a carriage return (CRLF line endings are not allowed)", vocab_path, id + 1); goto fail; }
        const char *nul = memchr(text + start, 0, (size_t)n);
        if (nul) {
            snprintf(err, err_len, "%s:%d:%ld: NUL byte in a token", vocab_path, id + 1, (long)(nul - (text + start)) + 1);
            goto fail;
        }
        if (!valid_utf8(text + start, n)) { snprintf(err, err_len, "%s:%d: invalid UTF-8", vocab_path, id + 1); goto fail; }
        if (n > 100000) { snprintf(err, err_len, "%s:%d: token longer than 100000 bytes", vocab_path, id + 1); goto fail; }
        uint64_t i = token_hash(false, text + start, n) & tok->slot_mask;
        for (; tok->slots[i] >= 0; i = (i + 1) & tok->slot_mask) {
            int other = tok->slots[i];
            if (tok->length[other] == n && memcmp(text + tok->offset[other], text + start, (size_t)n) == 0) {
                snprintf(err, err_len, "%s:%d: duplicate token \"%s\" (first on line %d)", vocab_path, id + 1,
                         text + start, other + 1);
                goto fail;
            }
        }
        tok->slots[i] = id;
        tok->offset[id] = (int)start;
        tok->length[id] = (int)n;
        if (n > tok->max_token_bytes) tok->max_token_bytes = (int)n;
        tok->vocab_size = id + 1;
    }

    static const char *const special_names[5] = { "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]" };
    int *special_ids[5] = { &tok->pad_id, &tok->unk_id, &tok->cls_id, &tok->sep_id, &tok->mask_id };
    for (int s = 0; s < 5; s++) {
        *special_ids[s] = lookup(tok, false, special_names[s], (long)strlen(special_names[s]));
        if (*special_ids[s] < 0) {
            snprintf(err, err_len, "%s: special token %s is missing (a BERT vocabulary needs [PAD], [UNK], [CLS], [SEP] and [MASK])",
                     vocab_path, special_names[s]);
            goto fail;
        }
    }
    return tok;
fail:
    tokenizer_free(tok);
    return NULL;
}

void tokenizer_free(Tokenizer *tok) {
    if (!tok) return;
    free(tok->arena);
    free(tok->offset);
    free(tok->length);
    free(tok->slots);
    free(tok);
}

int tokenizer_vocab_size(const Tokenizer *tok) { return tok->vocab_size; }
bool tokenizer_lower_case(const Tokenizer *tok) { return tok->lower_case; }
int tokenizer_token_id(const Tokenizer *tok, const char *token) { return lookup(tok, false, token, (long)strlen(token)); }
const char *tokenizer_id_to_token(const Tokenizer *tok, int id) {
    return id >= 0 && id < tok->vocab_size ? tok->arena + tok->offset[id] : NULL;
}
bool tokenizer_is_continuation(const Tokenizer *tok, int id) {
    const char *t = tokenizer_id_to_token(tok, id);
    return t && t[0] == '#' && t[1] == '#';
}
int tokenizer_pad_id(const Tokenizer *tok) { return tok->pad_id; }
int tokenizer_unk_id(const Tokenizer *tok) { return tok->unk_id; }
int tokenizer_cls_id(const Tokenizer *tok) { return tok->cls_id; }
int tokenizer_sep_id(const Tokenizer *tok) { return tok->sep_id; }
int tokenizer_mask_id(const Tokenizer *tok) { return tok->mask_id; }

/* ---------------------------------------------------------------- character classes */

/* BERT's _is_control: \t \n \r are whitespace, not control; every other
 * character of a C* category (Cc, Cf, Co, Cs, Cn) is dropped, as in Hugging
 * Face's BasicTokenizer (Google's keeps Co and Cn; docs/tokenizer.md). */
static bool is_control(uint32_t c) {
    if (c < 0x80) return (c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7f;
    utf8proc_category_t cat = utf8proc_category((utf8proc_int32_t)c);
    return cat == UTF8PROC_CATEGORY_CC || cat == UTF8PROC_CATEGORY_CF || cat == UTF8PROC_CATEGORY_CO ||
           cat == UTF8PROC_CATEGORY_CS || cat == UTF8PROC_CATEGORY_CN;
}

/* BERT's _is_whitespace (space, \t, \n, \r, category Zs), plus U+2028 and
 * U+2029: they survive BERT's cleaning but Python's str.split() splits on them. */
static bool is_whitespace(uint32_t c) {
    if (c < 0x80) return c == ' ' || c == '\t' || c == '\n' || c == '\r';
    return c == 0x2028 || c == 0x2029 || utf8proc_category((utf8proc_int32_t)c) == UTF8PROC_CATEGORY_ZS;
}

/* BERT's _is_punctuation: all non-alphanumeric printable ASCII, and every P* category. */
static bool is_punctuation(uint32_t c) {
    if (c < 0x80) return (c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) || (c >= 123 && c <= 126);
    utf8proc_category_t cat = utf8proc_category((utf8proc_int32_t)c);
    return cat >= UTF8PROC_CATEGORY_PC && cat <= UTF8PROC_CATEGORY_PO;
}

/* The CJK Unified Ideograph blocks of BERT's _is_chinese_char (not kana or Hangul). */
static bool is_cjk(uint32_t c) {
    return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) || (c >= 0x20000 && c <= 0x2A6DF) ||
           (c >= 0x2A700 && c <= 0x2B73F) || (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B820 && c <= 0x2CEAF) ||
           (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

/* Unicode's Case_Ignorable property (used by the Final_Sigma rule): categories
 * Mn Me Cf Lm Sk, plus the Word_Break classes MidLetter, MidNumLet and
 * Single_Quote, which utf8proc does not expose; their members are listed
 * (Unicode 14/15 WordBreakProperty.txt). Checked against Python for every
 * code point (docs/tokenizer.md). */
static bool is_case_ignorable(uint32_t c) {
    static const uint32_t word_break_mid[] = { 0x27, 0x2E, 0x3A, 0xB7, 0x387, 0x55F, 0x5F4, 0x2018, 0x2019,
                                               0x2024, 0x2027, 0xFE13, 0xFE52, 0xFE55, 0xFF07, 0xFF0E, 0xFF1A };
    for (size_t i = 0; i < sizeof word_break_mid / sizeof word_break_mid[0]; i++)
        if (c == word_break_mid[i]) return true;
    utf8proc_category_t cat = utf8proc_category((utf8proc_int32_t)c);
    return cat == UTF8PROC_CATEGORY_MN || cat == UTF8PROC_CATEGORY_ME || cat == UTF8PROC_CATEGORY_CF ||
           cat == UTF8PROC_CATEGORY_LM || cat == UTF8PROC_CATEGORY_SK;
}

/* Unicode's Cased property: Lu Ll Lt, anything with a case mapping, and the
 * Other_Lowercase / Other_Uppercase letters and symbols without one (ª º and
 * the squared/parenthesised Latin capitals), which utf8proc does not expose. */
static bool is_cased(uint32_t c) {
    utf8proc_category_t cat = utf8proc_category((utf8proc_int32_t)c);
    if (cat == UTF8PROC_CATEGORY_LU || cat == UTF8PROC_CATEGORY_LL || cat == UTF8PROC_CATEGORY_LT) return true;
    if (utf8proc_tolower((utf8proc_int32_t)c) != (utf8proc_int32_t)c ||
        utf8proc_toupper((utf8proc_int32_t)c) != (utf8proc_int32_t)c) return true;
    return c == 0xAA || c == 0xBA || (c >= 0x1F130 && c <= 0x1F149) || (c >= 0x1F150 && c <= 0x1F169) ||
           (c >= 0x1F170 && c <= 0x1F189);
}

/* Python's rule for U+03A3 in str.lower() (Unicode Final_Sigma): it becomes
 * final ς when preceded by a cased letter and not followed by one, skipping
 * case-ignorable characters in both directions; otherwise σ. */
static uint32_t lower_sigma(const uint32_t *s, long n, long i) {
    long j = i - 1;
    while (j >= 0 && is_case_ignorable(s[j])) j--;
    if (j < 0 || !is_cased(s[j])) return 0x3C3;
    j = i + 1;
    while (j < n && is_case_ignorable(s[j])) j++;
    return j == n || !is_cased(s[j]) ? 0x3C2 : 0x3C3;
}

/* ---------------------------------------------------------------- basic tokenizer */

/* Growable buffers reused for one call (nothing is allocated per character). */
typedef struct {
    uint32_t *cps; long cps_cap;            /* decoded text */
    uint32_t *low; long low_cap;            /* one whitespace token, lowercased */
    utf8proc_int32_t *nfd; long nfd_cap;    /* its NFD */
    char *bytes; long bytes_cap;            /* UTF-8 scratch: lowercased token, then each word */
    uint32_t *run; long run_cap;            /* the current whitespace token, cleaned */
} Scratch;

static bool reserve(void **p, long *cap, long need, size_t elem) {
    if (need <= *cap) return true;
    long c = *cap ? *cap : 64;
    while (c < need) c *= 2;
    void *q = realloc(*p, (size_t)c * elem);
    if (!q) return false;
    *p = q;
    *cap = c;
    return true;
}

static void scratch_free(Scratch *s) { free(s->cps); free(s->low); free(s->nfd); free(s->bytes); free(s->run); }

/* Decodes UTF-8 into s->cps, dropping each byte that does not start a valid
 * sequence (Python's errors='ignore' gives the same characters). */
static long decode_utf8(Scratch *s, const char *text, size_t len, long *invalid) {
    if (!reserve((void **)&s->cps, &s->cps_cap, (long)len + 1, sizeof(uint32_t))) return -1;
    const unsigned char *p = (const unsigned char *)text;
    long n = 0;
    size_t i = 0;
    while (i < len) {
        if (p[i] < 0x80) { s->cps[n++] = p[i++]; continue; }
        utf8proc_int32_t cp;
        utf8proc_ssize_t k = utf8proc_iterate(p + i, (utf8proc_ssize_t)(len - i < 4 ? len - i : 4), &cp);
        if (k <= 0) { (*invalid)++; i++; continue; }
        s->cps[n++] = (uint32_t)cp;
        i += (size_t)k;
    }
    return n;
}

static int put_utf8(char *dst, uint32_t c) {
    return (int)utf8proc_encode_char((utf8proc_int32_t)c, (utf8proc_uint8_t *)dst);
}

/* Splits one normalised whitespace token on punctuation and emits the words. */
static bool emit_words(Scratch *s, const uint32_t *cps, long n, TokenizerWordFn emit, void *ctx) {
    if (!reserve((void **)&s->bytes, &s->bytes_cap, 4 * n + 4, 1)) return false;
    int nbytes = 0, nchars = 0;
    for (long i = 0; i < n; i++) {
        uint32_t c = cps[i];
        if (is_punctuation(c)) {
            if (nchars) emit(ctx, s->bytes, nbytes, nchars);
            nbytes = put_utf8(s->bytes, c);
            emit(ctx, s->bytes, nbytes, 1);
            nbytes = nchars = 0;
        } else {
            nbytes += put_utf8(s->bytes + nbytes, c);
            nchars++;
        }
    }
    if (nchars) emit(ctx, s->bytes, nbytes, nchars);
    return true;
}

/* One whitespace-delimited token t[0..n): lowercase (Python's full str.lower()),
 * NFD and drop nonspacing marks when lower_case, then split on punctuation. */
static bool process_token(Scratch *s, const uint32_t *t, long n, bool lower_case, TokenizerWordFn emit, void *ctx) {
    if (!lower_case) return emit_words(s, t, n, emit, ctx);
    bool ascii = true;
    for (long i = 0; i < n && ascii; i++) ascii = t[i] < 0x80;
    if (!reserve((void **)&s->low, &s->low_cap, 2 * n + 1, sizeof(uint32_t))) return false;
    if (ascii) {
        for (long i = 0; i < n; i++) s->low[i] = t[i] >= 'A' && t[i] <= 'Z' ? t[i] + 32 : t[i];
        return emit_words(s, s->low, n, emit, ctx);
    }
    /* Full lowercasing: utf8proc's simple mapping differs from Python's only
     * for U+0130 (→ i + U+0307) and the context-dependent final sigma. */
    long m = 0;
    for (long i = 0; i < n; i++) {
        uint32_t c = t[i];
        if (c == 0x130) { s->low[m++] = 'i'; s->low[m++] = 0x307; }
        else if (c == 0x3A3) s->low[m++] = lower_sigma(t, n, i);
        else s->low[m++] = (uint32_t)utf8proc_tolower((utf8proc_int32_t)c);
    }
    /* NFD of the whole token (decomposition + canonical reordering) by utf8proc. */
    if (!reserve((void **)&s->bytes, &s->bytes_cap, 4 * m + 4, 1)) return false;
    long nb = 0;
    for (long i = 0; i < m; i++) nb += put_utf8(s->bytes + nb, s->low[i]);
    utf8proc_ssize_t k;
    for (;;) {
        k = utf8proc_decompose((const utf8proc_uint8_t *)s->bytes, nb, s->nfd, s->nfd_cap,
                               UTF8PROC_STABLE | UTF8PROC_DECOMPOSE);
        if (k < 0) return false;
        if (k <= s->nfd_cap) break;
        if (!reserve((void **)&s->nfd, &s->nfd_cap, k, sizeof(utf8proc_int32_t))) return false;
    }
    /* Strip accents: drop category Mn (reusing s->low, which NFD no longer needs). */
    if (!reserve((void **)&s->low, &s->low_cap, k + 1, sizeof(uint32_t))) return false;
    long kept = 0;
    for (long i = 0; i < k; i++)
        if (utf8proc_category(s->nfd[i]) != UTF8PROC_CATEGORY_MN) s->low[kept++] = (uint32_t)s->nfd[i];
    return emit_words(s, s->low, kept, emit, ctx);
}

/* Basic tokenization of cps[0..n): drop NUL, U+FFFD and control characters,
 * whitespace ends a token, each CJK ideograph is a token of its own. */
static bool basic_tokenize_cps(Scratch *s, const uint32_t *cps, long n, bool lower_case, TokenizerWordFn emit, void *ctx) {
    if (!reserve((void **)&s->run, &s->run_cap, n + 1, sizeof(uint32_t))) return false;
    uint32_t *run = s->run;   /* kept characters of the current token (dropped ones do not split it) */
    long len = 0;
    bool ok = true;
    for (long i = 0; i < n && ok; i++) {
        uint32_t c = cps[i];
        if (c == 0 || c == 0xFFFD || is_control(c)) continue;
        if (is_whitespace(c)) {
            if (len) ok = process_token(s, run, len, lower_case, emit, ctx);
            len = 0;
        } else if (c >= 0x3400 && is_cjk(c)) {
            if (len) ok = process_token(s, run, len, lower_case, emit, ctx);
            len = 0;
            if (ok) ok = process_token(s, &c, 1, lower_case, emit, ctx);
        } else {
            run[len++] = c;
        }
    }
    if (ok && len) ok = process_token(s, run, len, lower_case, emit, ctx);
    return ok;
}

long tokenizer_basic_words(const char *text, size_t len, bool lower_case, TokenizerWordFn emit, void *ctx) {
    Scratch s = { 0 };
    long invalid = 0;
    long n = decode_utf8(&s, text, len, &invalid);
    bool ok = n >= 0 && basic_tokenize_cps(&s, s.cps, n, lower_case, emit, ctx);
    scratch_free(&s);
    return ok ? invalid : -1;
}

/* ---------------------------------------------------------------- WordPiece */

typedef struct {
    const Tokenizer *tok;
    IntVec *ids;
    bool oom;
} WordPieceState;

/* Greedy longest-match-first (BERT's WordpieceTokenizer): from each start,
 * the longest vocab piece ("##"-prefixed after the first); a word that cannot
 * be covered completely, or has more than TOKENIZER_MAX_WORD_CHARS characters,
 * becomes one [UNK]. */
static void wordpiece(void *ctx, const char *word, int nbytes, int nchars) {
    WordPieceState *st = ctx;
    const Tokenizer *tok = st->tok;
    long mark = st->ids->len;
    if (nchars > TOKENIZER_MAX_WORD_CHARS) goto unknown;
    int start = 0;
    while (start < nbytes) {
        int limit = tok->max_token_bytes - (start > 0 ? 2 : 0);
        int end = nbytes - start > limit ? start + limit : nbytes;
        int id = -1;
        for (; end > start; end--) {
            if ((end < nbytes && ((unsigned char)word[end] & 0xC0) == 0x80)) continue;   /* not a character boundary */
            id = lookup(tok, start > 0, word + start, end - start);
            if (id >= 0) break;
        }
        if (id < 0) goto unknown;
        if (!intvec_push(st->ids, id)) { st->oom = true; return; }
        start = end;
    }
    return;
unknown:
    st->ids->len = mark;
    if (!intvec_push(st->ids, tok->unk_id)) st->oom = true;
}

long tokenizer_encode(const Tokenizer *tok, const char *text, size_t len, IntVec *ids, long *invalid_bytes) {
    static const char *const specials[5] = { "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]" };
    const int special_ids[5] = { tok->pad_id, tok->unk_id, tok->cls_id, tok->sep_id, tok->mask_id };
    Scratch s = { 0 };
    long invalid = 0, before = ids->len;
    long n = decode_utf8(&s, text, len, &invalid);
    WordPieceState st = { tok, ids, false };
    bool ok = n >= 0;
    /* Special tokens written in the text are cut out first, wherever they are
     * (Hugging Face's added-token split); the pieces between them are
     * tokenized normally. */
    long seg = 0;
    for (long i = 0; ok && i < n; i++) {
        if (s.cps[i] != '[') continue;
        for (int k = 0; k < 5; k++) {
            long sl = (long)strlen(specials[k]), j = 0;
            while (j < sl && i + j < n && s.cps[i + j] == (uint32_t)(unsigned char)specials[k][j]) j++;
            if (j < sl) continue;
            ok = basic_tokenize_cps(&s, s.cps + seg, i - seg, tok->lower_case, wordpiece, &st) && !st.oom;
            if (ok && !intvec_push(ids, special_ids[k])) ok = false;
            seg = i + sl;
            i = seg - 1;
            break;
        }
    }
    if (ok) ok = basic_tokenize_cps(&s, s.cps + seg, n - seg, tok->lower_case, wordpiece, &st) && !st.oom;
    scratch_free(&s);
    if (invalid_bytes) *invalid_bytes += invalid;
    return ok ? ids->len - before : -1;
}

/* ---------------------------------------------------------------- sequence building */

int tokenizer_build_pair(const Tokenizer *tok, const int *a, int len_a, const int *b, int len_b,
                         int max_seq_length, bool pad,
                         int *input_ids, int *token_type_ids, int *attention_mask) {
    int specials = b ? 3 : 2;
    if (max_seq_length < specials) return -1;
    if (!b) len_b = 0;
    /* _truncate_seq_pair: drop the last token of the longer segment until the
     * pair fits (for a single segment, simply cut it). */
    while (len_a + len_b > max_seq_length - specials) {
        if (len_a > len_b) len_a--;
        else len_b--;
    }
    int n = 0;
    input_ids[n] = tok->cls_id; token_type_ids[n++] = 0;
    for (int i = 0; i < len_a; i++) { input_ids[n] = a[i]; token_type_ids[n++] = 0; }
    input_ids[n] = tok->sep_id; token_type_ids[n++] = 0;
    if (b) {
        for (int i = 0; i < len_b; i++) { input_ids[n] = b[i]; token_type_ids[n++] = 1; }
        input_ids[n] = tok->sep_id; token_type_ids[n++] = 1;
    }
    for (int i = 0; i < n; i++) attention_mask[i] = 1;
    if (pad)
        for (int i = n; i < max_seq_length; i++) { input_ids[i] = tok->pad_id; token_type_ids[i] = 0; attention_mask[i] = 0; }
    return n;
}
