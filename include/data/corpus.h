/* corpus.h — reading raw text files into tokenized documents of sentences,
 * the input of BERT's pretraining data (docs/pretraining_data.md).
 *
 * Two text formats:
 *  - CORPUS_LINES (Google's create_pretraining_data.py format): one sentence
 *    per line, a blank line ends a document.
 *  - CORPUS_PROSE (hard-wrapped books such as Project Gutenberg): the lines of
 *    a paragraph are joined, paragraphs (blank-line separated) are split into
 *    sentences by corpus_split_sentences(), each file is one document (or each
 *    chapter, with `chapters`).
 * In both, a WikiText/Wikipedia title line `= Title =` starts a new document
 * and deeper headings `= = Section = =` are dropped; the end of a file ends
 * its document.
 *
 * The corpus is read in shards of about `shard_bytes` of text so it need not
 * fit in memory; a CorpusPos (file index, byte offset of a line) says where a
 * shard starts, so a run can resume exactly. */
#ifndef BERT_CORPUS_H
#define BERT_CORPUS_H

#include <stdbool.h>
#include <stddef.h>
#include "core/intvec.h"

/* Tokenization as a callback, so this code does not depend on a tokenizer. */
typedef struct {
    void *ctx;
    /* Appends the ids of text[0..len) to ids; returns how many (< 0 on error). */
    long (*encode)(void *ctx, const char *text, size_t len, IntVec *ids);
    int vocab_size, cls_id, sep_id, mask_id, pad_id;
    const bool *is_continuation;   /* [vocab_size]: token starts with "##" (whole-word masking) */
} TokenSource;

typedef enum { CORPUS_LINES = 0, CORPUS_PROSE = 1 } CorpusMode;

#define CORPUS_DEFAULT_SHARD_BYTES ((size_t)64 << 20)

typedef struct {
    CorpusMode mode;
    bool chapters;       /* prose: a line "CHAPTER …"/"Chapter …" + numeral starts a new document */
    size_t shard_bytes;  /* text per shard; 0 means CORPUS_DEFAULT_SHARD_BYTES */
} CorpusOptions;

/* A place in the corpus: byte `offset` of a line start in file number `file`.
 * {n_files, 0} is the end of the corpus. */
typedef struct { int file; long offset; } CorpusPos;

/* Tokenized documents, flat:
 *   sentence s = ids.data[sent_start.data[s] .. sent_start.data[s+1])
 *   document d = sentences doc_start.data[d] .. doc_start.data[d+1]
 * Sentences with no tokens and documents with no sentences are left out, as
 * Google's code does. */
typedef struct {
    IntVec ids;
    IntVec sent_start;   /* [n_sentences + 1] */
    IntVec doc_start;    /* [n_docs + 1] */
} Documents;

static inline long documents_count(const Documents *d) { return d->doc_start.len ? d->doc_start.len - 1 : 0; }
void documents_clear(Documents *d);
void documents_free(Documents *d);

typedef struct CorpusReader CorpusReader;

/* Opens the files (all must exist and be readable) for reading from the
 * start to the end. NULL and a message naming the file on error. */
CorpusReader *corpus_open(const char *const *paths, int n_paths, const CorpusOptions *opt,
                          char *err, size_t errlen);
/* The same, with file f read only up to byte limits[f] (a line start, or −1
 * for all of it): a file listed twice with a limit the second time is read
 * once whole and once in part (corpus weights, docs/pretraining.md). */
CorpusReader *corpus_open_limited(const char *const *paths, const long *limits, int n_paths,
                                  const CorpusOptions *opt, char *err, size_t errlen);
void corpus_close(CorpusReader *r);

/* The first line start at or after byte `at` of path, at most `limit` (the
 * file's size when −1); −1 with a message if the file cannot be read. */
long corpus_line_start_after(const char *path, long at, long limit, char *err, size_t errlen);

/* Restricts reading to [begin, end) (both document starts, e.g. from
 * corpus_scan) and moves to begin. */
void corpus_set_range(CorpusReader *r, CorpusPos begin, CorpusPos end);
CorpusPos corpus_range_begin(const CorpusReader *r);
CorpusPos corpus_tell(const CorpusReader *r);
/* Moves to pos (a shard start returned by corpus_tell). */
void corpus_seek(CorpusReader *r, CorpusPos pos);
/* Whether pos can be a position corpus_tell gave: a file of the corpus (or
 * the end, one past the last file at offset 0) and the first byte of a line
 * inside it. A saved position that is not (a tampered or stale checkpoint)
 * gets an error naming the file and the byte. */
int corpus_check_position(const CorpusReader *r, CorpusPos pos, char *err, size_t errlen);

/* Reads the next shard from the current position: whole documents until at
 * least shard_bytes of text have been read or the range ends (a single
 * document longer than shard_bytes is cut at a paragraph boundary), tokenized
 * with ts, into docs (cleared first). Returns the number of documents (> 0),
 * 0 at the end of the range, or -1 with a message on error. */
long corpus_read_shard(CorpusReader *r, const TokenSource *ts, Documents *docs,
                       char *err, size_t errlen);

/* One pass over the whole range without tokenizing: *doc_pos (malloc'd,
 * caller frees) receives the start of every document that has any text, in
 * order; returns their count, or -1 with a message on error. The position is
 * restored afterwards. */
long corpus_scan(CorpusReader *r, CorpusPos **doc_pos, char *err, size_t errlen);

/* Prose sentence splitter (rules in docs/pretraining_data.md). Appends the
 * [begin, end) byte ranges of the sentences of text[0..len), whitespace
 * trimmed, to bounds as pairs; returns the number of sentences. */
long corpus_split_sentences(const char *text, size_t len, IntVec *bounds);

#endif
