/* corpus.c — raw text files → tokenized documents of sentences, read in
 * shards (line mode, prose mode with a sentence splitter, WikiText headings).
 * The rules are in docs/pretraining_data.md, "Reading the corpus". */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <utf8proc.h>
#include "data/corpus.h"
#include "io/fileio.h"

struct CorpusReader {
    char **paths;
    int n_paths;
    long *limits;          /* [n_paths] bytes of each file read (a line start), or -1: all of it */
    CorpusOptions opt;
    CorpusPos begin, end, pos;
    FILE *file;            /* paths[file_index], open while reading */
    int file_index;
    char *line;            /* getline buffer */
    size_t line_cap;
    char *para;            /* prose: the joined lines of the current paragraph */
    size_t para_len, para_cap;
    CorpusPos para_pos;    /* where the current paragraph's first line starts */
    IntVec bounds;         /* sentence splitter output */
};

void documents_clear(Documents *d) {
    intvec_clear(&d->ids);
    intvec_clear(&d->sent_start);
    intvec_clear(&d->doc_start);
}

void documents_free(Documents *d) {
    intvec_free(&d->ids);
    intvec_free(&d->sent_start);
    intvec_free(&d->doc_start);
}

/* ---------- the sentence splitter ---------- */

static bool is_space(unsigned char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v'; }
static bool is_ascii_letter(unsigned char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'); }

/* Length in bytes of a closing quote or bracket at p (0 if none): " ' ) ] ” ’ */
static int closer_len(const char *p, size_t n) {
    unsigned char c = (unsigned char)p[0];
    if (c == '"' || c == '\'' || c == ')' || c == ']') return 1;
    if (n >= 3 && c == 0xE2 && (unsigned char)p[1] == 0x80 &&
        ((unsigned char)p[2] == 0x9D || (unsigned char)p[2] == 0x99)) return 3;
    return 0;
}

/* Can a sentence start at p? An upper-case letter (any script), a digit, an
 * opening quote or bracket, or `_` + capital (Gutenberg's italics). */
static bool starts_sentence(const char *p, size_t n) {
    unsigned char c = (unsigned char)p[0];
    if ((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
    if (c == '"' || c == '\'' || c == '(' || c == '[') return true;
    /* p[1] is tested first, so the recursion is one level deep: a run of
     * underscores once overflowed the stack (fuzz_corpus found it) */
    if (c == '_' && n >= 2) return (unsigned char)p[1] != '_' && starts_sentence(p + 1, n - 1);
    if (c < 0x80) return false;
    if (n >= 3 && c == 0xE2 && (unsigned char)p[1] == 0x80 &&
        ((unsigned char)p[2] == 0x9C || (unsigned char)p[2] == 0x98)) return true;   /* “ ‘ */
    utf8proc_int32_t cp;
    if (utf8proc_iterate((const utf8proc_uint8_t *)p, (utf8proc_ssize_t)n, &cp) <= 0) return false;
    utf8proc_category_t cat = utf8proc_category(cp);
    return cat == UTF8PROC_CATEGORY_LU || cat == UTF8PROC_CATEGORY_LT;
}

/* Abbreviations after which a full stop does not end a sentence. "No." and
 * "etc." are left out on purpose: they end sentences about as often. */
static const char *const ABBREVIATIONS[] = {
    "Mr", "Mrs", "Ms", "Messrs", "Mme", "Mlle", "Dr", "St", "Jr", "Sr", "Prof", "Rev",
    "Gen", "Col", "Capt", "Lt", "Sgt", "Gov", "Hon", "Mt", "Ft", "vs", "viz", "cf",
};

/* Is the word ending just before the full stop at text[dot] an abbreviation
 * or initials? The word is the run of letters and inner dots before it:
 * "Mr", "J", "U.S", "e.g". Initials are single letters joined by dots, except
 * a lone "I" (the pronoun). */
static bool is_abbreviation(const char *text, size_t dot) {
    size_t w = dot;
    while (w > 0 && (is_ascii_letter((unsigned char)text[w - 1]) ||
                     (text[w - 1] == '.' && w >= 2 && is_ascii_letter((unsigned char)text[w - 2]))))
        w--;
    size_t n = dot - w;
    if (n == 0) return false;
    for (size_t a = 0; a < sizeof ABBREVIATIONS / sizeof *ABBREVIATIONS; a++)
        if (strlen(ABBREVIATIONS[a]) == n && memcmp(ABBREVIATIONS[a], text + w, n) == 0) return true;
    if (n == 1 && text[w] == 'I') return false;
    /* single letters separated by dots: L or L.L or L.L.L … */
    for (size_t k = 0; k < n; k++) {
        bool letter_slot = (k % 2 == 0);
        if (letter_slot != is_ascii_letter((unsigned char)text[w + k])) return false;
    }
    return n % 2 == 1;
}

static long push_sentence(IntVec *bounds, const char *text, size_t b, size_t e) {
    while (b < e && is_space((unsigned char)text[b])) b++;
    while (e > b && is_space((unsigned char)text[e - 1])) e--;
    if (b == e) return 0;
    if (!intvec_push(bounds, (int)b) || !intvec_push(bounds, (int)e)) return -1;
    return 1;
}

long corpus_split_sentences(const char *text, size_t len, IntVec *bounds) {
    long count = 0;
    size_t start = 0, i = 0;
    while (i < len) {
        char c = text[i];
        if (c != '.' && c != '!' && c != '?') { i++; continue; }
        size_t j = i;
        while (j < len && (text[j] == '.' || text[j] == '!' || text[j] == '?')) j++;
        bool single_stop = (j == i + 1 && c == '.');
        for (int k; j < len && (k = closer_len(text + j, len - j)) > 0; ) j += (size_t)k;
        if (j >= len) break;                                   /* the paragraph's last sentence */
        if (!is_space((unsigned char)text[j])) { i = j; continue; }   /* 3.14, U.S.A., "a.m." inside a word */
        size_t next = j;
        while (next < len && is_space((unsigned char)text[next])) next++;
        if (next >= len) break;
        if (!starts_sentence(text + next, len - next) || (single_stop && is_abbreviation(text, i))) {
            i = j;
            continue;
        }
        long r = push_sentence(bounds, text, start, j);
        if (r < 0) return -1;
        count += r;
        start = i = next;
    }
    long r = push_sentence(bounds, text, start, len);
    if (r < 0) return -1;
    return count + r;
}

/* ---------- the reader ---------- */

CorpusReader *corpus_open(const char *const *paths, int n_paths, const CorpusOptions *opt,
                          char *err, size_t errlen) {
    return corpus_open_limited(paths, NULL, n_paths, opt, err, errlen);
}

CorpusReader *corpus_open_limited(const char *const *paths, const long *limits, int n_paths,
                                  const CorpusOptions *opt, char *err, size_t errlen) {
    if (n_paths <= 0) {
        format_error(err, errlen, "corpus: no input files given");
        return NULL;
    }
    for (int f = 0; f < n_paths; f++) {
        FILE *fp = fopen(paths[f], "rb");
        if (!fp) {
            format_error(err, errlen, "%s: cannot open corpus file: %s", paths[f], strerror(errno));
            return NULL;
        }
        fclose(fp);
    }
    CorpusReader *r = calloc(1, sizeof *r);
    if (!r) { format_error(err, errlen, "corpus: out of memory"); return NULL; }
    r->paths = calloc((size_t)n_paths, sizeof *r->paths);
    if (!r->paths) { free(r); format_error(err, errlen, "corpus: out of memory"); return NULL; }
    r->n_paths = n_paths;
    r->limits = malloc(sizeof *r->limits * (size_t)n_paths);
    if (!r->limits) { corpus_close(r); format_error(err, errlen, "corpus: out of memory"); return NULL; }
    for (int f = 0; f < n_paths; f++) {
        r->limits[f] = limits ? limits[f] : -1;
        r->paths[f] = strdup(paths[f]);
        if (!r->paths[f]) { corpus_close(r); format_error(err, errlen, "corpus: out of memory"); return NULL; }
    }
    r->opt = *opt;
    if (r->opt.shard_bytes == 0) r->opt.shard_bytes = CORPUS_DEFAULT_SHARD_BYTES;
    r->begin = r->pos = (CorpusPos){ 0, 0 };
    r->end = (CorpusPos){ n_paths, 0 };
    r->file_index = -1;
    return r;
}

void corpus_close(CorpusReader *r) {
    if (!r) return;
    if (r->file) fclose(r->file);
    for (int f = 0; r->paths && f < r->n_paths; f++) free(r->paths[f]);
    free(r->paths);
    free(r->limits);
    free(r->line);
    free(r->para);
    intvec_free(&r->bounds);
    free(r);
}

long corpus_line_start_after(const char *path, long at, long limit, char *err, size_t errlen) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        format_error(err, errlen, "%s: cannot open corpus file: %s", path, strerror(errno));
        return -1;
    }
    if (limit < 0) {
        if (fseek(f, 0, SEEK_END) != 0 || (limit = ftell(f)) < 0) {
            format_error(err, errlen, "%s: cannot find its size: %s", path, strerror(errno));
            fclose(f);
            return -1;
        }
    }
    long pos = at <= 0 ? 0 : at > limit ? limit : at;
    if (pos > 0 && pos < limit) {
        /* at a line start when the byte before it is a newline */
        if (fseek(f, pos - 1, SEEK_SET) != 0) pos = limit;
        else
            for (int c; pos < limit && (c = fgetc(f)) != '\n'; pos++)
                if (c == EOF) { pos = limit; break; }
    }
    fclose(f);
    return pos;
}

static int pos_cmp(CorpusPos a, CorpusPos b) {
    if (a.file != b.file) return a.file < b.file ? -1 : 1;
    return a.offset < b.offset ? -1 : a.offset > b.offset;
}

void corpus_set_range(CorpusReader *r, CorpusPos begin, CorpusPos end) {
    r->begin = begin;
    r->end = end;
    corpus_seek(r, begin);
}
CorpusPos corpus_range_begin(const CorpusReader *r) { return r->begin; }
CorpusPos corpus_tell(const CorpusReader *r) { return r->pos; }

void corpus_seek(CorpusReader *r, CorpusPos pos) {
    r->pos = pos;
    if (r->file) { fclose(r->file); r->file = NULL; }
    r->file_index = -1;
    r->para_len = 0;
}

int corpus_check_position(const CorpusReader *r, CorpusPos pos, char *err, size_t errlen) {
    if (pos.file == r->n_paths && pos.offset == 0) return 0;
    if (pos.file < 0 || pos.file >= r->n_paths || pos.offset < 0) {
        format_error(err, errlen, "saved corpus position (file %d of %d, byte %ld) is not in the corpus",
                     pos.file, r->n_paths, pos.offset);
        return -1;
    }
    if (pos.offset == 0) return 0;
    FILE *f = fopen(r->paths[pos.file], "rb");
    if (!f) {
        format_error(err, errlen, "%s: cannot open: %s", r->paths[pos.file], strerror(errno));
        return -1;
    }
    int before = fseek(f, pos.offset - 1, SEEK_SET) == 0 ? fgetc(f) : EOF;
    fclose(f);
    if (before != '\n') {
        format_error(err, errlen, "%s: the saved position, byte %ld, is %s; was the corpus changed or the "
                     "checkpoint edited?", r->paths[pos.file], pos.offset,
                     before == EOF ? "past the end of the file" : "inside a line");
        return -1;
    }
    return 0;
}

/* Where the lines go: tokenized into a Documents (reading) or only counted as
 * document starts (scanning). */
typedef struct {
    const TokenSource *ts;     /* NULL when scanning */
    Documents *docs;
    CorpusPos *starts;         /* scanning: document starts */
    long n_starts, cap_starts;
    bool doc_has_text;         /* the current document has a sentence */
    long n_complete;           /* documents ended so far */
    const char *path;
    long line_no;              /* 1-based when known (reading began at offset 0), else 0 */
    char *err;
    size_t errlen;
} Sink;

static int sink_sentence(Sink *s, const char *text, size_t len, CorpusPos where) {
    if (!s->ts) {
        bool any = false;
        for (size_t k = 0; k < len && !any; k++) any = !is_space((unsigned char)text[k]);
        if (!any || s->doc_has_text) return 0;
        if (s->n_starts == s->cap_starts) {
            long cap = s->cap_starts ? 2 * s->cap_starts : 1024;
            CorpusPos *p = realloc(s->starts, sizeof *p * (size_t)cap);
            if (!p) { format_error(s->err, s->errlen, "corpus: out of memory"); return -1; }
            s->starts = p;
            s->cap_starts = cap;
        }
        s->starts[s->n_starts++] = where;
        s->doc_has_text = true;
        return 0;
    }
    Documents *d = s->docs;
    long before = d->ids.len;
    long n = s->ts->encode(s->ts->ctx, text, len, &d->ids);
    if (n < 0 || d->ids.len != before + n) {
        if (s->line_no > 0)
            format_error(s->err, s->errlen, "%s:%ld: the tokenizer failed on this text", s->path, s->line_no);
        else
            format_error(s->err, s->errlen, "%s: the tokenizer failed on text before byte %ld", s->path, where.offset);
        return -1;
    }
    if (n == 0) return 0;
    if (d->ids.len > INT_MAX / 2) {
        format_error(s->err, s->errlen, "%s: shard has more than %d tokens; use smaller shards", s->path, INT_MAX / 2);
        return -1;
    }
    if (!intvec_push(&d->sent_start, (int)d->ids.len)) { format_error(s->err, s->errlen, "corpus: out of memory"); return -1; }
    s->doc_has_text = true;
    return 0;
}

static int sink_end_document(Sink *s) {
    if (!s->doc_has_text) return 0;
    s->doc_has_text = false;
    s->n_complete++;
    if (s->ts && !intvec_push(&s->docs->doc_start, (int)(s->docs->sent_start.len - 1))) {
        format_error(s->err, s->errlen, "corpus: out of memory");
        return -1;
    }
    return 0;
}

/* Prose: splits the paragraph collected so far into sentences. */
static int flush_paragraph(CorpusReader *r, Sink *s) {
    if (r->para_len == 0) return 0;
    intvec_clear(&r->bounds);
    long n = corpus_split_sentences(r->para, r->para_len, &r->bounds);
    if (n < 0) { format_error(s->err, s->errlen, "corpus: out of memory"); return -1; }
    for (long k = 0; k < n; k++) {
        int b = r->bounds.data[2 * k], e = r->bounds.data[2 * k + 1];
        if (sink_sentence(s, r->para + b, (size_t)(e - b), r->para_pos) < 0) return -1;
    }
    r->para_len = 0;
    return 0;
}

static int append_paragraph(CorpusReader *r, const char *text, size_t len) {
    size_t need = r->para_len + len + 2;
    if (need > r->para_cap) {
        size_t cap = r->para_cap ? r->para_cap : 4096;
        while (cap < need) cap *= 2;
        char *p = realloc(r->para, cap);
        if (!p) return -1;
        r->para = p;
        r->para_cap = cap;
    }
    if (r->para_len) r->para[r->para_len++] = ' ';
    memcpy(r->para + r->para_len, text, len);
    r->para_len += len;
    return 0;
}

/* WikiText headings: 1 for "= Title =", 2+ for "= = Section = =", 0 otherwise. */
static int heading_level(const char *t, size_t n) {
    if (n < 4 || t[0] != '=' || t[1] != ' ' || t[n - 1] != '=' || t[n - 2] != ' ') return 0;
    int level = 0;
    size_t k = 0;
    while (k + 1 < n && t[k] == '=' && t[k + 1] == ' ') { level++; k += 2; }
    return k < n - 1 ? level : 0;
}

/* "CHAPTER I", "Chapter 12.", "CHAPTER XIV. The Trial": CHAPTER or Chapter,
 * spaces, a Roman or Arabic numeral, then the end of the line, '.', ':' or a space. */
static bool is_chapter_line(const char *t, size_t n) {
    if (n < 9 || (strncmp(t, "CHAPTER", 7) != 0 && strncmp(t, "Chapter", 7) != 0)) return false;
    size_t k = 7;
    if (!is_space((unsigned char)t[k])) return false;
    while (k < n && is_space((unsigned char)t[k])) k++;
    size_t digits = 0;
    while (k < n && t[k] != '\0' && strchr("IVXLCivxlc0123456789", t[k])) { k++; digits++; }
    return digits > 0 && (k == n || t[k] == '.' || t[k] == ':' || is_space((unsigned char)t[k]));
}

/* Opens the file at r->pos if needed. */
static int ensure_file(CorpusReader *r, char *err, size_t errlen) {
    if (r->file && r->file_index == r->pos.file) return 0;
    if (r->file) fclose(r->file);
    r->file = fopen(r->paths[r->pos.file], "rb");
    if (!r->file || fseek(r->file, r->pos.offset, SEEK_SET) != 0) {
        format_error(err, errlen, "%s: cannot read corpus file: %s", r->paths[r->pos.file], strerror(errno));
        if (r->file) fclose(r->file);
        r->file = NULL;
        return -1;
    }
    r->file_index = r->pos.file;
    return 0;
}

/* The shared loop. When reading (s->ts set) it stops after about shard_bytes;
 * when scanning it runs to the end of the range. Returns 0 or -1. */
static int process(CorpusReader *r, Sink *s, bool stop_at_shard) {
    size_t bytes = 0, limit = r->opt.shard_bytes;
    s->line_no = r->pos.offset == 0 ? 1 : 0;
    r->para_len = 0;
    while (pos_cmp(r->pos, r->end) < 0) {
        if (r->pos.file >= r->n_paths) break;
        if (ensure_file(r, s->err, s->errlen) < 0) return -1;
        s->path = r->paths[r->pos.file];
        CorpusPos line_pos = r->pos;
        long limit_here = r->limits[r->pos.file];
        /* A file read only up to its limit ends there, as at its end. */
        ssize_t got = limit_here >= 0 && r->pos.offset >= limit_here ? -1 : getline(&r->line, &r->line_cap, r->file);
        if (got < 0) {
            if (!(limit_here >= 0 && r->pos.offset >= limit_here) && ferror(r->file)) {
                format_error(s->err, s->errlen, "%s: read error: %s", s->path, strerror(errno));
                return -1;
            }
            /* end of file: ends its document */
            if (flush_paragraph(r, s) < 0 || sink_end_document(s) < 0) return -1;
            fclose(r->file);
            r->file = NULL;
            r->file_index = -1;
            r->pos = (CorpusPos){ r->pos.file + 1, 0 };
            s->line_no = 1;
            if (stop_at_shard && bytes >= limit && s->n_complete > 0) break;
            continue;
        }
        r->pos.offset += got;
        bytes += (size_t)got;
        const char *t = r->line;
        size_t n = (size_t)got;
        if (line_pos.offset == 0 && n >= 3 && memcmp(t, "\xEF\xBB\xBF", 3) == 0) { t += 3; n -= 3; }   /* UTF-8 byte-order mark */
        while (n > 0 && is_space((unsigned char)t[n - 1])) n--;
        while (n > 0 && is_space((unsigned char)*t)) { t++; n--; }
        bool ended_document = false;
        int level = heading_level(t, n);
        if (level == 1 || (n > 0 && r->opt.mode == CORPUS_PROSE && r->opt.chapters && is_chapter_line(t, n))) {
            if (flush_paragraph(r, s) < 0 || sink_end_document(s) < 0) return -1;
            ended_document = true;
        } else if (level > 1) {
            if (flush_paragraph(r, s) < 0) return -1;
        } else if (n == 0) {
            if (r->opt.mode == CORPUS_LINES) {
                if (sink_end_document(s) < 0) return -1;
                ended_document = true;
            } else if (flush_paragraph(r, s) < 0) {
                return -1;
            }
        } else if (r->opt.mode == CORPUS_LINES) {
            if (sink_sentence(s, t, n, line_pos) < 0) return -1;
        } else {
            if (r->para_len == 0) r->para_pos = line_pos;
            if (append_paragraph(r, t, n) < 0) { format_error(s->err, s->errlen, "corpus: out of memory"); return -1; }
        }
        if (s->line_no > 0) s->line_no++;
        if (!stop_at_shard || bytes < limit || r->para_len > 0) continue;
        /* Stop at a document end; cut a document at a paragraph boundary only
         * when it alone fills the shard (or the shard is twice over). */
        if (ended_document && s->n_complete > 0) break;
        if (s->n_complete == 0 || bytes >= 2 * limit) {
            if (sink_end_document(s) < 0) return -1;
            if (s->n_complete > 0) break;
        }
    }
    if (pos_cmp(r->pos, r->end) >= 0 || r->pos.file >= r->n_paths) {
        if (flush_paragraph(r, s) < 0 || sink_end_document(s) < 0) return -1;
    }
    return 0;
}

long corpus_read_shard(CorpusReader *r, const TokenSource *ts, Documents *docs,
                       char *err, size_t errlen) {
    documents_clear(docs);
    if (!intvec_push(&docs->sent_start, 0) || !intvec_push(&docs->doc_start, 0)) {
        format_error(err, errlen, "corpus: out of memory");
        return -1;
    }
    Sink s = { .ts = ts, .docs = docs, .err = err, .errlen = errlen };
    /* A stretch of text without tokens yields no document; read on. */
    while (documents_count(docs) == 0 && pos_cmp(r->pos, r->end) < 0 && r->pos.file < r->n_paths)
        if (process(r, &s, true) < 0) return -1;
    return documents_count(docs);
}

long corpus_scan(CorpusReader *r, CorpusPos **doc_pos, char *err, size_t errlen) {
    CorpusPos saved = r->pos;
    corpus_seek(r, r->begin);
    Sink s = { .ts = NULL, .err = err, .errlen = errlen };
    int rc = process(r, &s, false);
    corpus_seek(r, saved);
    if (rc < 0) { free(s.starts); return -1; }
    *doc_pos = s.starts;
    return s.n_starts;
}
