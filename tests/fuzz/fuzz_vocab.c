/* fuzz_vocab.c — libFuzzer harness: tokenizer_load on arbitrary bytes as a
 * vocab.txt; when the first input line is a valid vocabulary, the rest is
 * encoded with it and every id must map back to a vocab entry. The input is
 * "VOCAB \x01 TEXT": the part before the first 0x01 byte is the vocabulary. */
#include <string.h>
#include "fuzz_util.h"
#include "data/tokenizer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const uint8_t *cut = memchr(data, 1, size);
    size_t vocab_len = cut ? (size_t)(cut - data) : size;
    const char *path = fuzz_write_input(data, vocab_len, ".txt");
    char err[512];
    for (int lower = 0; lower < 2; lower++) {
        Tokenizer *tok = tokenizer_load(path, lower, err, sizeof err);
        if (!tok) {
            if (!strstr(err, path)) abort();
            return 0;
        }
        const char *text = cut ? (const char *)cut + 1 : "";
        size_t text_len = cut ? size - vocab_len - 1 : 0;
        IntVec ids = { 0 };
        long invalid = 0;
        long n = tokenizer_encode(tok, text, text_len, &ids, &invalid);
        if (n >= 0 && n != ids.len) abort();
        for (long i = 0; i < ids.len; i++) {
            const char *t = tokenizer_id_to_token(tok, ids.data[i]);
            if (!t || tokenizer_token_id(tok, t) != ids.data[i]) abort();
        }
        intvec_free(&ids);
        tokenizer_free(tok);
    }
    return 0;
}
