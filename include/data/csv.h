/* csv.h — reading and writing the CSV/TSV files that hold fine-tuning data.
 *
 * Two dialects, chosen by the delimiter (docs/data_formats.md has the details
 * and the reasons):
 *   CSV (',' or any other delimiter except '\t'): RFC 4180. A field may be
 *       enclosed in double quotes; inside, "" is one quote, and delimiters, CR
 *       and LF are ordinary text. A quote anywhere else is an error.
 *   TSV ('\t'): no quoting at all, '"' is an ordinary character. This is how
 *       the GLUE loaders read their .tsv files (Python csv, QUOTE_NONE).
 * Both: a header row is required and names the columns (no duplicates); every
 * row has exactly as many fields as the header; rows end with LF, CRLF or a
 * lone CR, the last one optionally without; blank lines at the end are ignored;
 * a UTF-8 byte-order mark at the start is skipped; fields must be valid UTF-8
 * without NUL bytes. Field bytes are kept exactly (no trimming).
 *
 * Limits: a field over CSV_MAX_FIELD_BYTES (1 MiB) or a row (its lines up to
 * the row's end) over CSV_MAX_ROW_BYTES (4 MiB) is an error naming FILE:LINE
 * and the limit, so a file that is not a table (/dev/zero, one endless line)
 * fails fast instead of filling memory.
 *
 * csv_read reads the whole file into memory and parses it in place: memory is
 * about the file size plus 8 bytes per field and 24 per row (SST-2 train,
 * 3.8 MB and 67,349 rows, takes about 6 MB). CsvReader reads the same tables a
 * chunk of rows at a time, in memory bounded by the chunk (eval, predict). */
#ifndef BERT_CSV_H
#define BERT_CSV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

typedef struct {
    char **fields;    /* fields[n_fields], NUL-terminated UTF-8 */
    int n_fields;     /* always the table's n_columns */
    long line;        /* 1-based physical line where the row starts */
} CsvRow;

typedef struct {
    char *path;        /* as given, or "<stdin>"; used in every error message */
    char **header;     /* header[n_columns]: the column names */
    int n_columns;
    long header_line;  /* physical line of the header (1 unless blank lines precede it) */
    CsvRow *rows;      /* rows[n_rows], the data rows after the header */
    long n_rows;
    char delimiter;    /* ',' or '\t' (or whatever was asked for) */
    /* Owned storage the pointers above point into. */
    char *text;        /* the file's bytes, unescaped in place */
    char **cells;      /* every field pointer, header first, row after row */
} CsvTable;

/* Reads PATH ("-" = standard input) into TABLE. delimiter 0 chooses by
 * extension: '\t' for .tsv and .tab (any case), ',' otherwise (and for stdin).
 * Returns 0, or -1 with "FILE:LINE: problem" in err (TABLE is then empty and
 * csv_free is optional). */
int csv_read(CsvTable *table, const char *path, char delimiter, char *err, size_t err_len);

/* Reading a table in chunks of rows: the same rules, errors and line numbers
 * as csv_read, in memory bounded by one chunk (plus one row read ahead). */
#define CSV_MAX_FIELD_BYTES (1 << 20)
#define CSV_MAX_ROW_BYTES (4 << 20)
typedef struct CsvReader CsvReader;

/* Opens PATH ("-" = standard input; delimiter as for csv_read) and reads and
 * checks its header row. Returns 0, or -1 with "FILE:LINE: problem" in err. */
int csv_reader_open(CsvReader **reader, const char *path, char delimiter, char *err, size_t err_len);

/* The next (up to) max_rows data rows as a table of their own, with the
 * header and the rows' own line numbers (free it with csv_free). Returns the
 * number of rows, 0 after the last one, or -1 with err filled. */
long csv_reader_next(CsvReader *reader, CsvTable *chunk, long max_rows, char *err, size_t err_len);

/* True when no data rows are left (exact: the reader reads one row ahead). */
bool csv_reader_at_end(const CsvReader *reader);

/* Closes the file (not standard input) and frees the reader. NULL is a no-op. */
void csv_reader_close(CsvReader *reader);

/* Frees everything csv_read allocated and zeroes TABLE. Safe on a zeroed table. */
void csv_free(CsvTable *table);

/* Index of the column named NAME, or -1 if there is none. */
int csv_column(const CsvTable *table, const char *name);

/* Like csv_column, but -1 comes with an error that lists the available columns:
 *   "FILE:1: no column named 'text' (columns: sentence, label)". */
int csv_require_column(const CsvTable *table, const char *name, char *err, size_t err_len);

/* The text in ROW (0-based data row) and COLUMN, or NULL with
 *   "FILE:LINE: empty text in column 'sentence'"
 * when it is empty or only whitespace (BERT's tokenizer would make no tokens). */
const char *csv_text(const CsvTable *table, long row, int column, char *err, size_t err_len);

/* Writes one field so that csv_read (and Python's csv) reads it back exactly.
 * CSV: the field is quoted when it contains the delimiter, '"', CR or LF, or
 * starts or ends with a space (readers that trim would change it), with every
 * '"' doubled. TSV cannot represent a tab, CR or LF inside a field: each is
 * written as a space and the return value is 1 so the caller can warn; 0
 * otherwise. */
int csv_write_field(FILE *f, const char *field, char delimiter);

/* Writes N fields separated by the delimiter and ending with '\n'. A row that is
 * a single empty field is written as "" in CSV so it is not a blank line.
 * Returns the number of fields that could not be written exactly (TSV only). */
int csv_write_row(FILE *f, const char *const *fields, int n, char delimiter);

#endif
