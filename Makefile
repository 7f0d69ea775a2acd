# bert.c — build, test, demo and benchmarks.
#
# The library (src/) and the programs (train/) are compiled in four variants
# from the same source, each in its own build/ subdirectory:
#   f32       float  (the default: libbert.a, ./bert)
#   f64       double (-DBERT_DOUBLE: ./bert-f64, used by `bert gradcheck --double`)
#   f32-san   float  under AddressSanitizer + UBSan (tests only)
#   f64-san   double under AddressSanitizer + UBSan (tests only)
# `make test` runs the Check suite in all four. A fifth, f32-vg (AVX2, no
# -march=native: valgrind 3.19 cannot run AVX-512), is for `make valgrind`.
# A sixth, build/fuzz (clang, libFuzzer + ASan/UBSan), builds the parser
# fuzz harnesses in tests/fuzz/ (docs/fuzzing.md).

CC      ?= gcc
PKGS    := check libcjson libutf8proc
WARN    := -Wall -Wextra -Wshadow -Wno-unused-parameter
# -mprefer-vector-width=512: gcc 12's -march=native on Sapphire Rapids keeps
# loops (and libmvec's erf/exp) at 256 bits; 512 made bf16 training of
# bert-mini 3–5 % faster there (7,473–7,612 → 7,787–7,898 tokens/s, 1 thread).
OPT     ?= -O2 -march=native -fno-math-errno -mprefer-vector-width=512
BASE_CFLAGS := -std=gnu11 $(WARN) -fopenmp -Iinclude -I/usr/include/x86_64-linux-gnu \
               $(shell pkg-config --cflags libcjson libutf8proc 2>/dev/null)
LIBS    := -lblis -ldnnl $(shell pkg-config --libs libcjson libutf8proc 2>/dev/null) -lm -fopenmp
TEST_LIBS := $(shell pkg-config --libs check 2>/dev/null)
SAN     := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined

LIB_SRC   := $(sort $(wildcard src/*/*.c))
TRAIN_SRC := $(sort $(wildcard train/*.c))
TEST_SRC  := $(sort $(wildcard tests/test_*.c))
EXAMPLES  := $(patsubst examples/%.c,%,$(sort $(wildcard examples/*.c)))
HEADERS   := $(wildcard include/*/*.h) $(wildcard train/*.h)

VARIANTS := f32 f64 f32-san f64-san
CFLAGS_f32     := $(OPT) -g
CFLAGS_f64     := $(OPT) -g -DBERT_DOUBLE
CFLAGS_f32-san := -O1 -g $(SAN)
CFLAGS_f64-san := -O1 -g $(SAN) -DBERT_DOUBLE
CFLAGS_f32-vg  := -O2 -mavx2 -mfma -fno-math-errno -g

# Open MPI (data-parallel training, include/train/distributed.h) goes into the
# f32 and f64 builds when mpicc is installed, or with MPI=1; MPI=0 leaves it
# out. The sanitizer and valgrind builds run one process: Open MPI's own
# allocations are not theirs to check.
MPI ?= $(if $(shell command -v mpicc 2>/dev/null),1,0)
ifeq ($(MPI),1)
MPI_CFLAGS := -DBERT_MPI $(shell mpicc --showme:compile 2>/dev/null)
MPI_LIBS   := $(shell mpicc --showme:link 2>/dev/null)
CFLAGS_f32 += $(MPI_CFLAGS)
CFLAGS_f64 += $(MPI_CFLAGS)
LIBS_f32   := $(MPI_LIBS)
LIBS_f64   := $(MPI_LIBS)
endif

.PHONY: all test test-run valgrind demo bench bench-compare clean deps check-deps fuzz fuzz-build fuzz-smoke lab lab-selftest
all: check-deps libbert.a bert bert-f64 $(foreach v,f32 f64,$(patsubst %,build/$(v)/examples/%,$(EXAMPLES)))

# One set of rules per variant: build/V/libbert.a, build/V/bert, build/V/test_bert.
define VARIANT_RULES
build/$(1)/src/%.o: src/%.c $(HEADERS) | check-deps
	@mkdir -p $$(dir $$@)
	$$(CC) $$(BASE_CFLAGS) $$(CFLAGS_$(1)) -c $$< -o $$@
build/$(1)/train/%.o: train/%.c $(HEADERS) | build/$(1)/train
	$$(CC) $$(BASE_CFLAGS) $$(CFLAGS_$(1)) -Itrain -c $$< -o $$@
build/$(1)/tests/%.o: tests/%.c $(HEADERS) tests/test_util.h build/suites.inc | build/$(1)/tests
	$$(CC) $$(BASE_CFLAGS) $$(CFLAGS_$(1)) -Ibuild -Itests $$(shell pkg-config --cflags check) -c $$< -o $$@
build/$(1)/libbert.a: $(patsubst src/%.c,build/$(1)/src/%.o,$(LIB_SRC))
	rm -f $$@ && ar rcs $$@ $$^
build/$(1)/bert: $(patsubst train/%.c,build/$(1)/train/%.o,$(TRAIN_SRC)) build/$(1)/libbert.a
	$$(CC) $$(CFLAGS_$(1)) -fopenmp $$(filter %.o,$$^) build/$(1)/libbert.a $(LIBS) $$(LIBS_$(1)) -o $$@
build/$(1)/test_bert: $(patsubst tests/%.c,build/$(1)/tests/%.o,$(TEST_SRC) tests/test_main.c tests/test_util.c) build/$(1)/libbert.a
	$$(CC) $$(CFLAGS_$(1)) -fopenmp $$(filter %.o,$$^) build/$(1)/libbert.a $(TEST_LIBS) $(LIBS) $$(LIBS_$(1)) -o $$@
build/$(1)/examples/%: examples/%.c build/$(1)/libbert.a $(HEADERS) | build/$(1)/examples
	$$(CC) $$(BASE_CFLAGS) $$(CFLAGS_$(1)) $$< build/$(1)/libbert.a $(LIBS) $$(LIBS_$(1)) -o $$@
build/$(1)/train build/$(1)/tests build/$(1)/examples:
	mkdir -p $$@
endef
$(foreach v,$(VARIANTS) f32-vg,$(eval $(call VARIANT_RULES,$(v))))

# Fuzz harnesses: the library compiled by clang with coverage instrumentation
# for libFuzzer (fuzzer-no-link) and ASan/UBSan; each tests/fuzz/fuzz_NAME.c
# links libFuzzer's main. `make fuzz` runs each for FUZZ_TIME seconds from its
# seeds in tests/fuzz/corpus/NAME/ (new inputs go to build/fuzz/corpus/NAME/,
# crashes to build/fuzz/crash-*); `make test` runs a FUZZ_SMOKE_TIME smoke.
FUZZ_CC      ?= clang
FUZZ_TIME    ?= 60
FUZZ_SMOKE_TIME ?= 10
FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
FUZZ_CFLAGS  := -O1 -g $(FUZZ_SAN) -Wno-pass-failed   # omp simd loops clang does not vectorise at -O1
FUZZ_TARGETS := $(patsubst tests/fuzz/fuzz_%.c,%,$(sort $(wildcard tests/fuzz/fuzz_*.c)))
build/fuzz/src/%.o: src/%.c $(HEADERS) | check-deps
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(BASE_CFLAGS) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c $< -o $@
build/fuzz/libbert.a: $(patsubst src/%.c,build/fuzz/src/%.o,$(LIB_SRC))
	rm -f $@ && ar rcs $@ $^
build/fuzz/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz_util.h build/fuzz/libbert.a
	$(FUZZ_CC) $(BASE_CFLAGS) $(FUZZ_CFLAGS) -fsanitize=fuzzer $< build/fuzz/libbert.a $(LIBS) -o $@
fuzz-build: $(patsubst %,build/fuzz/fuzz_%,$(FUZZ_TARGETS))
# One target after another, each for SECONDS; stops at the first crash.
FUZZ_RUN = set -e; for t in $(FUZZ_TARGETS); do \
	  mkdir -p build/fuzz/corpus/$$t; \
	  echo "== fuzz $$t, $(1) s"; \
	  ./build/fuzz/fuzz_$$t -max_total_time=$(1) -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
	    -print_final_stats=1 -artifact_prefix=build/fuzz/crash-$$t- build/fuzz/corpus/$$t tests/fuzz/corpus/$$t \
	    2>build/fuzz/$$t.log || { tail -60 build/fuzz/$$t.log; exit 1; }; \
	  grep -E '^stat::number_of_executed_units|^Done [0-9]+ runs' build/fuzz/$$t.log | tr '\n' ' '; echo; \
	done
fuzz: fuzz-build
	@$(call FUZZ_RUN,$(FUZZ_TIME))
fuzz-smoke: fuzz-build
	@$(call FUZZ_RUN,$(FUZZ_SMOKE_TIME))

# Copied then renamed, so a bert that is running (a long pretraining) is not
# in the way of a rebuild.
libbert.a: build/f32/libbert.a
	cp $< $@.tmp && mv $@.tmp $@
bert: build/f32/bert
	cp $< $@.tmp && mv $@.tmp $@
bert-f64: build/f64/bert
	cp $< $@.tmp && mv $@.tmp $@

# The test runner registers every `Suite *NAME_suite(void)` defined in tests/test_*.c.
build/suites.inc: $(TEST_SRC) | build
	sed -n 's/^Suite \*\([a-z0-9_]*\)_suite(void).*/SUITE(\1)/p' $(TEST_SRC) > $@.tmp && mv $@.tmp $@
build:
	mkdir -p build

# `make test` and `make demo` first install what is missing (as root; otherwise
# they print the one apt-get line and stop), then run make again: the flags
# above come from pkg-config when the Makefile is read, so they must be read
# after the install, not before. The second make builds with one job per core
# unless -j was given.
NPROC := $(shell nproc 2>/dev/null || echo 1)
JOBS  := $(if $(findstring j,$(firstword -$(MAKEFLAGS))),,-j$(NPROC))
test: deps
	@$(MAKE) --no-print-directory $(JOBS) test-run
demo: deps
	@$(MAKE) --no-print-directory $(JOBS) all && sh data/demo.sh

# Tests that need ../shared/data skip with a message when it is absent. The
# command-line tests run the bert program built beside each test_bert.
# CK_FORK=no under ASan keeps leak reports attached to the test that leaked.
test-run: check-deps $(foreach v,$(VARIANTS),build/$(v)/test_bert build/$(v)/bert $(patsubst %,build/$(v)/examples/%,$(EXAMPLES)))
	@set -e; for v in $(VARIANTS); do \
	  echo "== Check suite, $$v build"; \
	  CK_DEFAULT_TIMEOUT=300 ./build/$$v/test_bert; \
	done
	@$(MAKE) --no-print-directory lab-selftest
	@if sh tests/fuzz/have-libfuzzer.sh $(FUZZ_CC); then \
	  $(MAKE) --no-print-directory fuzz-smoke; \
	else echo "== fuzz smoke skipped: $(FUZZ_CC) with libFuzzer not found (apt-get install clang libfuzzer-14-dev libomp-14-dev)"; fi

# docs/labs/: one layer's source replaced, then its Check suite and gradient
# check: `make lab LAB=layernorm STUDENT=my_layernorm.c`, or the library's file
# with a documented bug applied: `make lab BUG=layernorm_mean_term`. In the
# double build unless LAB_VARIANT=f32. lab-selftest (part of make test): the
# library's own files pass as student files, and every bug fails.
LAB_VARIANT ?= f64
LAB_ENV = CC="$(CC)" CFLAGS="$(BASE_CFLAGS) $(CFLAGS_$(LAB_VARIANT))" LIBS="$(TEST_LIBS) $(LIBS) $(LIBS_$(LAB_VARIANT))"
lab: check-deps build/$(LAB_VARIANT)/test_bert build/$(LAB_VARIANT)/bert
	@$(LAB_ENV) sh docs/labs/lab.sh $(LAB_VARIANT) "$(LAB)" "$(STUDENT)" "$(BUG)"
lab-selftest: check-deps build/$(LAB_VARIANT)/test_bert build/$(LAB_VARIANT)/bert
	@$(LAB_ENV) sh docs/labs/selftest.sh $(LAB_VARIANT)

# The whole Check suite under valgrind memcheck (about 5 minutes on 2 cores;
# not part of `make test`). tests/valgrind.supp says what is suppressed, and why.
valgrind: check-deps build/f32-vg/test_bert build/f32-vg/bert $(patsubst %,build/f32-vg/examples/%,$(EXAMPLES))
	CK_FORK=no CK_DEFAULT_TIMEOUT=3000 valgrind --error-exitcode=9 --leak-check=full \
	  --errors-for-leak-kinds=definite --suppressions=tests/valgrind.supp ./build/f32-vg/test_bert

bench: all
	@sh bench/run.sh

bench-compare: all
	@sh bench/compare.sh

# Installs the Debian packages bert.c needs when run as root; otherwise prints
# the one apt-get line to run.
deps:
	@sh .ci/install-deps.sh

check-deps:
	@pkg-config --exists $(PKGS) && test -f /usr/include/x86_64-linux-gnu/blis.h && test -f /usr/include/oneapi/dnnl/dnnl.h || \
	  { echo "bert.c: missing build dependencies; run 'make deps' (as root) or:"; \
	    sh .ci/install-deps.sh --print; exit 1; }

clean:
	rm -rf build libbert.a bert bert-f64
