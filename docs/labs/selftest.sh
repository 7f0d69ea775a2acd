#!/bin/sh
# selftest.sh — `make lab-selftest`, run by `make test`: the labs' machinery
# works. Each layer's own source passes as a student file (the answers to the
# fill-in exercises are the library's code), each exercise as shipped in
# docs/labs/exercises/ compiles against today's headers and fails its
# layer's checks, and every bug in docs/labs/bugs/ fails its layer's checks. Output of each run in
# build/lab-VARIANT/NAME.log.
variant=$1
log_dir=build/lab-$variant
mkdir -p "$log_dir"
failed=0
for lab in layernorm softmax gelu linear attention; do
    if sh docs/labs/lab.sh "$variant" $lab src/layers/$lab.c "" > "$log_dir/$lab.log" 2>&1; then
        echo "== lab $lab with the library's own file: passes, as it should"
    else
        echo "== lab $lab with the library's own file: FAILED (see $log_dir/$lab.log)"; failed=1
    fi
done
# expect_failed_check WHAT LOG LAB-ARGS...: the lab must exit 1 with a FAIL line
expect_failed_check() {
    what=$1; log=$2; shift 2
    sh docs/labs/lab.sh "$variant" "$@" > "$log" 2>&1
    status=$?
    if [ $status = 1 ] && grep -q FAIL "$log"; then
        echo "== lab $what: fails its checks, as it should"
    else
        echo "== lab $what: exit $status, expected a failed check (see $log)"; failed=1
    fi
}
for exercise in docs/labs/exercises/*.c; do
    lab=$(basename "$exercise" .c)
    expect_failed_check "exercise $lab, not filled in" "$log_dir/exercise-$lab.log" $lab "$exercise" ""
done
for patch_file in docs/labs/bugs/*.patch; do
    bug=$(basename "$patch_file" .patch)
    expect_failed_check "bug $bug" "$log_dir/$bug.log" "" "" "$bug"
done
exit $failed
