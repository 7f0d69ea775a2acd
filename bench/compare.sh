#!/bin/sh
# bench/compare.sh — `make bench-compare`: bert.c against PyTorch on the same
# BERT pretraining step (bench/pytorch_step.py), side by side.
#
# For each config (bert-tiny, bert-mini, bert-small), mode (train, infer) and
# thread count (1, 2), runs `bert bench` and the PyTorch script alternately,
# A B A B … for $ROUNDS rounds, so both see the same machine load, and prints
# the median tokens/s of each, their ratio, and the peak RSS of each.
#
# PyTorch runs twice per round: "torch" as Debian installs it (its matrix
# products in BLIS with the kernels and the one thread BLIS picks by itself,
# how the issue's baseline was measured) and "torch+" with BLIS told to use
# its AVX-512 kernels and --threads threads, like bert.c (pytorch_step.py's
# default; --plain-blas gives the first). TORCH_BLAS="plain tuned" by default.
#
# On a CPU with AVX512-BF16 two more columns pit `bert bench --precision
# bf16` against PyTorch under torch.autocast(bfloat16) (pytorch_step.py
# --bf16; torch's tuned BLIS as torch+, though autocast's products go to
# oneDNN): BF16=0 leaves them out.
#
# Environment: ROUNDS (default 3), STEPS (timed steps per run, default 5),
# WARMUP (default 1), CONFIGS, MODES, THREADS, TORCH_BLAS (space-separated
# lists), PYTHON (default /usr/bin/python3), BATCH (32), SEQ (128).
set -e
ROUNDS=${ROUNDS:-3}
STEPS=${STEPS:-5}
WARMUP=${WARMUP:-1}
BATCH=${BATCH:-32}
SEQ=${SEQ:-128}
CONFIGS=${CONFIGS:-"bert-tiny bert-mini bert-small"}
MODES=${MODES:-"train infer"}
THREADS=${THREADS:-"1 2"}
TORCH_BLAS=${TORCH_BLAS:-"plain tuned"}
PYTHON=${PYTHON:-/usr/bin/python3}
BF16=${BF16:-$(grep -q avx512_bf16 /proc/cpuinfo && echo 1 || echo 0)}

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
echo "torch: BLIS defaults (as Debian installs it); torch+: BLIS AVX-512 kernels and --threads threads"
echo
header=$(printf '%-11s %-6s %-7s %12s' config mode threads "bert.c tok/s")
for b in $TORCH_BLAS; do
    name=$([ "$b" = plain ] && echo torch || echo torch+)
    header="$header$(printf ' %12s %7s' "$name tok/s" ratio)"
done
[ "$BF16" = 1 ] && header="$header$(printf ' %12s %12s %7s' "c bf16 tok/s" "torch bf16" ratio)"
header="$header$(printf ' %11s' "bert.c RSS")"
for b in $TORCH_BLAS; do
    name=$([ "$b" = plain ] && echo torch || echo torch+)
    header="$header$(printf ' %11s' "$name RSS")"
done
echo "$header"
for cfg in $CONFIGS; do
  for mode in $MODES; do
    for t in $THREADS; do
      rm -f "$out"/*.tok "$out"/*.rss
      r=0
      while [ "$r" -lt "$ROUNDS" ]; do
        ./bert bench --config "configs/$cfg.json" --batch "$BATCH" --seq "$SEQ" --threads "$t" \
            --steps "$STEPS" --warmup "$WARMUP" --mode "$mode" --peak-size 0 > "$out/c.txt"
        field "$out/c.txt" tokens/s >> "$out/c.tok"; field "$out/c.txt" "peak RSS" >> "$out/c.rss"
        for b in $TORCH_BLAS; do
          "$PYTHON" bench/pytorch_step.py --config "configs/$cfg.json" --batch "$BATCH" --seq "$SEQ" \
              --threads "$t" --steps "$STEPS" --warmup "$WARMUP" --mode "$mode" \
              $([ "$b" = plain ] && echo --plain-blas) > "$out/$b.txt"
          field "$out/$b.txt" tokens/s >> "$out/$b.tok"; field "$out/$b.txt" "peak RSS" >> "$out/$b.rss"
        done
        if [ "$BF16" = 1 ]; then
          ./bert bench --config "configs/$cfg.json" --batch "$BATCH" --seq "$SEQ" --threads "$t" \
              --steps "$STEPS" --warmup "$WARMUP" --mode "$mode" --peak-size 0 --precision bf16 > "$out/cb.txt"
          field "$out/cb.txt" tokens/s >> "$out/cb.tok"
          "$PYTHON" bench/pytorch_step.py --config "configs/$cfg.json" --batch "$BATCH" --seq "$SEQ" \
              --threads "$t" --steps "$STEPS" --warmup "$WARMUP" --mode "$mode" --bf16 > "$out/tb.txt"
          field "$out/tb.txt" tokens/s >> "$out/tb.tok"
        fi
        r=$((r + 1))
      done
      c=$(median < "$out/c.tok")
      line=$(printf '%-11s %-6s %-7s %12.0f' "$cfg" "$mode" "$t" "$c")
      for b in $TORCH_BLAS; do
        p=$(median < "$out/$b.tok")
        line="$line$(printf ' %12.0f %6.2fx' "$p" "$(echo "$c $p" | awk '{ print $1 / $2 }')")"
      done
      if [ "$BF16" = 1 ]; then
        cb=$(median < "$out/cb.tok"); tb=$(median < "$out/tb.tok")
        line="$line$(printf ' %12.0f %12.0f %6.2fx' "$cb" "$tb" "$(echo "$cb $tb" | awk '{ print $1 / $2 }')")"
      fi
      line="$line$(printf ' %8.0f MB' "$(median < "$out/c.rss")")"
      for b in $TORCH_BLAS; do
        line="$line$(printf ' %8.0f MB' "$(median < "$out/$b.rss")")"
      done
      echo "$line"
    done
  done
done

