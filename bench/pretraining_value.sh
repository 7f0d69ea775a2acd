#!/bin/sh
# bench/pretraining_value.sh — does pretraining pay? (run by hand; not part of
# make test). Fine-tunes bert-mini on SST-2 from scratch and from pretrained
# models, with identical fine-tuning, several seeds and paired training
# subsets, and reports each arm's dev accuracy with the paired difference
# against the scratch arm of the same vocabulary and its 95 % bootstrap CI.
# Results and how to read them: docs/finetuning.md, "Does pretraining pay?".
#
#   sh bench/pretraining_value.sh            everything below (many CPU-hours)
#   ARMS="scratch8k general8k" REGIMES=200 SEEDS="1 2 3" PRETRAIN_MINUTES=30 \
#       sh bench/pretraining_value.sh       a smaller run
#
# Arms (ARMS, all bert-mini, configs/bert-mini.json):
#   scratch30k   random init, the bert-base-uncased vocabulary (30,522)
#   scratch8k    random init, an 8,000-entry vocabulary trained by `bert vocab`
#                on the pretraining text (general corpus + SST-2 train sentences)
#   general8k    pretrained on Gutenberg + Wikipedia (../shared/data), 8k
#                vocabulary, --no-nsp --dropout 0, PRETRAIN_MINUTES of wall time
#   task8k       the same with SST-2's *train* sentences (never dev) as about
#                TASK_SHARE of the tokens (--corpus FILE:W)
#   long8k       task8k's recipe for LONG_MINUTES
#   adapt8k      general8k's model pretrained further on the SST-2 train
#                sentences alone for ADAPT_MINUTES at ADAPT_LR (--init: a new
#                schedule; task-adaptive pretraining, Gururangan et al. 2020)
#   taskonly8k   pretrained from random init on the SST-2 train sentences
#                alone, TASKONLY_MINUTES at PRETRAIN_LR: `make demo`'s recipe,
#                no general text at all
# Regimes (REGIMES): 1 = every training row (EPOCHS_1 epochs), 20 = every 20th
# row (EPOCHS_20), 200 = every 200th (EPOCHS_200). The subset of seed s is the
# same for every arm (paired). SELECT_ROWS rows at the end of train.tsv are
# held out of every subset: the epoch (bert finetune keeps the best) and the
# learning rate (each of LRS) are chosen on them; dev.tsv is scored once, on
# the chosen model.
# Output in OUT (runs/pretraining-value): pretrain-*/ (models, metrics.jsonl),
# ft/ARM-rREGIME-sSEED-lrLR/ (fine-tuned models), dev predictions, and
# results.md, the table. Environment: BERT_SHARED_DATA (../shared/data),
# THREADS (2), BATCH (32), MSL (64), BOOT (2000 bootstrap resamples),
# PRETRAIN_PRECISION (fp32; bf16 pretrains about 1.6x faster on a CPU with
# AVX512-BF16, docs/bf16.md), PRETRAIN_MASK_PROB (0.15, BERT's; --mask-prob,
# with --max-predictions following it).
set -eu
DATA=${BERT_SHARED_DATA:-../shared/data}
OUT=${OUT:-runs/pretraining-value}
THREADS=${THREADS:-2}
ARMS=${ARMS:-"scratch30k scratch8k general8k task8k long8k"}
REGIMES=${REGIMES-"1 20 200"}   # REGIMES="" pretrains only
SEEDS=${SEEDS:-"1 2 3 4 5"}
LRS=${LRS:-"1e-4 3e-4"}
EPOCHS_1=${EPOCHS_1:-1}
EPOCHS_20=${EPOCHS_20:-5}
EPOCHS_200=${EPOCHS_200:-20}
SELECT_ROWS=${SELECT_ROWS:-872}
PRETRAIN_MINUTES=${PRETRAIN_MINUTES:-120}
LONG_MINUTES=${LONG_MINUTES:-480}
ADAPT_MINUTES=${ADAPT_MINUTES:-45}
ADAPT_LR=${ADAPT_LR:-3e-4}
TASKONLY_MINUTES=${TASKONLY_MINUTES:-45}
TASK_SHARE=${TASK_SHARE:-0.3}
PRETRAIN_LR=${PRETRAIN_LR:-1e-3}
PRETRAIN_BATCH=${PRETRAIN_BATCH:-64}
PRETRAIN_MSL=${PRETRAIN_MSL:-128}
PRETRAIN_PRECISION=${PRETRAIN_PRECISION:-fp32}
PRETRAIN_MASK_PROB=${PRETRAIN_MASK_PROB:-0.15}
VOCAB8K=${VOCAB8K:-8000}
BATCH=${BATCH:-32}
MSL=${MSL:-64}
BOOT=${BOOT:-2000}
bert=${BERT:-./bert}

[ -f "$DATA/sst2/train.tsv" ] || { echo "pretraining_value: $DATA/sst2/train.tsv not found (set BERT_SHARED_DATA)" >&2; exit 1; }
[ -x "$bert" ] || make bert
mkdir -p "$OUT/data" "$OUT/ft"
log() { echo "[$(date +%H:%M:%S)] $*"; }

# ---- data ---------------------------------------------------------------------
# The books and articles, with one book held out for the MLM figures.
general=$(ls "$DATA"/gutenberg/*.txt "$DATA"/wikipedia/*.txt 2>/dev/null | sort)
heldout_book=$(ls "$DATA"/gutenberg/*.txt | sort | tail -n 1)
general=$(echo "$general" | grep -v -x -F "$heldout_book")
train_all="$DATA/sst2/train.tsv"
rows=$(($(wc -l < "$train_all") - 1))
select="$OUT/data/select.tsv"                        # the last SELECT_ROWS rows: model selection
pool="$OUT/data/pool.tsv"                            # the rest: the training subsets come from here
head -n 1 "$train_all" > "$select"
tail -n "$SELECT_ROWS" "$train_all" >> "$select"
head -n $((rows + 1 - SELECT_ROWS)) "$train_all" > "$pool"
# SST-2's training sentences as pretraining text, a paragraph each (the
# corpus is read with --prose; the dev sentences are never used). Held-out
# MLM figures come from a separate book (--eval-corpus).
task_text="$OUT/data/sst2_train_sentences.txt"
awk -F '\t' 'NR > 1 { print $1; print "" }' "$pool" > "$task_text"
vocab30k="$DATA/bert-tiny/vocab.txt"
vocab8k="$OUT/data/vocab8k.txt"
if [ ! -s "$vocab8k" ]; then
    log "vocabulary: $VOCAB8K entries from the general corpus and the SST-2 train sentences"
    # shellcheck disable=SC2086
    "$bert" vocab --corpus $general "$task_text" --size "$VOCAB8K" --out "$vocab8k" --quiet
fi
config8k="$OUT/data/bert-mini-8k.json"
sed "s/\"vocab_size\": *[0-9]*/\"vocab_size\": $(wc -l < "$vocab8k" | tr -d ' ')/" configs/bert-mini.json > "$config8k"
# The task weight that makes the SST-2 text TASK_SHARE of the tokens, by bytes.
general_bytes=$(cat $general | wc -c)
task_bytes=$(wc -c < "$task_text")
task_weight=$(awk -v s="$TASK_SHARE" -v g="$general_bytes" -v t="$task_bytes" 'BEGIN { printf "%.2f", s * g / ((1 - s) * t) }')

# ---- pretraining --------------------------------------------------------------
pretrain() {   # NAME MINUTES LR "MODEL FLAGS" [corpus arguments]
    name=$1; minutes=$2; lr=$3; model=$4; shift 4
    dir="$OUT/pretrain-$name"
    if [ -f "$dir/model.safetensors" ] && [ -f "$dir/done" ]; then return; fi
    log "pretraining $name: $minutes min, $PRETRAIN_PRECISION, --no-nsp --dropout 0, batch $PRETRAIN_BATCH x $PRETRAIN_MSL, lr $lr, mask $PRETRAIN_MASK_PROB"
    start=$(date +%s)
    resume=""
    [ -d "$dir" ] && ls -d "$dir"/checkpoint-* > /dev/null 2>&1 && resume="--resume $dir"
    # shellcheck disable=SC2086
    "$bert" pretrain $model --corpus "$@" --prose \
        --eval-corpus "$heldout_book" --out "$dir" $resume --time-budget "$minutes" --no-nsp --dropout 0 \
        --batch-size "$PRETRAIN_BATCH" --max-seq-length "$PRETRAIN_MSL" --lr "$lr" --mask-prob "$PRETRAIN_MASK_PROB" \
        --eval-every 500 --eval-batches 20 --save-every 500 --threads "$THREADS" \
        --precision "$PRETRAIN_PRECISION" --quiet
    echo "$(( $(date +%s) - start )) $THREADS" > "$dir/done"   # wall seconds, threads
}
fresh="--config $config8k --vocab $vocab8k"
for arm in $ARMS; do
    case $arm in
        # shellcheck disable=SC2086
        general8k) pretrain general "$PRETRAIN_MINUTES" "$PRETRAIN_LR" "$fresh" $general ;;
        # shellcheck disable=SC2086
        task8k) pretrain task "$PRETRAIN_MINUTES" "$PRETRAIN_LR" "$fresh" "$task_text:$task_weight" $general ;;
        # shellcheck disable=SC2086
        long8k) pretrain long "$LONG_MINUTES" "$PRETRAIN_LR" "$fresh" "$task_text:$task_weight" $general ;;
        adapt8k)
            [ -f "$OUT/pretrain-general/done" ] || pretrain general "$PRETRAIN_MINUTES" "$PRETRAIN_LR" "$fresh" $general
            pretrain adapt "$ADAPT_MINUTES" "$ADAPT_LR" "--init $OUT/pretrain-general" "$task_text" ;;
        taskonly8k) pretrain taskonly "$TASKONLY_MINUTES" "$PRETRAIN_LR" "$fresh" "$task_text" ;;
    esac
done

# ---- fine-tuning --------------------------------------------------------------
model_flags() {   # ARM
    case $1 in
        scratch30k) echo "--from-scratch --config configs/bert-mini.json --vocab $vocab30k" ;;
        scratch8k) echo "--from-scratch --config $config8k --vocab $vocab8k" ;;
        general8k) echo "--init $OUT/pretrain-general" ;;
        task8k) echo "--init $OUT/pretrain-task" ;;
        long8k) echo "--init $OUT/pretrain-long" ;;
        adapt8k) echo "--init $OUT/pretrain-adapt" ;;
        taskonly8k) echo "--init $OUT/pretrain-taskonly" ;;
        *) echo "pretraining_value: unknown arm '$1'" >&2; exit 2 ;;
    esac
}
json_accuracy() { sed -n 's/.*"accuracy":[[:space:]]*\([0-9.]*\).*/\1/p' "$1" | head -n 1; }
for regime in $REGIMES; do
    eval "epochs=\${EPOCHS_$regime}"
    for seed in $SEEDS; do
        subset="$OUT/data/train-r$regime-s$seed.tsv"
        # every REGIME-th row, starting at a seed-dependent row: the same rows for every arm
        awk -v n="$regime" -v s="$seed" 'NR == 1 || (NR - 2 + s) % n == 0' "$pool" > "$subset"
        for arm in $ARMS; do
            best_lr=""; best_acc=-1
            for lr in $LRS; do
                run="$OUT/ft/$arm-r$regime-s$seed-lr$lr"
                if [ ! -f "$run/eval_report.json" ]; then
                    log "fine-tuning $arm, every ${regime}th row, seed $seed, lr $lr, $epochs epochs"
                    # shellcheck disable=SC2046
                    "$bert" finetune $(model_flags "$arm") --train "$subset" --dev "$select" --text-column sentence \
                        --label-column label --out "$run" --overwrite --epochs "$epochs" --lr "$lr" \
                        --batch-size "$BATCH" --max-seq-length "$MSL" --seed "$seed" --threads "$THREADS" \
                        > "$run.log" 2>&1 || { echo "failed: see $run.log" >&2; exit 1; }
                fi
                acc=$(json_accuracy "$run/eval_report.json")
                if awk -v a="$acc" -v b="$best_acc" 'BEGIN { exit !(a > b) }'; then best_acc=$acc; best_lr=$lr; fi
            done
            chosen="$OUT/ft/$arm-r$regime-s$seed-lr$best_lr"
            pred="$OUT/ft/$arm-r$regime-s$seed.dev.tsv"
            "$bert" predict --model "$chosen" --input "$DATA/sst2/dev.tsv" --output "$pred" --threads "$THREADS" \
                2> "$pred.log" || { echo "failed: see $pred.log" >&2; exit 1; }
            echo "$best_lr" > "$OUT/ft/$arm-r$regime-s$seed.lr"
        done
    done
done

# ---- the table ----------------------------------------------------------------
# correct.tsv: arm regime seed example correct(0/1)
correct="$OUT/correct.tsv"
: > "$correct"
for f in "$OUT"/ft/*.dev.tsv; do
    [ -f "$f" ] || continue
    base=$(basename "$f" .dev.tsv)        # ARM-rREGIME-sSEED
    arm=${base%%-r*}; rest=${base#*-r}; regime=${rest%%-s*}; seed=${rest#*-s}
    awk -F '\t' -v a="$arm" -v r="$regime" -v s="$seed" '
        NR == 1 { for (i = 1; i <= NF; i++) { if ($i == "label") L = i; if ($i == "predicted_label") P = i }; next }
        { print a "\t" r "\t" s "\t" NR - 1 "\t" ($L == $P ? 1 : 0) }' "$f" >> "$correct"
done
{
    echo "# Does pretraining pay? bert-mini on SST-2 ($(date +%Y-%m-%d))"
    echo ""
    echo "Seeds: $SEEDS. Learning rates tried: $LRS (chosen per run on $SELECT_ROWS held-out train rows, as is the epoch)."
    echo "Pretraining: $PRETRAIN_PRECISION, --no-nsp --dropout 0, batch $PRETRAIN_BATCH x $PRETRAIN_MSL, lr $PRETRAIN_LR, mask probability $PRETRAIN_MASK_PROB, $PRETRAIN_MINUTES min"
    echo "(long8k: $LONG_MINUTES min); task8k/long8k read the SST-2 train sentences with weight $task_weight (about $TASK_SHARE of the tokens)."
    echo "adapt8k: pretrain-general's model, then $ADAPT_MINUTES min more on the SST-2 train sentences alone at lr $ADAPT_LR (CPU-hours below are its own)."
    echo "taskonly8k: random init, $TASKONLY_MINUTES min on the SST-2 train sentences alone at lr $PRETRAIN_LR."
    echo ""
    for name in general task long adapt taskonly; do
        dir="$OUT/pretrain-$name"
        [ -f "$dir/metrics.jsonl" ] || continue
        secs="?"; threads=""
        [ -f "$dir/done" ] && read -r secs threads < "$dir/done"
        awk -v n="$name" -v t="$secs" -v th="${threads:-$THREADS}" -v b="$PRETRAIN_BATCH" -v m="$PRETRAIN_MSL" '
            /"split": "train"/ { match($0, /"step": [0-9]+/); steps = substr($0, RSTART + 8, RLENGTH - 8) }
            /"split": "eval"/ { e = $0 }
            END {
                match(e, /"mlm_acc": [0-9.]+/); acc = substr(e, RSTART + 11, RLENGTH - 11)
                match(e, /"mlm_floor_acc": [0-9.]+/); fl = substr(e, RSTART + 17, RLENGTH - 17)
                printf "- pretrain-%s: %d steps, %.1f M tokens, %s s (%.2f CPU-h at %d threads); held-out MLM accuracy %s, context-free floor %s\n", \
                    n, steps, steps * b * m / 1e6, t, t * th / 3600, th, acc, fl
            }' "$dir/metrics.jsonl"
    done
    echo ""
    echo "| regime | arm | dev accuracy, mean ± SD | paired difference vs scratch (same vocab) | 95 % bootstrap CI |"
    echo "|---|---|---|---|---|"
    for regime in $REGIMES; do
        for arm in scratch30k scratch8k general8k task8k long8k adapt8k taskonly8k; do
            stats=$(awk -F '\t' -v arm="$arm" -v regime="$regime" -f bench/seed_accuracy.awk "$correct")
            [ -n "$stats" ] || continue
            diff="—"; ci="—"
            case $arm in
                scratch*) ;;
                *)  # against the scratch arm with the same (8k) vocabulary
                    set -- $(awk -F '\t' -v arm="$arm" -v base=scratch8k -v regime="$regime" -v boot="$BOOT" \
                        -f bench/paired_bootstrap.awk "$correct")
                    [ "$1" = nan ] || { diff="$1 points"; ci="[$2, $3]"; } ;;
            esac
            set -- $stats
            label="every ${regime}th row"; [ "$regime" = 1 ] && label="all rows"
            echo "| $label | $arm | $1 ± $2 ($3 seeds) | $diff | $ci |"
        done
    done
    echo ""
    echo "872 dev rows cannot certify a difference of less than about 2 points in one run; the bootstrap CI"
    echo "over seeds and dev examples says how sure the paired difference is."
} > "$OUT/results.md"
cat "$OUT/results.md"
