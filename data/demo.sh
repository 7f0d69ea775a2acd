#!/bin/sh
# demo.sh — the end-to-end demo run by `make demo` (after `make deps all`):
# WordNet text -> vocabulary -> a few minutes of pretraining a tiny BERT ->
# fine-tuning it on a supersense classification task, next to the same model
# fine-tuned from random initialisation with the same budget; then both again
# with a tenth of the labelled rows, where pretraining matters most.
#
#   sh data/demo.sh            data from WordNet (Debian package wordnet-base)
#   sh data/demo.sh --sample   the small samples committed in data/ (a quick
#                              smoke run; its numbers mean little)
#
# Budgets can be changed through the environment, e.g. for a quick try:
#   DEMO_PRETRAIN_STEPS=20 DEMO_EPOCHS=1 sh data/demo.sh
# Output goes to runs/demo/, or DEMO_OUT (removed and rebuilt on every run).
set -eu
cd "$(dirname "$0")/.."

PRETRAIN_STEPS=${DEMO_PRETRAIN_STEPS:-5000}  # ~4 min at the ~45k tokens/s measured on 2 idle cores
PRETRAIN_BATCH=${DEMO_PRETRAIN_BATCH:-32}
PRETRAIN_SEQ=${DEMO_PRETRAIN_SEQ:-64}        # the glosses are short: ~4 sentences per 64 tokens
PRETRAIN_LR=${DEMO_PRETRAIN_LR:-5e-4}        # 1e-3 collapsed every hidden state to one vector (measured); 1e-4 is bert-base's
PRETRAIN_WARMUP=${DEMO_PRETRAIN_WARMUP:-$((PRETRAIN_STEPS / 10))}  # 10% of the steps
PRETRAIN_FLAGS=${DEMO_PRETRAIN_FLAGS:-"--no-nsp --dropout 0"}  # the small-budget recipe (docs/pretraining.md)
EPOCHS=${DEMO_EPOCHS:-5}                     # fine-tuning, the same for both runs
FEW_EPOCHS=${DEMO_FEW_EPOCHS:-20}            # the 10%-of-labels runs: 400 rows need more passes
FINETUNE_LR=${DEMO_FINETUNE_LR:-2e-4}        # tiny models: 1e-4..3e-4 (2e-5 is bert-base's)
FINETUNE_BATCH=${DEMO_FINETUNE_BATCH:-32}
FINETUNE_SEQ=${DEMO_FINETUNE_SEQ:-64}        # the longest gloss is ~70 tokens, the mean ~17
VOCAB_SIZE=${DEMO_VOCAB_SIZE:-6000}
SEED=${DEMO_SEED:-1}
THREADS=${DEMO_THREADS:-$(nproc 2>/dev/null || echo 2)}
WORDNET=${WORDNET_DIR:-/usr/share/wordnet}   # where wordnet-base puts data.noun etc.

out=${DEMO_OUT:-runs/demo}
bert=${DEMO_BERT:-./bert}   # DEMO_BERT: another build, e.g. for testing this script
mode=wordnet
case "${1:-}" in
    "") ;;
    --sample) mode=sample ;;
    -h|--help) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "demo.sh: unknown option '$1' (usage: sh data/demo.sh [--sample])" >&2; exit 2 ;;
esac

steps=6
fail() { echo "" >&2; echo "demo: FAILED: $*" >&2; exit 1; }
step_start=0
step() {   # N TITLE
    step_start=$(date +%s)
    echo ""
    echo "=== $1/$steps $2"
}
step_done() { echo "--- done in $(( $(date +%s) - step_start )) s"; }
# The first number after "KEY": in a JSON file (the top-level figures of eval_report.json).
json_number() {
    awk -v key="\"$2\"" '
        { s = s $0 " " }
        END {
            i = index(s, key); if (i == 0) exit 1
            s = substr(s, i + length(key))
            if (!match(s, /^[ \t]*:[ \t]*-?[0-9.]+([eE][-+]?[0-9]+)?/)) exit 1
            v = substr(s, RSTART, RLENGTH); sub(/^[ \t]*:[ \t]*/, "", v); print v
        }' "$1"
}

[ -x "$bert" ] || fail "$bert not found: run 'make' first (make demo does)"
for cmd in vocab pretrain finetune; do
    "$bert" "$cmd" --help > /dev/null 2>&1 || fail "this build of bert has no working 'bert $cmd' command"
done
demo_start=$(date +%s)
rm -rf "$out"
mkdir -p "$out"

if [ "$mode" = wordnet ]; then
    if [ ! -r "$WORDNET/data.noun" ]; then
        echo "demo: WordNet (Debian package wordnet-base) is not installed ($WORDNET/data.noun not found). Install it with:" >&2
        echo "  sudo apt-get install -y wordnet-base" >&2
        echo "(or run 'sh data/demo.sh --sample' for a quick run on the small committed samples)" >&2
        exit 1
    fi
    step 1 "preparing data: WordNet glosses -> data/generated/"
    sh data/prepare_wordnet.sh --wordnet "$WORDNET" || fail "data preparation (data/prepare_wordnet.sh)"
    corpus=data/generated/wordnet_corpus.txt
    train=data/generated/wordnet_supersense_train.csv
    dev=data/generated/wordnet_supersense_dev.csv
else
    step 1 "data: the committed samples (--sample)"
    corpus=data/sample_corpus.txt
    train=data/sample_classification.csv
    dev=data/sample_classification_dev.csv
    for f in "$corpus" "$train" "$dev"; do [ -r "$f" ] || fail "$f is missing"; done
    echo "corpus $corpus, train $train, dev $dev"
fi
step_done

step 2 "training a WordPiece vocabulary ($VOCAB_SIZE entries) on $corpus"
"$bert" vocab --corpus "$corpus" --size "$VOCAB_SIZE" --out "$out/vocab.txt" --quiet \
    || fail "bert vocab"
# The model's vocab_size must match the vocabulary actually written (a small
# corpus may give fewer entries than asked for).
vocab_entries=$(wc -l < "$out/vocab.txt" | tr -d ' ')
sed "s/\"vocab_size\": *[0-9]*/\"vocab_size\": $vocab_entries/" configs/bert-demo.json > "$out/bert-demo.json"
echo "$out/vocab.txt: $vocab_entries entries; model config $out/bert-demo.json"
step_done

recipe="$PRETRAIN_STEPS steps of $PRETRAIN_BATCH x $PRETRAIN_SEQ tokens, lr $PRETRAIN_LR, $PRETRAIN_FLAGS"
step 3 "pretraining a tiny BERT on the task's own text (task-adaptive): $recipe"
# shellcheck disable=SC2086
"$bert" pretrain --config "$out/bert-demo.json" --vocab "$out/vocab.txt" --corpus "$corpus" \
    --out "$out/pretrain" --steps "$PRETRAIN_STEPS" --batch-size "$PRETRAIN_BATCH" \
    --max-seq-length "$PRETRAIN_SEQ" --lr "$PRETRAIN_LR" --warmup "$PRETRAIN_WARMUP" $PRETRAIN_FLAGS \
    --seed "$SEED" --threads "$THREADS" || fail "bert pretrain"
step_done
pretrain_time=$(( $(date +%s) - step_start ))

finetune_common() {   # OUT TRAIN EPOCHS, then the model options
    run=$1; rows=$2; epochs=$3; shift 3
    "$bert" finetune "$@" --train "$rows" --dev "$dev" --text-column text --label-column label \
        --out "$run" --epochs "$epochs" --lr "$FINETUNE_LR" --batch-size "$FINETUNE_BATCH" \
        --max-seq-length "$FINETUNE_SEQ" --seed "$SEED" --threads "$THREADS"
}

step 4 "fine-tuning the pretrained model on $train ($EPOCHS epochs)"
finetune_common "$out/finetune-pretrained" "$train" "$EPOCHS" --init "$out/pretrain" || fail "bert finetune --init $out/pretrain"
step_done
pretrained_time=$(( $(date +%s) - step_start ))

step 5 "fine-tuning the same model from scratch (random initialisation, same budget)"
finetune_common "$out/finetune-scratch" "$train" "$EPOCHS" --from-scratch --config "$out/bert-demo.json" --vocab "$out/vocab.txt" \
    || fail "bert finetune --from-scratch"
step_done
scratch_time=$(( $(date +%s) - step_start ))

# Every tenth training row (the file has one row per line, classes balanced).
few="$out/train_tenth.csv"
awk 'NR == 1 || NR % 10 == 2' "$train" > "$few"
few_rows=$(( $(wc -l < "$few") - 1 ))
step 6 "both again with $few_rows labelled rows (a tenth), $FEW_EPOCHS epochs each"
t0=$(date +%s)
finetune_common "$out/few-pretrained" "$few" "$FEW_EPOCHS" --init "$out/pretrain" \
    || fail "bert finetune --init $out/pretrain (few rows)"
few_pretrained_time=$(( $(date +%s) - t0 )); t0=$(date +%s)
finetune_common "$out/few-scratch" "$few" "$FEW_EPOCHS" --from-scratch --config "$out/bert-demo.json" \
    --vocab "$out/vocab.txt" || fail "bert finetune --from-scratch (few rows)"
few_scratch_time=$(( $(date +%s) - t0 ))
step_done

for run in pretrain finetune-pretrained finetune-scratch few-pretrained few-scratch; do
    "$bert" plot "$out/$run" > "$out/plot.log" 2>&1 \
        || echo "demo: no curves for $out/$run: $(tail -n 1 "$out/plot.log")"
done

report() {   # RUN LABEL SECONDS
    f="$1/eval_report.json"
    [ -r "$f" ] || fail "$f was not written"
    acc=$(json_number "$f" accuracy) || fail "no \"accuracy\" in $f"
    f1=$(json_number "$f" macro_f1) || fail "no \"macro_f1\" in $f"
    printf '    %-34s %9.4f %9.4f %9s\n' "$2" "$acc" "$f1" "$3 s"
}
echo ""
echo "=== Supersense classification of WordNet nouns, dev set ($(($(wc -l < "$dev") - 1)) rows, $(awk -F, 'NR > 1 { c[$NF] = 1 } END { n = 0; for (k in c) n++; print n }' "$dev") classes)"
printf '    %-34s %9s %9s %9s\n' "" accuracy macro-F1 time
echo "  all $(( $(wc -l < "$train") - 1 )) labelled rows, $EPOCHS epochs:"
report "$out/finetune-pretrained" "pretrained ($PRETRAIN_STEPS steps), fine-tuned" "$pretrained_time"
report "$out/finetune-scratch" "from scratch, fine-tuned" "$scratch_time"
echo "  a tenth of them, $few_rows rows, $FEW_EPOCHS epochs:"
report "$out/few-pretrained" "pretrained, fine-tuned" "$few_pretrained_time"
report "$out/few-scratch" "from scratch, fine-tuned" "$few_scratch_time"
echo ""
echo "Pretraining: masked LM on $corpus (the task's unlabelled text, dev glosses included, never"
echo "  their labels), a $vocab_entries-entry vocabulary trained on it, $recipe;"
echo "  held-out MLM accuracy $(awk '/"split": "eval"/ { l = $0 } END { match(l, /"mlm_acc": [0-9.]+/); print substr(l, RSTART + 11, RLENGTH - 11) }' "$out/pretrain/metrics.jsonl")," \
     "context-free floor $(awk '/"split": "eval"/ { l = $0 } END { match(l, /"mlm_floor_acc": [0-9.]+/); print substr(l, RSTART + 17, RLENGTH - 17) }' "$out/pretrain/metrics.jsonl")."
echo "Pretraining took $pretrain_time s; the whole demo $(( $(date +%s) - demo_start )) s."
echo "Runs: $out/pretrain (a Hugging Face BERT directory), $out/finetune-{pretrained,scratch}, $out/few-{pretrained,scratch}"
echo "Curves: $out/*/curves.png (redraw one with: ./bert plot $out/pretrain)"
echo "Per-class figures and confusion matrices: $out/*/eval_report.json"
