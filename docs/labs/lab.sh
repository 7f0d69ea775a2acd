#!/bin/sh
# lab.sh — behind `make lab` (docs/labs/README.md). Builds the library, the
# bert program and the test suite with one layer's source file replaced:
#   make lab LAB=layernorm STUDENT=path/to/layernorm.c   your file in place of src/layers/layernorm.c
#   make lab BUG=layernorm_mean_term                      the library's file with docs/labs/bugs/NAME.patch applied
# and runs that layer's Check suite (CK_RUN_SUITE=LAB) and `bert gradcheck
# --layer LAB`. Exits 0 when both pass, 1 when either fails.
# Called by the Makefile as: lab.sh VARIANT LAB STUDENT BUG, with CC, CFLAGS
# and LIBS in the environment. Everything goes to build/lab-VARIANT/.
set -e
variant=$1 lab=$2 student=$3 bug=$4
labs="layernorm softmax gelu linear attention dropout embeddings"
if [ -n "$bug" ]; then
    patch_file=docs/labs/bugs/$bug.patch
    [ -f "$patch_file" ] || { echo "make lab: no bug named '$bug' (the bugs are docs/labs/bugs/*.patch)" >&2; exit 2; }
    # the layer is the file the patch changes
    target=$(sed -n 's|^+++ b/src/layers/\(.*\)\.c$|\1|p' "$patch_file" | head -1)
    [ -z "$lab" ] && lab=$target
    [ "$lab" = "$target" ] || { echo "make lab: $patch_file changes $target, not $lab" >&2; exit 2; }
fi
case " $labs " in
    *" $lab "*) ;;
    *) echo "make lab: LAB must be one of: $labs (got '$lab')" >&2; exit 2 ;;
esac
out=build/lab-$variant
mkdir -p "$out"
if [ -n "$bug" ]; then
    patch --quiet --force -p1 -o "$out/$lab.c" src/layers/$lab.c < "$patch_file" > /dev/null
    student=$out/$lab.c
    echo "== lab $lab: src/layers/$lab.c with $patch_file applied"
elif [ -n "$student" ]; then
    [ -f "$student" ] || { echo "make lab: STUDENT file '$student' not found" >&2; exit 2; }
    echo "== lab $lab: $student in place of src/layers/$lab.c"
else
    student=src/layers/$lab.c
    echo "== lab $lab: the library's own src/layers/$lab.c"
fi
# the student's object replaces the library's: copy the archive, delete the member
$CC $CFLAGS -c "$student" -o "$out/$lab.o"
cp build/$variant/libbert.a "$out/libbert.a"
ar d "$out/libbert.a" "$lab.o"
ar rs "$out/libbert.a" "$out/$lab.o" 2> /dev/null
$CC $CFLAGS build/$variant/train/*.o "$out/libbert.a" $LIBS -o "$out/bert"
$CC $CFLAGS build/$variant/tests/*.o "$out/libbert.a" $LIBS -o "$out/test_bert"
status=0
echo "== $out/bert gradcheck --layer $lab"
"$out/bert" gradcheck --layer $lab || status=1
if [ "$lab" = attention ]; then "$out/bert" gradcheck --layer attention_causal > /dev/null || status=1; fi
echo "== CK_RUN_SUITE=$lab $out/test_bert"
CK_RUN_SUITE=$lab CK_DEFAULT_TIMEOUT=300 "$out/test_bert" || status=1
if [ $status = 0 ]; then echo "== lab $lab: PASSED"; else echo "== lab $lab: FAILED"; fi
exit $status
