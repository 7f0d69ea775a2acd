#!/bin/sh
# bench/sst2.sh — SST-2 fine-tuning benchmark (run by hand; not part of make test).
# Fine-tunes configs/bert-mini.json on ../shared/data/sst2/train.tsv and
# evaluates on dev.tsv, (a) from scratch and (b) from each bert.c pretraining
# checkpoint given as an argument, with the same budget, and prints dev
# accuracy, macro-F1 and wall time of each.
#
#   sh bench/sst2.sh [PRETRAINED_DIR...]
#
# Several directories (e.g. a run's checkpoint-N/ folders) give a curve of
# pretraining steps against fine-tuned accuracy; SCRATCH=0 skips (a).
# EVERY=N fine-tunes on every N-th training row only (a low-resource run).
#
# A checkpoint for (b) comes from `bert pretrain`, e.g.
#   ./bert pretrain --config configs/bert-mini.json --vocab ../shared/data/bert-tiny/vocab.txt \
#       --corpus ../shared/data/gutenberg/*.txt --prose --out runs/pretrain-mini --steps N
# Environment: BERT_SHARED_DATA (../shared/data), OUT (runs/sst2), THREADS (2),
# and the budget EPOCHS, LR, BATCH, MSL, SEED (defaults below). With these defaults
# (1 epoch, lr 1e-4, batch 32, max_seq_length 64) (a) reached 0.8039 dev accuracy
# in 1220 s (55 examples/s, THREADS=1 on 2 shared cores); see docs/finetuning.md.
set -e
DATA=${BERT_SHARED_DATA:-../shared/data}
OUT=${OUT:-runs/sst2}
THREADS=${THREADS:-2}
EPOCHS=${EPOCHS:-1}
LR=${LR:-1e-4}
BATCH=${BATCH:-32}
MSL=${MSL:-64}
SEED=${SEED:-42}
SCRATCH=${SCRATCH:-1}
EVERY=${EVERY:-1}
if [ ! -f "$DATA/sst2/train.tsv" ]; then
    echo "sst2: $DATA/sst2/train.tsv not found (set BERT_SHARED_DATA)"; exit 1
fi
[ -x ./bert ] || make bert
mkdir -p "$OUT"
train="$DATA/sst2/train.tsv"
if [ "$EVERY" != 1 ]; then
    train="$OUT/train-every-$EVERY.tsv"
    awk -v every="$EVERY" 'NR == 1 || (NR - 2) % every == 0' "$DATA/sst2/train.tsv" > "$train"
fi

run() {  # name, then the model-source flags
    name=$1; shift
    rm -rf "${OUT:?}/$name"
    start=$(date +%s)
    ./bert finetune "$@" --train "$train" --dev "$DATA/sst2/dev.tsv" \
        --text-column sentence --label-column label --out "$OUT/$name" \
        --epochs "$EPOCHS" --lr "$LR" --batch-size "$BATCH" --max-seq-length "$MSL" \
        --seed "$SEED" --threads "$THREADS" > "$OUT/$name.log"
    end=$(date +%s)
    ./bert eval --model "$OUT/$name" --data "$DATA/sst2/dev.tsv" --threads "$THREADS" > "$OUT/$name.eval"
    rate=$(sed -n 's/^done: .*steps, \([0-9.]*\) examples\/s.*/\1/p' "$OUT/$name.log")
    sed -n "s/^examples .*accuracy \([0-9.]*\)   macro-F1 \([0-9.]*\)/$name: dev accuracy \1  macro-F1 \2/p" \
        "$OUT/$name.eval" | tr -d '\n'
    echo "  time $((end - start)) s  ($rate examples/s)"
}

echo "SST-2, bert-mini, $(($(wc -l < "$train") - 1)) training rows, epochs $EPOCHS, lr $LR, batch $BATCH, max_seq_length $MSL, seed $SEED, threads $THREADS"
[ "$SCRATCH" = 0 ] || run scratch --from-scratch --config configs/bert-mini.json --vocab "$DATA/bert-tiny/vocab.txt"
[ $# -gt 0 ] || echo "pretrained: skipped (give bert pretrain output directories as arguments)"
for dir in "$@"; do
    run "pretrained-$(basename "$dir")" --init "$dir"
done
