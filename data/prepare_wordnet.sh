#!/bin/sh
# prepare_wordnet.sh — builds the demo's data from WordNet 3.0 (Debian package
# wordnet-base), with nothing but POSIX sh, awk and sort (no Python, no network).
#
#   sh data/prepare_wordnet.sh [--wordnet DIR] [--out DIR] [--samples]
#
# Writes into OUT (default data/generated/):
#   wordnet_corpus.txt          pretraining text: one sentence per line, a blank
#                               line between documents (Google's format). A
#                               document is a WordNet synset and its siblings
#                               (the synsets sharing its first hypernym, or for
#                               adjective satellites its head adjective); each
#                               synset gives "lemmas: definition." and one line
#                               per example sentence.
#   wordnet_supersense_train.csv  text,label — a noun's gloss (definition;
#   wordnet_supersense_dev.csv    examples) with its own words removed; label = its supersense
#                               (lexicographer file). 500 train + 125 dev rows
#                               for each of 8 classes.
# With --samples it also rewrites the small committed samples in data/
# (sample_corpus.txt, sample_classification.csv, sample_classification_dev.csv).
#
# Everything is deterministic: the split uses a hash of the synset offset
# (Park–Miller, exact in awk's doubles), never rand(), and LC_ALL=C fixes sort
# order and makes awk work on bytes. data/README.md explains the choices.
set -eu
LC_ALL=C
export LC_ALL

here=$(dirname "$0")
wordnet=/usr/share/wordnet
out="$here/generated"
samples=no
while [ $# -gt 0 ]; do
    case "$1" in
        --wordnet) wordnet=${2:?--wordnet needs a directory}; shift 2 ;;
        --out) out=${2:?--out needs a directory}; shift 2 ;;
        --samples) samples=yes; shift ;;
        -h|--help) sed -n '2,24p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "prepare_wordnet.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
    esac
done

for f in data.noun data.verb data.adj data.adv; do
    if [ ! -r "$wordnet/$f" ]; then
        echo "prepare_wordnet.sh: $wordnet/$f not found: WordNet is not installed." >&2
        echo "  Install it with:  sudo apt-get install -y wordnet-base" >&2
        exit 1
    fi
done
mkdir -p "$out"
tab=$(printf '\t')
tmp="$out/.tmp.$$"
trap 'rm -f "$tmp".*' EXIT INT TERM

# Shared awk functions: parse one synset line of a WordNet data.* file (format
# in wndb(5WN)): "offset lex_filenum ss_type w_cnt word lex_id ... p_cnt
# ptr... [frames] | gloss". Sets OFF, LEX, POS (n v a s r), NW, LEMMA[1..NW]
# (underscores as spaces, adjective markers like "(a)" dropped), KEY (this
# synset, "n00001740"), PARENT (key of the first hypernym / head adjective, or
# KEY), DEF (the definition) and NEX, EX[1..NEX] (the quoted examples).
parse_awk='
function hexval(s,    i, v) {
    v = 0
    for (i = 1; i <= length(s); i++) v = v * 16 + index("0123456789abcdef", tolower(substr(s, i, 1))) - 1
    return v
}
function filepos(p) { return p == "s" ? "a" : p }
function trim(s) { sub(/^[ \t]+/, "", s); sub(/[ \t;]+$/, "", s); return s }
function parse(line,    bar, head, f, n, i, j, p, sym, rest, gloss) {
    bar = index(line, " | ")
    if (bar == 0) return 0
    head = substr(line, 1, bar - 1)
    gloss = trim(substr(line, bar + 3))
    n = split(head, f, " ")
    OFF = f[1]; LEX = f[2]; POS = f[3]; NW = hexval(f[4])
    KEY = filepos(POS) OFF
    for (i = 1; i <= NW; i++) {
        LEMMA[i] = f[3 + 2 * i]
        sub(/\([a-z]+\)$/, "", LEMMA[i])
        gsub(/_/, " ", LEMMA[i])
    }
    p = f[5 + 2 * NW] + 0
    j = 6 + 2 * NW
    PARENT = ""
    for (i = 1; i <= p; i++) {
        sym = f[j]
        if (PARENT == "" && (sym == "@" || sym == "@i" || (POS == "s" && sym == "&")))
            PARENT = filepos(f[j + 2]) f[j + 1]
        j += 4
    }
    if (PARENT == "") PARENT = KEY
    GLOSS = gloss
    i = index(gloss, "\"")
    DEF = trim(i ? substr(gloss, 1, i - 1) : gloss)
    rest = i ? substr(gloss, i) : ""
    NEX = 0
    while (match(rest, /"[^"]*"/)) {
        EX[++NEX] = trim(substr(rest, RSTART + 1, RLENGTH - 2))
        if (EX[NEX] == "") NEX--
        rest = substr(rest, RSTART + RLENGTH)
    }
    return 1
}
'

# 1. Corpus. Each synset becomes "PARENT<TAB>KEY<TAB>sentence<TAB>sentence…";
# sorting groups siblings, and a blank line goes between groups.
echo "prepare_wordnet.sh: corpus from $wordnet/data.{noun,verb,adj,adv}"
awk "$parse_awk"'
function sentence(s) { return s ~ /[.!?]$/ ? s : s "." }
/^  / { next }                                  # licence header
{
    if (!parse($0) || DEF == "") next
    words = LEMMA[1]
    for (i = 2; i <= NW; i++) words = words ", " LEMMA[i]
    line = PARENT "\t" KEY "\t" sentence(words ": " DEF)
    for (i = 1; i <= NEX; i++) line = line "\t" EX[i]
    gsub(/[\t ]*\t[\t ]*/, "\t", line)
    print line
}' "$wordnet/data.noun" "$wordnet/data.verb" "$wordnet/data.adj" "$wordnet/data.adv" > "$tmp.synsets"
sort -t "$tab" -k1,1 -k2,2 "$tmp.synsets" > "$tmp.sorted"
awk -F '\t' '
        $1 != group { if (NR > 1) print ""; group = $1 }
    { for (i = 3; i <= NF; i++) if ($i != "") print $i }' "$tmp.sorted" > "$tmp.corpus"
mv "$tmp.corpus" "$out/wordnet_corpus.txt"

# 2. Supersense classification. For nouns of the chosen lexicographer files:
# "label<TAB>hash<TAB>text", the text being the gloss with the synset's own
# lemmas (and their -s/-es plurals) removed so the answer is not spelled out.
echo "prepare_wordnet.sh: supersense classification from $wordnet/data.noun"
awk "$parse_awk"'
BEGIN {
    # lexicographer file number -> label (lexnames(5WN))
    CLASS["04"] = "act"; CLASS["05"] = "animal"; CLASS["06"] = "artifact"; CLASS["13"] = "food"
    CLASS["15"] = "location"; CLASS["18"] = "person"; CLASS["20"] = "plant"; CLASS["27"] = "substance"
}
function wordchar(c) { return c != "" && c ~ /[a-z0-9-]/ }
# Removes every whole-word occurrence of w (lowercase) from text, case-insensitively.
function remove_word(text, w,    lc, out, p, e) {
    lc = tolower(text); out = ""
    while ((p = index(lc, w)) > 0) {
        e = p + length(w)
        if (substr(lc, e, 2) == "es" && !wordchar(substr(lc, e + 2, 1))) e += 2
        else if (substr(lc, e, 1) == "s" && !wordchar(substr(lc, e + 1, 1))) e += 1
        if (!wordchar(p > 1 ? substr(lc, p - 1, 1) : "") && !wordchar(substr(lc, e, 1))) {
            out = out substr(text, 1, p - 1); text = substr(text, e); lc = substr(lc, e)
        } else {
            out = out substr(text, 1, p); text = substr(text, p + 1); lc = substr(lc, p + 1)
        }
    }
    return out text
}
# Park–Miller minimal standard generator step; every product stays below 2^53.
function pm(x) { return (x * 16807) % 2147483647 }
/^  / { next }
parse($0) && ($2 in CLASS) {
    # Longest lemmas first, so "sea lion" goes before "lion".
    for (i = 1; i <= NW; i++) L[i] = tolower(LEMMA[i])
    for (i = 1; i <= NW; i++) for (j = i + 1; j <= NW; j++)
        if (length(L[j]) > length(L[i])) { t = L[i]; L[i] = L[j]; L[j] = t }
    # The gloss without the quote marks around its examples (the corpus has
    # none either): "definition; example; example".
    text = DEF
    for (i = 1; i <= NEX; i++) text = text "; " EX[i]
    for (i = 1; i <= NW; i++) text = remove_word(text, L[i])
    gsub(/[ \t]+/, " ", text)
    gsub(/ ,/, ",", text); gsub(/ ;/, ";", text); gsub(/ \./, ".", text); gsub(/;;+/, ";", text)
    text = trim(text)
    if (split(text, tmpw, " ") < 3 || (text in seen)) next   # too little left, or a duplicate
    seen[text] = 1
    printf "%s\t%010d\t%s\n", CLASS[$2], pm(pm(OFF + 1)), text
}' "$wordnet/data.noun" > "$tmp.unsorted"
sort -t "$tab" -k1,1 -k2,2 "$tmp.unsorted" > "$tmp.candidates"

# The first 125 of each class (in hash order) are dev, the next 500 train; each
# file is then ordered by hash so the classes are interleaved.
awk -F '\t' -v dev="$tmp.dev" -v train="$tmp.train" '
    $1 != cls { cls = $1; n = 0 }
    n < 125 { print $2 "\t" $1 "\t" $3 > dev }
    n >= 125 && n < 625 { print $2 "\t" $1 "\t" $3 > train }
    { n++ }
    END { close(dev); close(train) }' "$tmp.candidates"
write_csv() {   # FILE of hash<TAB>label<TAB>text, OUT -> OUT as a text,label CSV (RFC 4180)
    sort -t "$tab" -k1,1 "$1" > "$tmp.csvsorted"
    awk -F '\t' '
        BEGIN { print "text,label" }
        { t = $3; gsub(/"/, "\"\"", t); print "\"" t "\"," $2 }' "$tmp.csvsorted" > "$tmp.csv"
    mv "$tmp.csv" "$2"
}
write_csv "$tmp.train" "$out/wordnet_supersense_train.csv"
write_csv "$tmp.dev" "$out/wordnet_supersense_dev.csv"

summary() {   # FILE -> "N rows: label n label n …" (labels sorted)
    awk -F ',' 'NR > 1 { print $NF }' "$1" | sort | uniq -c \
        | awk '{ n += $1; s = s " " $2 " " $1 } END { print n " rows:" s }'
}
echo "  $out/wordnet_corpus.txt: $(wc -c < "$out/wordnet_corpus.txt") bytes," \
     "$(awk 'NF' "$out/wordnet_corpus.txt" | wc -l) sentences," \
     "$(awk 'BEGIN { RS = "" } END { print NR }' "$out/wordnet_corpus.txt") documents"
echo "  $out/wordnet_supersense_train.csv: $(summary "$out/wordnet_supersense_train.csv")"
echo "  $out/wordnet_supersense_dev.csv: $(summary "$out/wordnet_supersense_dev.csv")"

# 3. The committed samples: every 25th document up to ~100 KB, and the first
# 40 (train) / 10 (dev) rows of each class.
if [ "$samples" = yes ]; then
    awk 'BEGIN { RS = ""; ORS = "\n\n" } NR % 25 == 1 && bytes < 100000 { print; bytes += length($0) + 2 }' \
        "$out/wordnet_corpus.txt" | sed '$d' > "$here/sample_corpus.txt"
    take() {   # FILE N -> header and the first N rows of each label, in file order
        awk -F ',' -v n="$2" 'NR == 1 || c[$NF]++ < n' "$1"
    }
    take "$out/wordnet_supersense_train.csv" 40 > "$here/sample_classification.csv"
    take "$out/wordnet_supersense_dev.csv" 10 > "$here/sample_classification_dev.csv"
    echo "  samples: $here/sample_corpus.txt ($(wc -c < "$here/sample_corpus.txt") bytes)," \
         "$here/sample_classification.csv ($(summary "$here/sample_classification.csv"))," \
         "$here/sample_classification_dev.csv ($(summary "$here/sample_classification_dev.csv"))"
fi
