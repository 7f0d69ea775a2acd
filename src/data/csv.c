/* csv.c — RFC 4180 CSV and GLUE-style TSV reader and writer (include/csv.h).
 *
 * The file is read whole into one buffer and parsed in place: unescaping never
 * makes a field longer ("" becomes ", quotes are dropped), so the write cursor
 * w never passes the read cursor r and each field is NUL-terminated where it
 * ends. Fields then point into that buffer; nothing is copied. */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <utf8proc.h>
#include "data/csv.h"
#include "io/fileio.h"

/* Reads all of F into a malloc'd buffer with one spare byte for a final NUL. */
static char *read_all(FILE *f, size_t *len_out) {
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap);
    if (!buf) return NULL;
    for (;;) {
        if (cap - len < 2) {
            char *bigger = realloc(buf, cap * 2);
            if (!bigger) { free(buf); return NULL; }
            buf = bigger;
            cap *= 2;
        }
        size_t got = fread(buf + len, 1, cap - len - 1, f);
        len += got;
        if (got == 0) break;
    }
    if (ferror(f)) { free(buf); return NULL; }
    buf[len] = '\0';
    *len_out = len;
    return buf;
}

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

/* True if only line endings remain from r on: trailing blank lines are ignored. */
static int only_blank_lines_left(const Parser *p) {
    for (size_t i = p->r; i < p->len; i++)
        if (p->buf[i] != '\n' && p->buf[i] != '\r') return 0;
    return 1;
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

int csv_read(CsvTable *table, const char *path, char delimiter, char *err, size_t err_len) {
    memset(table, 0, sizeof *table);
    int from_stdin = strcmp(path, "-") == 0;
    const char *name = from_stdin ? "<stdin>" : path;
    if (delimiter == 0) delimiter = from_stdin ? ',' : delimiter_for_path(path);
    if (delimiter == '"' || delimiter == '\r' || delimiter == '\n') {
        format_error(err, err_len, "%s: cannot use %s as the delimiter", name,
                  delimiter == '"' ? "a quote" : "a line ending");
        return -1;
    }
    FILE *f = from_stdin ? stdin : fopen(path, "rb");
    if (!f) {
        format_error(err, err_len, "%s: cannot open: %s", name, strerror(errno));
        return -1;
    }
    size_t len = 0;
    char *buf = read_all(f, &len);
    int read_errno = errno;
    if (!from_stdin) fclose(f);
    if (!buf) {
        format_error(err, err_len, "%s: cannot read: %s", name, strerror(read_errno));
        return -1;
    }

    Parser p = { .buf = buf, .len = len, .line = 1, .delimiter = delimiter,
                 .quoting = delimiter != '\t', .path = name, .err = err, .err_len = err_len };
    if (len >= 3 && memcmp(buf, "\xEF\xBB\xBF", 3) == 0) p.r = p.w = 3;

    /* Blank lines before the header are skipped, as Python's DictReader does. */
    while (p.r < p.len && (buf[p.r] == '\n' || buf[p.r] == '\r')) skip_line_ending(&p, buf[p.r]);
    if (p.r >= p.len) {
        format_error(err, err_len, "%s:%ld: empty file: expected a header row naming the columns", name, p.line);
        free(buf);
        return -1;
    }

    Builder b = { 0 };
    RowSpan header;
    if (parse_row(&p, &b, &header)) goto fail;
    int first = 0, second = 0;
    int duplicates = find_duplicate(b.cells, header.n_fields, &first, &second);
    if (duplicates < 0) {
        format_error(err, err_len, "%s:%ld: out of memory", name, header.line);
        goto fail;
    }
    if (duplicates) {
        format_error(err, err_len, "%s:%ld: duplicate column name '%s' (columns %d and %d)",
                  name, header.line, b.cells[first], first + 1, second + 1);
        goto fail;
    }

    while (p.r < p.len && !only_blank_lines_left(&p)) {
        RowSpan row;
        if (parse_row(&p, &b, &row)) goto fail;
        if (row.n_fields != header.n_fields) {
            int blank = row.n_fields == 1 && b.cells[row.first_cell][0] == '\0';
            format_error(err, err_len, "%s:%ld: expected %d fields (as in the header), found %d%s",
                      name, row.line, header.n_fields, row.n_fields, blank ? " (a blank line)" : "");
            goto fail;
        }
        if (push_row(&b, row)) {
            format_error(err, err_len, "%s:%ld: out of memory", name, row.line);
            goto fail;
        }
    }

    table->path = strdup(name);
    table->rows = malloc(sizeof(CsvRow) * (size_t)(b.n_rows ? b.n_rows : 1));
    if (!table->path || !table->rows) {
        format_error(err, err_len, "%s: out of memory", name);
        free(table->path);
        free(table->rows);
        table->path = NULL;
        table->rows = NULL;
        goto fail;
    }
    table->text = buf;
    table->cells = b.cells;
    table->header = b.cells;
    table->n_columns = header.n_fields;
    table->header_line = header.line;
    table->n_rows = b.n_rows;
    table->delimiter = delimiter;
    for (long i = 0; i < b.n_rows; i++)
        table->rows[i] = (CsvRow){ b.cells + b.rows[i].first_cell, b.rows[i].n_fields, b.rows[i].line };
    free(b.rows);
    return 0;

fail:
    free(b.cells);
    free(b.rows);
    free(buf);
    memset(table, 0, sizeof *table);
    return -1;
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
