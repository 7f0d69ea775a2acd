/* fuzz_corpus.c — libFuzzer harness: the pretraining corpus reader on
 * arbitrary bytes, in line mode, in prose mode with chapters, and in line mode
 * over the file and its first half (corpus weights), with a toy
 * tokenizer (one id per byte), in small shards; plus the sentence splitter. */
#include <string.h>
#include "fuzz_util.h"
#include "data/corpus.h"

static long encode_bytes(void *ctx, const char *text, size_t len, IntVec *ids) {
    (void)ctx;
    for (size_t i = 0; i < len; i++)
        if (text[i] != ' ' && !intvec_push(ids, 5 + (unsigned char)text[i])) return -1;
    return (long)len;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *path = fuzz_write_input(data, size, ".txt");
    const char *paths[1] = { path };
    char err[512];
    TokenSource ts = { .encode = encode_bytes, .vocab_size = 261, .cls_id = 1, .sep_id = 2, .mask_id = 3, .pad_id = 0 };
    /* mode 3: the file read whole, then up to the line start nearest its
     * middle (corpus weights: corpus_open_limited) */
    const char *twice[2] = { path, path };
    long limits[2] = { -1, corpus_line_start_after(path, (long)size / 2, -1, err, sizeof err) };
    if (limits[1] < 0 || limits[1] > (long)size) abort();
    for (int mode = 0; mode < 4; mode++) {
        CorpusOptions opt = { .mode = mode == 1 || mode == 2 ? CORPUS_PROSE : CORPUS_LINES, .chapters = mode == 2,
                              .shard_bytes = 64 };
        CorpusReader *r = mode == 3 ? corpus_open_limited(twice, limits, 2, &opt, err, sizeof err)
                                    : corpus_open(paths, 1, &opt, err, sizeof err);
        if (!r) continue;
        Documents docs = { 0 };
        long n, total = 0;
        while ((n = corpus_read_shard(r, &ts, &docs, err, sizeof err)) > 0) {
            total += n;
            if (docs.doc_start.len != n + 1) abort();
            for (long d = 0; d < n; d++)
                if (docs.doc_start.data[d] >= docs.doc_start.data[d + 1]) abort();   /* no empty documents */
        }
        CorpusPos *pos = NULL;
        corpus_seek(r, corpus_range_begin(r));
        long scanned = corpus_scan(r, &pos, err, sizeof err);
        (void)scanned;
        (void)total;
        free(pos);
        documents_free(&docs);
        corpus_close(r);
    }
    IntVec bounds = { 0 };
    (void)corpus_split_sentences((const char *)data, size, &bounds);
    intvec_free(&bounds);
    return 0;
}
