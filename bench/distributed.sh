#!/bin/sh
# bench/distributed.sh — data-parallel pretraining on one machine: P=1 rank
# with all cores' threads against P ranks with cores/P threads each, the
# same global batch, in alternating rounds (the machines are shared and
# noisy). Prints each round's median tokens/s over the timed steps, the
# median share of a step spent summing gradients (allreduce_ms, from
# metrics.jsonl), and the ratio P ranks / 1 rank. Part of `make bench`
# (bench/run.sh) when mpirun is installed; docs/distributed.md reports it.
#
#   CONFIG (configs/bert-mini.json), VOCAB (its vocab.txt in ../shared/data),
#   CORPUS (wikitext), RANKS (2), ROUNDS (3), STEPS (12; the first 2 are not timed),
#   BATCH (32), SEQ (128).
set -e
DATA=${BERT_SHARED_DATA:-../shared/data}
CONFIG=${CONFIG:-configs/bert-mini.json}
VOCAB=${VOCAB:-$DATA/bert-mini/vocab.txt}
CORPUS=${CORPUS:-$DATA/wikitext/wiki.test.raw}
RANKS=${RANKS:-2}
ROUNDS=${ROUNDS:-3}
STEPS=${STEPS:-12}
BATCH=${BATCH:-32}
SEQ=${SEQ:-128}
if ! command -v mpirun >/dev/null 2>&1; then
    echo "bench distributed: skipped, mpirun not found (apt-get install openmpi-bin libopenmpi-dev)"; exit 0
fi
if [ ! -f "$VOCAB" ] || [ ! -f "$CORPUS" ]; then
    echo "bench distributed: skipped, $VOCAB or $CORPUS not found (set BERT_SHARED_DATA)"; exit 0
fi
CORES=$(nproc)
THREADS=$((CORES / RANKS)); [ "$THREADS" -ge 1 ] || THREADS=1
WORK=$(mktemp -d /tmp/bertc-bench-mpi-XXXXXX)
trap 'rm -rf "$WORK"' EXIT
ARGS="pretrain --config $CONFIG --vocab $VOCAB --corpus $CORPUS --steps $STEPS --batch-size $BATCH
      --max-seq-length $SEQ --max-predictions 20 --save-every 0 --eval-fraction 0 --quiet"

# median of the numbers on stdin
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print "nan"; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
# values of KEY in the train records of metrics.jsonl after the first 2 steps
field() { awk -v key="\"$2\": " 'index($0, "\"split\": \"train\"") {
            split($0, a, key); if (a[2] == "") next; split(a[2], b, /[,}]/);
            if (++n > 2) print b[1] }' "$1"; }

echo "== data-parallel pretraining, $CONFIG, batch $BATCH × $SEQ, $STEPS steps, $CORES cores"
printf "%-6s %22s %22s %14s %8s\n" round "1 rank × $CORES threads" "$RANKS ranks × $THREADS thread(s)" "allreduce/step" ratio
for round in $(seq 1 "$ROUNDS"); do
    rm -rf "$WORK/one" "$WORK/many"
    ./bert $ARGS --out "$WORK/one" --threads "$CORES"
    mpirun --allow-run-as-root --oversubscribe -np "$RANKS" ./bert $ARGS --out "$WORK/many" --threads "$THREADS"
    one=$(field "$WORK/one/metrics.jsonl" tokens_per_s | median)
    many=$(field "$WORK/many/metrics.jsonl" tokens_per_s | median)
    reduce_ms=$(field "$WORK/many/metrics.jsonl" allreduce_ms | median)
    step_ms=$(awk -v t="$many" -v b="$BATCH" -v s="$SEQ" 'BEGIN { printf "%.0f", 1000 * b * s / t }')
    share=$(awk -v r="$reduce_ms" -v s="$step_ms" 'BEGIN { printf "%.1f ms (%.1f%%)", r, 100 * r / s }')
    ratio=$(awk -v a="$many" -v b="$one" 'BEGIN { printf "%.3f", a / b }')
    printf "%-6s %18.0f tok/s %18.0f tok/s %14s %8s\n" "$round" "$one" "$many" "$share" "$ratio"
done
