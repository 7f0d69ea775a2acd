/* csv.c — RFC 4180 CSV and GLUE-style TSV reader and writer (include/csv.h).
 *
 * Reading is in two layers. The scanner (CsvReader) cuts the byte stream into
 * raw rows: a row ends at a line ending outside quotes, so it may span several
 * lines. It holds at most one chunk of rows, and it refuses a row over
 * CSV_MAX_ROW_BYTES, so neither a huge file nor /dev/zero takes unbounded
 * memory. A chunk's raw bytes (the header's, then its rows') are then parsed
 * in one buffer in place: unescaping never
 * makes a field longer ("" becomes ", quotes are dropped), so the write cursor
 * w never passes the read cursor r and each field is NUL-terminated where it
 * ends. Fields then point into that buffer; nothing is copied. */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <utf8proc.h>
#include "data/csv.h"
#include "io/fileio.h"

static char delimiter_for_path(const char *path) {
    const char *dot = strrchr(path, '.');
    if (dot && (strcasecmp(dot, ".tsv") == 0 || strcasecmp(dot, ".tab") == 0)) return '\t';
    return ',';
}

/* Growable arrays used while parsing. */
typedef struct { long first_cell; int n_fields; long line; } RowSpan;
typedef struct {
    char **cells; long n_cells, cap_cells;
    RowSpan *rows; long n_rows, cap_rows;
} Builder;

static int push_cell(Builder *b, char *cell) {
    if (b->n_cells == b->cap_cells) {
        long cap = b->cap_cells ? 2 * b->cap_cells : 1024;
        char **cells = realloc(b->cells, sizeof(char *) * (size_t)cap);
        if (!cells) return -1;
        b->cells = cells;
        b->cap_cells = cap;
    }
    b->cells[b->n_cells++] = cell;
    return 0;
}

static int push_row(Builder *b, RowSpan row) {
    if (b->n_rows == b->cap_rows) {
        long cap = b->cap_rows ? 2 * b->cap_rows : 256;
        RowSpan *rows = realloc(b->rows, sizeof(RowSpan) * (size_t)cap);
        if (!rows) return -1;
        b->rows = rows;
        b->cap_rows = cap;
    }
    b->rows[b->n_rows++] = row;
    return 0;
}

/* Parser state: buf[len] is '\0'; r reads, w writes (w <= r always). */
typedef struct {
    char *buf;
    size_t len, r, w;
    long line;           /* physical line of buf[r] */
    char delimiter;
    int quoting;         /* CSV dialect: fields may be quoted */
    const char *path;
    char *err;
    size_t err_len;
} Parser;

/* Copies the character at r to w: one byte, or a whole UTF-8 sequence after
 * checking it with utf8proc. Counts a line for LF and for a CR not followed by
 * LF (the caller only passes newlines that are inside quotes). */
static int copy_char(Parser *p, int column) {
    unsigned char c = (unsigned char)p->buf[p->r];
    if (c == 0) {
        format_error(p->err, p->err_len, "%s:%ld: NUL byte in field %d (is this a text file?)",
                  p->path, p->line, column + 1);
        return -1;
    }
    if (c < 0x80) {
        if (c == '\n' || (c == '\r' && p->buf[p->r + 1] != '\n')) p->line++;
        p->buf[p->w++] = p->buf[p->r++];
        return 0;
    }
    utf8proc_int32_t codepoint;
    utf8proc_ssize_t n = utf8proc_iterate((const utf8proc_uint8_t *)p->buf + p->r,
                                          (utf8proc_ssize_t)(p->len - p->r), &codepoint);
    if (n < 0) {
        format_error(p->err, p->err_len, "%s:%ld: invalid UTF-8 (byte 0x%02x) in field %d",
                  p->path, p->line, c, column + 1);
        return -1;
    }
    for (utf8proc_ssize_t i = 0; i < n; i++) p->buf[p->w++] = p->buf[p->r++];
    return 0;
}

static int at_row_end(const Parser *p) {
    if (p->r >= p->len) return 1;
    char c = p->buf[p->r];
    return c == '\n' || c == '\r';
}

/* Parses one field starting at r into w; leaves r on the delimiter, the row's
 * line ending, or the end of the buffer. */
static int parse_field(Parser *p, int column) {
    if (p->quoting && p->buf[p->r] == '"') {
        long open_line = p->line;
        p->r++;
        for (;;) {
            if (p->r >= p->len) {
                format_error(p->err, p->err_len, "%s:%ld: quoted field %d is never closed (the quote opens on this line)",
                          p->path, open_line, column + 1);
                return -1;
            }
            if (p->buf[p->r] == '"') {
                if (p->buf[p->r + 1] == '"') {  /* "" is an escaped quote */
                    p->buf[p->w++] = '"';
                    p->r += 2;
                    continue;
                }
                p->r++;                         /* the closing quote */
                if (!at_row_end(p) && p->buf[p->r] != p->delimiter) {
                    format_error(p->err, p->err_len, "%s:%ld: text after the closing quote of field %d "
                              "(a quote inside a quoted field must be doubled: \"\")",
                              p->path, p->line, column + 1);
                    return -1;
                }
                return 0;
            }
            if (copy_char(p, column)) return -1;
        }
    }
    while (!at_row_end(p) && p->buf[p->r] != p->delimiter) {
        if (p->quoting && p->buf[p->r] == '"') {
            format_error(p->err, p->err_len, "%s:%ld: quote inside unquoted field %d; RFC 4180 requires a field "
                      "containing '\"' to be enclosed in quotes with the quote doubled",
                      p->path, p->line, column + 1);
            return -1;
        }
        if (copy_char(p, column)) return -1;
    }
    return 0;
}

/* Steps over one line ending at r: CRLF, LF or a lone CR. FIRST is its first
 * character, passed in because the field's NUL may already have replaced it. */
static void skip_line_ending(Parser *p, char first) {
    p->r++;
    if (first == '\r' && p->r < p->len && p->buf[p->r] == '\n') p->r++;
    p->line++;
}

/* Parses one row starting at r, appending its fields to B. */
static int parse_row(Parser *p, Builder *b, RowSpan *row) {
    row->first_cell = b->n_cells;
    row->n_fields = 0;
    row->line = p->line;
    for (;;) {
        char *start = p->buf + p->w;
        if (parse_field(p, row->n_fields)) return -1;
        if ((size_t)(p->buf + p->w - start) > CSV_MAX_FIELD_BYTES) {
            format_error(p->err, p->err_len, "%s:%ld: field %d is longer than the limit of %d MiB (%ld bytes)",
                         p->path, row->line, row->n_fields + 1, CSV_MAX_FIELD_BYTES >> 20,
                         (long)CSV_MAX_FIELD_BYTES);
            return -1;
        }
        /* Read the terminator before the NUL overwrites it (w may equal r). */
        char terminator = p->r < p->len ? p->buf[p->r] : '\0';
        p->buf[p->w++] = '\0';
        if (push_cell(b, start)) goto out_of_memory;
        row->n_fields++;
        if (terminator == p->delimiter) { p->r++; continue; }
        if (terminator == '\r' || terminator == '\n') skip_line_ending(p, terminator);
        return 0;
    }
out_of_memory:
    format_error(p->err, p->err_len, "%s:%ld: out of memory", p->path, p->line);
    return -1;
}

/* Finds two equal names among names[n]: sorting (name, column) pairs keeps
 * this O(n log n) even for a broken "header" of a million fields. Sets the
 * pair with the smallest second column; returns 1 if found, 0 if not, -1 if
 * out of memory. */
typedef struct { const char *name; int column; } NamedColumn;

static int compare_named_columns(const void *a, const void *b) {
    const NamedColumn *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : (x->column > y->column) - (x->column < y->column);
}

static int find_duplicate(char *const *names, int n, int *first, int *second) {
    NamedColumn *sorted = malloc(sizeof(NamedColumn) * (size_t)(n ? n : 1));
    if (!sorted) return -1;
    for (int i = 0; i < n; i++) sorted[i] = (NamedColumn){ names[i], i };
    qsort(sorted, (size_t)n, sizeof(NamedColumn), compare_named_columns);
    int found = 0;
    for (int i = 1; i < n; i++)
        if (strcmp(sorted[i].name, sorted[i - 1].name) == 0 && (!found || sorted[i].column < *second)) {
            *first = sorted[i - 1].column;
            *second = sorted[i].column;
            found = 1;
        }
    free(sorted);
    return found;
}

void csv_free(CsvTable *table) {
    free(table->path);
    free(table->rows);
    free(table->text);
    free(table->cells);
    memset(table, 0, sizeof *table);
}

/* ---- the scanner: raw rows from a stream, in bounded memory ------------------ */

/* A growable byte buffer; always one spare byte for the parser's final NUL. */
typedef struct { char *data; size_t len, cap; } Bytes;

static int bytes_reserve(Bytes *b, size_t extra) {
    if (b->len + extra + 1 <= b->cap) return 0;
    size_t cap = b->cap ? b->cap : 1 << 16;
    while (cap < b->len + extra + 1) cap *= 2;
    char *data = realloc(b->data, cap);
    if (!data) return -1;
    b->data = data;
    b->cap = cap;
    return 0;
}

static int bytes_append(Bytes *b, const void *data, size_t n) {
    if (bytes_reserve(b, n)) return -1;
    memcpy(b->data + b->len, data, n);
    b->len += n;
    return 0;
}

struct CsvReader {
    FILE *f;
    bool from_stdin;
    char *name;                 /* the path, or "<stdin>": every message starts with it */
    char delimiter;
    bool quoting;
    unsigned char block[1 << 16];
    size_t pos, end;            /* unread bytes are block[pos .. end) */
    bool eof;
    int read_errno;             /* nonzero after a read error */
    long line;                  /* physical line of the next unread byte */
    Bytes header;               /* the header row's raw bytes */
    long header_line;
    int n_columns;
    Bytes held;                 /* a row read ahead but not yet handed out */
    long held_line;
    bool have_held;
    long pending_blank_lines;   /* blank lines before held (dropped if the file ends) */
};

/* The next byte without consuming it, or -1 at the end (or on a read error). */
static int peek_byte(CsvReader *r) {
    if (r->pos == r->end) {
        if (r->eof) return -1;
        r->pos = 0;
        r->end = fread(r->block, 1, sizeof r->block, r->f);
        if (r->end == 0) {
            r->eof = true;
            if (ferror(r->f)) r->read_errno = errno ? errno : EIO;
            return -1;
        }
    }
    return r->block[r->pos];
}

/* Reads one raw row (its bytes up to and including its line ending) onto OUT.
 * Returns 1 for a row, 0 at the end of the input, -1 with err filled. *blank
 * tells a row that is only a line ending. A NUL byte ends the row early: the
 * parser then reports it with its line (NUL is never valid, and it is what
 * /dev/zero sends). */
static int scan_row(CsvReader *r, Bytes *out, long *start_line, bool *blank, char *err, size_t err_len) {
    size_t start = out->len;
    *start_line = r->line;
    *blank = false;
    bool in_quotes = false;
    for (;;) {
        int c = peek_byte(r);
        if (c < 0) break;
        r->pos++;
        if (out->len - start >= CSV_MAX_ROW_BYTES) {
            format_error(err, err_len, "%s:%ld: row longer than the limit of %d MiB (%ld bytes)%s", r->name,
                         *start_line, CSV_MAX_ROW_BYTES >> 20, (long)CSV_MAX_ROW_BYTES,
                         in_quotes ? " (a quote that is never closed?)" : "");
            return -1;
        }
        if (bytes_reserve(out, 1)) goto out_of_memory;
        out->data[out->len++] = (char)c;
        if (c == 0) return 1;
        if (c == '"' && r->quoting) in_quotes = !in_quotes;   /* "" inside quotes toggles twice */
        if (c == '\n' || c == '\r') {
            if (c == '\r' && peek_byte(r) == '\n') {
                r->pos++;
                if (bytes_append(out, "\n", 1)) goto out_of_memory;
            }
            r->line++;
            if (!in_quotes) {
                *blank = out->len - start <= 2 && (out->data[start] == '\n' || out->data[start] == '\r');
                return 1;
            }
        }
    }
    if (r->read_errno) {
        format_error(err, err_len, "%s:%ld: cannot read: %s", r->name, r->line, strerror(r->read_errno));
        return -1;
    }
    return out->len > start;
out_of_memory:
    format_error(err, err_len, "%s:%ld: out of memory", r->name, *start_line);
    return -1;
}

/* Makes sure the next non-blank row is held (or the input has ended), counting
 * the blank lines before it: blank lines are rows only when more rows follow. */
static int hold_next_row(CsvReader *r, char *err, size_t err_len) {
    while (!r->have_held) {
        r->held.len = 0;
        bool blank;
        int got = scan_row(r, &r->held, &r->held_line, &blank, err, err_len);
        if (got < 0) return -1;
        if (got == 0) {
            r->pending_blank_lines = 0;   /* blank lines at the end are ignored */
            return 0;
        }
        if (blank) r->pending_blank_lines++;
        else r->have_held = true;
    }
    return 0;
}

/* Parses BUF (a header row, then data rows from line FIRST_LINE on) in place
 * into TABLE, which takes BUF. */
static int parse_chunk(CsvReader *rd, CsvTable *table, Bytes *buf, long first_line, char *err, size_t err_len) {
    buf->data[buf->len] = '\0';
    Parser p = { .buf = buf->data, .len = buf->len, .line = rd->header_line, .delimiter = rd->delimiter,
                 .quoting = rd->quoting, .path = rd->name, .err = err, .err_len = err_len };
    Builder b = { 0 };
    RowSpan header;
    if (parse_row(&p, &b, &header)) goto fail;
    if (p.r < p.len) p.line = first_line;
    while (p.r < p.len) {
        RowSpan row;
        if (parse_row(&p, &b, &row)) goto fail;
        if (row.n_fields != header.n_fields) {
            int blank = row.n_fields == 1 && b.cells[row.first_cell][0] == '\0';
            format_error(err, err_len, "%s:%ld: expected %d fields (as in the header), found %d%s",
                         rd->name, row.line, header.n_fields, row.n_fields, blank ? " (a blank line)" : "");
            goto fail;
        }
        if (push_row(&b, row)) {
            format_error(err, err_len, "%s:%ld: out of memory", rd->name, row.line);
            goto fail;
        }
    }
    table->path = strdup(rd->name);
    table->rows = malloc(sizeof(CsvRow) * (size_t)(b.n_rows ? b.n_rows : 1));
    if (!table->path || !table->rows) {
        format_error(err, err_len, "%s: out of memory", rd->name);
        free(table->path);
        free(table->rows);
        goto fail;
    }
    table->text = buf->data;
    table->cells = b.cells;
    table->header = b.cells;
    table->n_columns = header.n_fields;
    table->header_line = header.line;
    table->n_rows = b.n_rows;
    table->delimiter = rd->delimiter;
    for (long i = 0; i < b.n_rows; i++)
        table->rows[i] = (CsvRow){ b.cells + b.rows[i].first_cell, b.rows[i].n_fields, b.rows[i].line };
    free(b.rows);
    *buf = (Bytes){ 0 };
    return 0;
fail:
    free(b.cells);
    free(b.rows);
    memset(table, 0, sizeof *table);
    return -1;
}

int csv_reader_open(CsvReader **out, const char *path, char delimiter, char *err, size_t err_len) {
    *out = NULL;
    int from_stdin = strcmp(path, "-") == 0;
    const char *name = from_stdin ? "<stdin>" : path;
    if (delimiter == 0) delimiter = from_stdin ? ',' : delimiter_for_path(path);
    if (delimiter == '"' || delimiter == '\r' || delimiter == '\n') {
        format_error(err, err_len, "%s: cannot use %s as the delimiter", name,
                  delimiter == '"' ? "a quote" : "a line ending");
        return -1;
    }
    CsvReader *r = calloc(1, sizeof *r);
    if (!r || !(r->name = strdup(name))) {
        free(r);
        format_error(err, err_len, "%s: out of memory", name);
        return -1;
    }
    r->from_stdin = from_stdin;
    r->delimiter = delimiter;
    r->quoting = delimiter != '\t';
    r->line = 1;
    r->f = from_stdin ? stdin : fopen(path, "rb");
    if (!r->f) {
        format_error(err, err_len, "%s: cannot open: %s", name, strerror(errno));
        csv_reader_close(r);
        return -1;
    }
    /* a UTF-8 byte-order mark is skipped */
    while (!r->eof && r->end < 3) {
        size_t got = fread(r->block + r->end, 1, 3 - r->end, r->f);
        if (got == 0) r->eof = true;
        r->end += got;
    }
    if (ferror(r->f)) {
        format_error(err, err_len, "%s: cannot read: %s", name, strerror(errno ? errno : EIO));
        csv_reader_close(r);
        return -1;
    }
    if (r->end >= 3 && memcmp(r->block, "\xEF\xBB\xBF", 3) == 0) r->pos = 3;

    /* Blank lines before the header are skipped, as Python's DictReader does. */
    bool blank = true;
    while (blank) {
        r->header.len = 0;
        int got = scan_row(r, &r->header, &r->header_line, &blank, err, err_len);
        if (got < 0) { csv_reader_close(r); return -1; }
        if (got == 0) {
            format_error(err, err_len, "%s:%ld: empty file: expected a header row naming the columns", name, r->line);
            csv_reader_close(r);
            return -1;
        }
    }
    /* Parse a copy once to check the header: column names, no duplicates. */
    Bytes copy = { 0 };
    if (bytes_append(&copy, r->header.data, r->header.len)) {
        format_error(err, err_len, "%s: out of memory", name);
        csv_reader_close(r);
        return -1;
    }
    CsvTable header_only;
    if (parse_chunk(r, &header_only, &copy, r->header_line, err, err_len) != 0) {
        free(copy.data);
        csv_reader_close(r);
        return -1;
    }
    int first = 0, second = 0;
    int duplicates = find_duplicate(header_only.header, header_only.n_columns, &first, &second);
    if (duplicates != 0) {
        if (duplicates < 0) format_error(err, err_len, "%s:%ld: out of memory", name, r->header_line);
        else format_error(err, err_len, "%s:%ld: duplicate column name '%s' (columns %d and %d)",
                          name, r->header_line, header_only.header[first], first + 1, second + 1);
        csv_free(&header_only);
        csv_reader_close(r);
        return -1;
    }
    r->n_columns = header_only.n_columns;
    csv_free(&header_only);
    *out = r;
    return 0;
}

long csv_reader_next(CsvReader *r, CsvTable *table, long max_rows, char *err, size_t err_len) {
    memset(table, 0, sizeof *table);
    Bytes chunk = { 0 };
    long rows = 0, first_line = r->line;
    if (bytes_append(&chunk, r->header.data, r->header.len)) goto out_of_memory;
    while (rows < max_rows) {
        if (hold_next_row(r, err, err_len) != 0) goto fail;
        if (!r->have_held) break;
        if (rows == 0) first_line = r->held_line - r->pending_blank_lines;
        if (r->pending_blank_lines > 0) {   /* a blank line between rows is a row the parser judges */
            if (bytes_append(&chunk, "\n", 1)) goto out_of_memory;
            r->pending_blank_lines--;
        } else {
            if (bytes_append(&chunk, r->held.data, r->held.len)) goto out_of_memory;
            r->have_held = false;
        }
        rows++;
    }
    /* Read ahead so csv_reader_at_end is exact after this chunk. */
    if (hold_next_row(r, err, err_len) != 0) goto fail;
    if (parse_chunk(r, table, &chunk, first_line, err, err_len) != 0) goto fail;
    return table->n_rows;
out_of_memory:
    format_error(err, err_len, "%s:%ld: out of memory", r->name, r->line);
fail:
    free(chunk.data);
    memset(table, 0, sizeof *table);
    return -1;
}

bool csv_reader_at_end(const CsvReader *r) {
    return !r->have_held;
}

void csv_reader_close(CsvReader *r) {
    if (!r) return;
    if (r->f && !r->from_stdin) fclose(r->f);
    free(r->name);
    free(r->header.data);
    free(r->held.data);
    free(r);
}

int csv_read(CsvTable *table, const char *path, char delimiter, char *err, size_t err_len) {
    memset(table, 0, sizeof *table);
    CsvReader *r;
    if (csv_reader_open(&r, path, delimiter, err, err_len) != 0) return -1;
    long n = csv_reader_next(r, table, LONG_MAX, err, err_len);
    csv_reader_close(r);
    return n < 0 ? -1 : 0;
}

int csv_column(const CsvTable *table, const char *name) {
    for (int i = 0; i < table->n_columns; i++)
        if (strcmp(table->header[i], name) == 0) return i;
    return -1;
}

int csv_require_column(const CsvTable *table, const char *name, char *err, size_t err_len) {
    int column = csv_column(table, name);
    if (column >= 0) return column;
    if (!err || err_len == 0) return -1;
    size_t used = (size_t)snprintf(err, err_len, "%s:%ld: no column named '%s' (columns: ",
                                   table->path, table->header_line, name);
    for (int i = 0; i < table->n_columns && used < err_len; i++)
        used += (size_t)snprintf(err + used, err_len - used, "%s%s", i ? ", " : "", table->header[i]);
    if (used < err_len) snprintf(err + used, err_len - used, ")");
    return -1;
}

const char *csv_text(const CsvTable *table, long row, int column, char *err, size_t err_len) {
    const char *text = table->rows[row].fields[column];
    for (const char *s = text; *s; s++)
        if (!isspace((unsigned char)*s)) return text;
    format_error(err, err_len, "%s:%ld: empty text in column '%s'",
              table->path, table->rows[row].line, table->header[column]);
    return NULL;
}

int csv_write_field(FILE *f, const char *field, char delimiter) {
    size_t n = strlen(field);
    if (delimiter == '\t') {
        int lossy = 0;
        for (size_t i = 0; i < n; i++) {
            char c = field[i];
            if (c == '\t' || c == '\r' || c == '\n') { c = ' '; lossy = 1; }
            fputc(c, f);
        }
        return lossy;
    }
    int needs_quotes = n > 0 && (field[0] == ' ' || field[n - 1] == ' ');
    for (size_t i = 0; i < n && !needs_quotes; i++)
        needs_quotes = field[i] == delimiter || field[i] == '"' || field[i] == '\r' || field[i] == '\n';
    if (!needs_quotes) {
        fwrite(field, 1, n, f);
        return 0;
    }
    fputc('"', f);
    for (size_t i = 0; i < n; i++) {
        if (field[i] == '"') fputc('"', f);
        fputc(field[i], f);
    }
    fputc('"', f);
    return 0;
}

int csv_write_row(FILE *f, const char *const *fields, int n, char delimiter) {
    int lossy = 0;
    if (n == 1 && fields[0][0] == '\0') {  /* not a blank line, which readers skip */
        if (delimiter == '\t') { fputc('\n', f); return 1; }
        fputs("\"\"\n", f);
        return 0;
    }
    for (int i = 0; i < n; i++) {
        if (i) fputc(delimiter, f);
        lossy += csv_write_field(f, fields[i], delimiter);
    }
    fputc('\n', f);
    return lossy;
}
