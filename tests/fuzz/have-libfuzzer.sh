#!/bin/sh
# Exits 0 if the C compiler $1 (default clang) can build a libFuzzer harness
# with OpenMP, as `make fuzz` does; else 1, silently.
cc=${1:-clang}
command -v "$cc" >/dev/null 2>&1 || exit 1
dir=$(mktemp -d) || exit 1
trap 'rm -rf "$dir"' EXIT
printf '#include <stddef.h>\n#include <stdint.h>\n#include <omp.h>\nint LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { (void)d; (void)n; return omp_get_max_threads() < 0; }\n' > "$dir/t.c"
"$cc" -fsanitize=fuzzer,address,undefined -fopenmp "$dir/t.c" -o "$dir/t" >/dev/null 2>&1
