#!/bin/sh
# bench/run.sh — `make bench`: speed figures of bert.c on the data in ../shared/data.
set -e
DATA=${BERT_SHARED_DATA:-../shared/data}
if [ ! -d "$DATA" ]; then
    echo "bench: skipped, shared data directory $DATA not found (set BERT_SHARED_DATA)"
    exit 0
fi

echo "== tokenizer (encoding on 1 and all threads; vocabulary training)"
./bert bench-tokenizer --vocab "$DATA/bert-tiny/vocab.txt" \
    --corpus "$DATA"/gutenberg/*.txt "$DATA"/wikipedia/enwiki-sample-*.txt "$DATA"/wikitext/wiki.test.raw
