#!/bin/sh
# bench/head_sweep.sh — "Do more heads find more correlations?" (issue 15,
# docs/experiments.md). A head-count sweep at a fixed hidden size on the
# demo's task: for each number of heads and seed, pretrain a BERT on the
# task's unlabelled text (the demo's recipe), fine-tune it on the labelled
# rows, and measure
#   - the held-out masked-LM loss and accuracy at the end of pretraining,
#   - the mean pairwise Jensen-Shannon distance between the heads' attention
#     rows over the dev texts (`bert attention-map --head-distance`), per
#     layer and over all layers, for the pretrained and the fine-tuned model,
#   - the fine-tuned dev accuracy, with all rows and with a tenth of them.
# Every head count sees the same seeds, so the same data order, masking and
# training subsets: differences against 1 head are paired by seed, and the
# accuracy differences get a 95 % bootstrap CI over seeds and dev examples.
#
#   sh bench/head_sweep.sh                        the full sweep (about 2 CPU-hours)
#   HEADS="1 4" SEEDS="1 2" STEPS=1000 sh bench/head_sweep.sh    a smaller one
#
# The epoch is chosen on SELECT_ROWS rows held out of the training file (the
# last ones), and dev is scored once, on the chosen model. Output in OUT
# (runs/head-sweep): pretrain-hH-sS/, ft-hH-sS-{all,tenth}/, results.tsv (one
# line per run) and results.md (the tables). Needs WordNet (wordnet-base, as
# `make demo`). Environment: HIDDEN (256), LAYERS (2), HEADS ("1 2 4 8"),
# SEEDS ("1 2 3"), STEPS (3000), THREADS (2), BOOT (2000), PRECISION (fp32;
# bf16 is about twice as fast where the CPU has AVX512-BF16), and the demo's
# pretraining and fine-tuning settings below.
set -eu
HIDDEN=${HIDDEN:-256}
LAYERS=${LAYERS:-2}
HEADS=${HEADS:-"1 2 4 8"}
SEEDS=${SEEDS:-"1 2 3"}
STEPS=${STEPS:-3000}
THREADS=${THREADS:-2}
PRECISION=${PRECISION:-fp32}
BOOT=${BOOT:-2000}
PRETRAIN_BATCH=${PRETRAIN_BATCH:-32}
PRETRAIN_SEQ=${PRETRAIN_SEQ:-64}
PRETRAIN_LR=${PRETRAIN_LR:-5e-4}
EPOCHS=${EPOCHS:-5}
FEW_EPOCHS=${FEW_EPOCHS:-20}
FINETUNE_LR=${FINETUNE_LR:-2e-4}
SELECT_ROWS=${SELECT_ROWS:-400}
VOCAB_SIZE=${VOCAB_SIZE:-6000}
OUT=${OUT:-runs/head-sweep}
bert=${BERT:-./bert}

[ -x "$bert" ] || make bert
mkdir -p "$OUT"
log() { echo "[$(date +%H:%M:%S)] $*"; }

# ---- data: the demo's WordNet task ----------------------------------------------
[ -f data/generated/wordnet_corpus.txt ] || sh data/prepare_wordnet.sh
corpus=data/generated/wordnet_corpus.txt
train_all=data/generated/wordnet_supersense_train.csv
dev=data/generated/wordnet_supersense_dev.csv
train="$OUT/train.csv"; select="$OUT/select.csv"; few="$OUT/train_tenth.csv"
rows=$(($(wc -l < "$train_all") - 1))
head -n $((rows - SELECT_ROWS + 1)) "$train_all" > "$train"
{ head -n 1 "$train_all"; tail -n "$SELECT_ROWS" "$train_all"; } > "$select"
awk 'NR == 1 || NR % 10 == 2' "$train" > "$few"
[ -f "$OUT/vocab.txt" ] || "$bert" vocab --corpus "$corpus" --size "$VOCAB_SIZE" --out "$OUT/vocab.txt" --quiet
vocab_entries=$(wc -l < "$OUT/vocab.txt" | tr -d ' ')

# ---- runs -------------------------------------------------------------------------
results="$OUT/results.tsv"
: > "$results"
correct="$OUT/correct.tsv"     # heads regime seed example correct(0/1)
: > "$correct"
distance() { "$bert" attention-map --model "$1" --head-distance "$dev" --max-rows 1000 | sed -n 's/^all layers: //p'; }
for heads in $HEADS; do
    config="$OUT/config-h$heads.json"
    sed -e "s/\"vocab_size\": *[0-9]*/\"vocab_size\": $vocab_entries/" \
        -e "s/\"hidden_size\": *[0-9]*/\"hidden_size\": $HIDDEN/" \
        -e "s/\"intermediate_size\": *[0-9]*/\"intermediate_size\": $((4 * HIDDEN))/" \
        -e "s/\"num_hidden_layers\": *[0-9]*/\"num_hidden_layers\": $LAYERS/" \
        -e "s/\"num_attention_heads\": *[0-9]*/\"num_attention_heads\": $heads/" configs/bert-demo.json > "$config"
    for seed in $SEEDS; do
        pre="$OUT/pretrain-h$heads-s$seed"
        if [ ! -f "$pre/model.safetensors" ] || [ ! -f "$pre/done" ]; then
            log "pretraining $heads heads, seed $seed, $STEPS steps"
            resume=""
            ls -d "$pre"/checkpoint-* > /dev/null 2>&1 && resume="--resume $pre"
            # shellcheck disable=SC2086
            "$bert" pretrain --config "$config" --vocab "$OUT/vocab.txt" --corpus "$corpus" --out "$pre" $resume \
                --steps "$STEPS" --batch-size "$PRETRAIN_BATCH" --max-seq-length "$PRETRAIN_SEQ" \
                --lr "$PRETRAIN_LR" --no-nsp --dropout 0 --eval-every "$STEPS" --eval-batches 50 \
                --save-every 1000 --seed "$seed" --threads "$THREADS" --precision "$PRECISION" --quiet > "$pre.log" 2>&1 \
                || { echo "head_sweep: pretraining failed, see $pre.log" >&2; exit 1; }
            touch "$pre/done"
        fi
        eval_line=$(grep '"split": "eval"' "$pre/metrics.jsonl" | tail -n 1)
        mlm_loss=$(echo "$eval_line" | sed -n 's/.*"mlm_loss": *\([0-9.]*\).*/\1/p')
        mlm_acc=$(echo "$eval_line" | sed -n 's/.*"mlm_acc": *\([0-9.]*\).*/\1/p')
        pre_distance=$([ "$heads" -gt 1 ] && distance "$pre" || echo nan)
        for regime in all tenth; do
            ft="$OUT/ft-h$heads-s$seed-$regime"
            rows_file=$train; epochs=$EPOCHS
            [ "$regime" = tenth ] && { rows_file=$few; epochs=$FEW_EPOCHS; }
            if [ ! -f "$ft.dev.csv" ]; then
                log "fine-tuning $heads heads, seed $seed, $regime rows, $epochs epochs"
                "$bert" finetune --init "$pre" --train "$rows_file" --dev "$select" --text-column text \
                    --label-column label --out "$ft" --overwrite --epochs "$epochs" --lr "$FINETUNE_LR" \
                    --batch-size 32 --max-seq-length 64 --seed "$seed" --threads "$THREADS" --precision "$PRECISION" > "$ft.log" 2>&1 \
                    || { echo "head_sweep: fine-tuning failed, see $ft.log" >&2; exit 1; }
                "$bert" predict --model "$ft" --input "$dev" --output "$ft.dev.csv" --threads "$THREADS" 2> "$ft.predict.log" \
                    || { echo "head_sweep: predict failed, see $ft.predict.log" >&2; exit 1; }
            fi
            # The text is the first (quoted) field; label, predicted_label and
            # one probability per class end the line, none of them with commas.
            classes=$(head -n 1 "$ft.dev.csv" | tr ',' '\n' | grep -c '^prob_')
            awk -F ',' -v h="$heads" -v r="$regime" -v s="$seed" -v k="$classes" \
                'NR > 1 { print h "\t" r "\t" s "\t" NR - 1 "\t" ($(NF - k - 1) == $(NF - k) ? 1 : 0) }' \
                "$ft.dev.csv" >> "$correct"
            accuracy=$(awk -F '\t' -v h="$heads" -v r="$regime" -v s="$seed" \
                '$1 == h && $2 == r && $3 == s { n++; c += $5 } END { printf "%.4f", c / n }' "$correct")
            ft_distance=$([ "$heads" -gt 1 ] && distance "$ft" || echo nan)
            printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$heads" "$seed" "$regime" "$mlm_loss" "$mlm_acc" \
                "$pre_distance" "$ft_distance" "$accuracy" >> "$results"
        done
    done
done

# ---- the tables -------------------------------------------------------------------
{
    echo "# Head-count sweep ($(date +%Y-%m-%d)): hidden $HIDDEN, $LAYERS layers, heads $HEADS, seeds $SEEDS"
    echo ""
    echo "Products in $PRECISION."
    echo "Pretraining: $STEPS steps of $PRETRAIN_BATCH x $PRETRAIN_SEQ on $corpus, lr $PRETRAIN_LR, --no-nsp --dropout 0."
    echo "Fine-tuning: lr $FINETUNE_LR, $EPOCHS epochs on $(($(wc -l < "$train") - 1)) rows, $FEW_EPOCHS on $(($(wc -l < "$few") - 1));"
    echo "epoch chosen on $SELECT_ROWS held-out train rows, dev ($(($(wc -l < "$dev") - 1)) rows) scored once."
    echo ""
    echo "| heads | held-out MLM loss | MLM accuracy | head distance, pretrained | head distance, fine-tuned (all rows) | dev accuracy, all rows | dev accuracy, a tenth |"
    echo "|---|---|---|---|---|---|---|"
    awk -F '\t' '
        function add(name, key, v) { if (v != "nan") { s[name, key] += v; q[name, key] += v * v; n[name, key]++ } }
        function show(name, key, digits,   m, sd) {
            if (!n[name, key]) return "—"
            m = s[name, key] / n[name, key]
            sd = n[name, key] > 1 ? sqrt((q[name, key] - n[name, key] * m * m) / (n[name, key] - 1)) : 0
            return sprintf("%." digits "f ± %." digits "f", m, sd)
        }
        {
            h = $1; hs[h] = 1
            if ($3 == "all") { add("loss", h, $4); add("acc", h, $5); add("dpre", h, $6); add("dft", h, $7) }
            add("ft_" $3, h, $8)
        }
        END {
            for (h = 1; h <= 64; h++) if (h in hs)
                printf "| %d | %s | %s | %s | %s | %s | %s |\n", h, show("loss", h, 3), show("acc", h, 4), \
                    show("dpre", h, 3), show("dft", h, 3), show("ft_all", h, 4), show("ft_tenth", h, 4)
        }' "$results"
    echo ""
    echo "Mean ± SD over seeds. Paired differences against 1 head (same seed): MLM loss as mean ± SD of the"
    echo "differences, dev accuracy with a 95 % bootstrap CI (seeds and dev examples resampled, $BOOT times)."
    echo ""
    echo "| heads | MLM loss − 1 head | accuracy − 1 head, all rows | 95 % CI | accuracy − 1 head, a tenth | 95 % CI |"
    echo "|---|---|---|---|---|---|"
    for heads in $HEADS; do
        [ "$heads" = 1 ] && continue
        loss=$(awk -F '\t' -v h="$heads" '
            $3 == "all" { loss[$1, $2] = $4; seeds[$2] = 1 }
            END {
                for (s in seeds) if ((h, s) in loss && (1, s) in loss) { d = loss[h, s] - loss[1, s]; m += d; q += d * d; k++ }
                if (!k) { print "—"; exit }
                m /= k; sd = k > 1 ? sqrt((q - k * m * m) / (k - 1)) : 0
                printf "%+.3f ± %.3f", m, sd
            }' "$results")
        row="| $heads | $loss"
        for regime in all tenth; do
            set -- $(awk -F '\t' -v arm="$heads" -v base=1 -v regime="$regime" -v boot="$BOOT" \
                -f bench/paired_bootstrap.awk "$correct")
            row="$row | $1 points | [$2, $3]"
        done
        echo "$row |"
    done
} > "$OUT/results.md"
cat "$OUT/results.md"
