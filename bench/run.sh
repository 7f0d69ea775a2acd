#!/bin/sh
# bench/run.sh — `make bench`: speed figures of bert.c alone (no Python).
#   1. the training step and the forward pass of bert-tiny, bert-mini and
#      bert-small on synthetic batches (bert bench), on 1 thread and on all
#      cores, with the sgemm peak each is measured against;
#   2. the tokenizer, on the data in ../shared/data when it is present.
# STEPS (default 5) timed steps per run.
set -e
STEPS=${STEPS:-5}
for cfg in bert-tiny bert-mini bert-small; do
    for mode in train infer; do
        for t in 1 0; do
            echo "== $cfg, $mode, $([ "$t" = 0 ] && echo "all cores" || echo "1 thread")"
            ./bert bench --config "configs/$cfg.json" --mode "$mode" --threads "$t" --steps "$STEPS"
        done
    done
done

DATA=${BERT_SHARED_DATA:-../shared/data}
if [ ! -d "$DATA" ]; then
    echo "bench: tokenizer skipped, shared data directory $DATA not found (set BERT_SHARED_DATA)"
    exit 0
fi
echo "== tokenizer (encoding on 1 and all threads; vocabulary training)"
./bert bench-tokenizer --vocab "$DATA/bert-tiny/vocab.txt" \
    --corpus "$DATA"/gutenberg/*.txt "$DATA"/wikipedia/enwiki-sample-*.txt "$DATA"/wikitext/wiki.test.raw

# Data-parallel pretraining: 1 rank × all cores against 2 ranks (skips
# itself without mpirun or the shared data).
sh bench/distributed.sh
