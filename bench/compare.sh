#!/bin/sh
# bench/compare.sh — `make bench-compare`: bert.c against PyTorch on the same
# BERT pretraining step (bench/pytorch_step.py), side by side.
#
# For each config (bert-tiny, bert-mini, bert-small), mode (train, infer) and
# thread count (1, 2), runs `bert bench` and the PyTorch script alternately,
# A B A B … for $ROUNDS rounds, so both see the same machine load, and prints
# the median tokens/s of each, their ratio, and the peak RSS of each.
#
# Environment: ROUNDS (default 3), STEPS (timed steps per run, default 5),
# WARMUP (default 1), CONFIGS, MODES, THREADS (space-separated lists),
# PYTHON (default /usr/bin/python3), BATCH (32), SEQ (128).
set -e
ROUNDS=${ROUNDS:-3}
STEPS=${STEPS:-5}
WARMUP=${WARMUP:-1}
BATCH=${BATCH:-32}
SEQ=${SEQ:-128}
CONFIGS=${CONFIGS:-"bert-tiny bert-mini bert-small"}
MODES=${MODES:-"train infer"}
THREADS=${THREADS:-"1 2"}
PYTHON=${PYTHON:-/usr/bin/python3}

if ! "$PYTHON" -c 'import torch' 2>/dev/null; then
    echo "bench-compare: $PYTHON cannot import torch (apt-get install python3-torch)"
    exit 1
fi
out=$(mktemp -d /tmp/bert-bench-compare.XXXXXX)
trap 'rm -rf "$out"' EXIT

# field FILE LABEL: the number after "LABEL:" in a bench report
field() { sed -n "s|^ *$2: *\([0-9.]*\).*|\1|p" "$1" | head -n 1; }
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

echo "bert.c vs PyTorch $("$PYTHON" -c 'import torch; print(torch.__version__)'): BERT pretraining step, batch $BATCH × seq $SEQ,"
echo "median tokens/s over $ROUNDS alternating rounds of $STEPS steps each"
echo "machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores, $(grep -q avx512f /proc/cpuinfo && echo AVX-512 || echo no AVX-512)"
echo
printf '%-11s %-6s %-8s %12s %12s %7s %12s %12s\n' config mode threads "bert.c tok/s" "torch tok/s" ratio "bert.c RSS" "torch RSS"
for cfg in $CONFIGS; do
  for mode in $MODES; do
    for t in $THREADS; do
      : > "$out/c.tok"; : > "$out/p.tok"; : > "$out/c.rss"; : > "$out/p.rss"
      r=0
      while [ "$r" -lt "$ROUNDS" ]; do
        ./bert bench --config "configs/$cfg.json" --batch "$BATCH" --seq "$SEQ" --threads "$t" \
            --steps "$STEPS" --warmup "$WARMUP" --mode "$mode" --peak-size 0 > "$out/c.txt"
        "$PYTHON" bench/pytorch_step.py --config "configs/$cfg.json" --batch "$BATCH" --seq "$SEQ" --threads "$t" \
            --steps "$STEPS" --warmup "$WARMUP" --mode "$mode" > "$out/p.txt"
        field "$out/c.txt" tokens/s >> "$out/c.tok"; field "$out/p.txt" tokens/s >> "$out/p.tok"
        field "$out/c.txt" "peak RSS" >> "$out/c.rss"; field "$out/p.txt" "peak RSS" >> "$out/p.rss"
        r=$((r + 1))
      done
      c=$(median < "$out/c.tok"); p=$(median < "$out/p.tok")
      crss=$(median < "$out/c.rss"); prss=$(median < "$out/p.rss")
      printf '%-11s %-6s %-8s %12.0f %12.0f %6.2fx %9.0f MB %9.0f MB\n' "$cfg" "$mode" "$t" "$c" "$p" \
          "$(echo "$c $p" | awk '{ print $1 / $2 }')" "$crss" "$prss"
    done
  done
done
