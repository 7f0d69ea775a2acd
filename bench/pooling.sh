#!/bin/sh
# bench/pooling.sh — "Would pooling (mean/max) beat the [CLS] vector?" on
# SST-2 (issue 15, docs/experiments.md). Fine-tunes bert-mini with
# `--pooling cls|mean|max` on subsets of ../shared/data/sst2/train.tsv, from
# scratch and (with PRETRAINED=DIR) from a pretrained model, and reports each
# arm's dev accuracy and its paired difference against [CLS] pooling from the
# same start, with a 95 % bootstrap CI over seeds and dev examples.
#
#   sh bench/pooling.sh                                   from scratch, every 20th and 200th row
#   PRETRAINED=runs/pretrain-mini REGIMES=20 sh bench/pooling.sh
#
# Regimes (REGIMES): N = every N-th row of the training pool, starting at a
# seed-dependent row, the same rows for every arm (paired); EPOCHS_N epochs
# (EPOCHS_20 = 5, EPOCHS_200 = 20, EPOCHS_1 = 1). SELECT_ROWS rows at the
# end of train.tsv are held out of every subset and choose the epoch; dev.tsv
# is scored once, on the chosen model. The scratch arms use the config and
# vocabulary of SCRATCH_CONFIG and SCRATCH_VOCAB (bert-mini, the bert-base
# uncased WordPiece vocabulary); give the pretrained model's own for a
# like-for-like start. Output in OUT (runs/pooling): ft/, correct.tsv and
# results.md. Environment: BERT_SHARED_DATA (../shared/data), POOLINGS
# ("cls mean max"), STARTS ("scratch", and "pretrained" with PRETRAINED;
# STARTS=pretrained skips the scratch arms), SEEDS ("1 2 3"), LR (0: bert finetune's default for the
# start), THREADS (2), PRECISION (fp32), BOOT (2000), BATCH (32), MSL (64).
set -eu
DATA=${BERT_SHARED_DATA:-../shared/data}
OUT=${OUT:-runs/pooling}
POOLINGS=${POOLINGS:-"cls mean max"}
REGIMES=${REGIMES:-"20 200"}
SEEDS=${SEEDS:-"1 2 3"}
EPOCHS_1=${EPOCHS_1:-1}
EPOCHS_20=${EPOCHS_20:-5}
EPOCHS_200=${EPOCHS_200:-20}
SELECT_ROWS=${SELECT_ROWS:-872}
LR=${LR:-0}
THREADS=${THREADS:-2}
PRECISION=${PRECISION:-fp32}
BOOT=${BOOT:-2000}
BATCH=${BATCH:-32}
MSL=${MSL:-64}
PRETRAINED=${PRETRAINED:-}
SCRATCH_CONFIG=${SCRATCH_CONFIG:-configs/bert-mini.json}
SCRATCH_VOCAB=${SCRATCH_VOCAB:-$DATA/bert-mini/vocab.txt}
bert=${BERT:-./bert}

[ -f "$DATA/sst2/train.tsv" ] || { echo "pooling: $DATA/sst2/train.tsv not found (set BERT_SHARED_DATA)" >&2; exit 1; }
[ -z "$PRETRAINED" ] || [ -f "$PRETRAINED/config.json" ] || { echo "pooling: PRETRAINED=$PRETRAINED has no config.json" >&2; exit 1; }
[ -x "$bert" ] || make bert
mkdir -p "$OUT/data" "$OUT/ft"
log() { echo "[$(date +%H:%M:%S)] $*"; }

train_all="$DATA/sst2/train.tsv"
rows=$(($(wc -l < "$train_all") - 1))
select="$OUT/data/select.tsv"; pool="$OUT/data/pool.tsv"
{ head -n 1 "$train_all"; tail -n "$SELECT_ROWS" "$train_all"; } > "$select"
head -n $((rows - SELECT_ROWS + 1)) "$train_all" > "$pool"

starts=${STARTS:-"scratch${PRETRAINED:+ pretrained}"}
case " $starts " in *" pretrained "*) [ -n "$PRETRAINED" ] || { echo "pooling: STARTS has pretrained but PRETRAINED is not set" >&2; exit 1; } ;; esac
correct="$OUT/correct.tsv"   # ARM REGIME SEED EXAMPLE CORRECT, ARM = START-POOLING
: > "$correct"
for regime in $REGIMES; do
    eval "epochs=\${EPOCHS_$regime}"
    for seed in $SEEDS; do
        subset="$OUT/data/train-r$regime-s$seed.tsv"
        awk -v n="$regime" -v s="$seed" 'NR == 1 || (NR - 2 + s) % n == 0' "$pool" > "$subset"
        for start in $starts; do
            for pooling in $POOLINGS; do
                run="$OUT/ft/$start-$pooling-r$regime-s$seed"
                if [ ! -f "$run.dev.tsv" ]; then
                    log "fine-tuning from $start, --pooling $pooling, every ${regime}th row, seed $seed, $epochs epochs"
                    if [ "$start" = scratch ]; then model="--from-scratch --config $SCRATCH_CONFIG --vocab $SCRATCH_VOCAB"
                    else model="--init $PRETRAINED"; fi
                    # shellcheck disable=SC2086
                    "$bert" finetune $model --pooling "$pooling" --train "$subset" --dev "$select" \
                        --text-column sentence --label-column label --out "$run" --overwrite --epochs "$epochs" \
                        --lr "$LR" --batch-size "$BATCH" --max-seq-length "$MSL" --seed "$seed" \
                        --threads "$THREADS" --precision "$PRECISION" > "$run.log" 2>&1 \
                        || { echo "pooling: fine-tuning failed, see $run.log" >&2; exit 1; }
                    "$bert" predict --model "$run" --input "$DATA/sst2/dev.tsv" --output "$run.dev.tsv" \
                        --threads "$THREADS" 2> "$run.predict.log" \
                        || { echo "pooling: predict failed, see $run.predict.log" >&2; exit 1; }
                fi
                awk -F '\t' -v a="$start-$pooling" -v r="$regime" -v s="$seed" '
                    NR == 1 { for (i = 1; i <= NF; i++) { if ($i == "label") L = i; if ($i == "predicted_label") P = i }; next }
                    { print a "\t" r "\t" s "\t" NR - 1 "\t" ($L == $P ? 1 : 0) }' "$run.dev.tsv" >> "$correct"
            done
        done
    done
done

{
    echo "# Pooling on SST-2 ($(date +%Y-%m-%d)): bert-mini, seeds $SEEDS"
    echo ""
    echo "Scratch: $SCRATCH_CONFIG with $SCRATCH_VOCAB.${PRETRAINED:+ Pretrained: $PRETRAINED.}"
    echo "Fine-tuning: lr $LR (0: bert finetune's default for the start), batch $BATCH x $MSL, products in $PRECISION;"
    echo "the epoch is chosen on the last $SELECT_ROWS rows of train.tsv (held out of every subset); dev (872 rows) scored once."
    echo ""
    echo "| rows | start | pooling | dev accuracy, mean ± SD | − cls (same start, paired) | 95 % bootstrap CI |"
    echo "|---|---|---|---|---|---|"
    for regime in $REGIMES; do
        label="every ${regime}th row ($(($(wc -l < "$OUT/data/train-r$regime-s$(echo "$SEEDS" | cut -d ' ' -f 1).tsv") - 1)))"
        [ "$regime" = 1 ] && label="all rows"
        for start in $starts; do
            for pooling in $POOLINGS; do
                stats=$(awk -F '\t' -v arm="$start-$pooling" -v regime="$regime" -f bench/seed_accuracy.awk "$correct")
                [ -n "$stats" ] || continue
                diff="—"; ci="—"
                if [ "$pooling" != cls ]; then
                    # shellcheck disable=SC2046
                    set -- $(awk -F '\t' -v arm="$start-$pooling" -v base="$start-cls" -v regime="$regime" \
                        -v boot="$BOOT" -f bench/paired_bootstrap.awk "$correct")
                    [ "$1" = nan ] || { diff="$1 points"; ci="[$2, $3]"; }
                fi
                # shellcheck disable=SC2086
                set -- $stats
                echo "| $label | $start | $pooling | $1 ± $2 ($3 seeds) | $diff | $ci |"
            done
        done
    done
    echo ""
    echo "872 dev rows cannot certify a difference of less than about 2 points in one run; the CI over seeds"
    echo "and dev examples says how sure each paired difference is."
} > "$OUT/results.md"
cat "$OUT/results.md"
