# kumomori build. `make` builds build/kumomori and build/libkumomori.a; `make test` installs
# what is missing, builds with gcc and (sanitized) with clang, and runs every test.
ifeq ($(origin CC),default)
CC       := gcc
endif
ASAN_CC  ?= clang
PREFIX   ?= /usr/local
CSTD     := -std=c17 -D_GNU_SOURCE
WARN     := -Wall -Wextra -Werror -Wshadow -Wvla -Wformat=2 -Wno-format-nonliteral
CFLAGS   ?= -O2 -g
CPPFLAGS += -Iinclude -Isrc -Ibuild/gen
LDLIBS   := -lz -lcrypto -lyaml -lpcre2-8 -lpthread -lm
# libdeflate (whole-buffer gzip decoding of small .json.gz files, src/detect/input.c): used when
# its header is installed; without it every file goes through zlib's streaming inflate.
ifneq ($(wildcard /usr/include/libdeflate.h),)
CPPFLAGS += -DKM_HAVE_LIBDEFLATE
LDLIBS   += -ldeflate
endif
ASANFLAGS := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all

DEBS := build-essential clang zlib1g-dev libdeflate-dev libssl-dev libyaml-dev libpcre2-dev python3 python3-jsonschema gzip \
        valgrind cppcheck clang-tidy

LIB_SRC  := $(shell find src -name '*.c' -not -path 'src/cli/*' | sort)
CLI_SRC  := $(sort $(wildcard src/cli/*.c))
TEST_SRC := $(sort $(wildcard tests/*.c)) $(sort $(wildcard fuzz/fuzz_*.c)) fuzz/util.c fuzz/matchdiff.c
RULE_FILES  := $(shell find rules -type f \( -name '*.json' -o -name '*.yml' -o -name '*.yaml' \) 2>/dev/null | sort)
CHECK_FILES := $(shell find checks -type f \( -name '*.json' -o -name '*.yml' -o -name '*.yaml' \) 2>/dev/null | sort)
GEN_SRC  := build/gen/builtin_rules.c build/gen/builtin_checks.c

OBJ       = $(patsubst %.c,build/obj/%.o,$(LIB_SRC) $(GEN_SRC:build/%=%))
CLI_OBJ   = $(patsubst %.c,build/obj/%.o,$(CLI_SRC))
TEST_OBJ  = $(patsubst %.c,build/obj/%.o,$(TEST_SRC))
AOBJ      = $(patsubst %.c,build/asan/obj/%.o,$(LIB_SRC) $(GEN_SRC:build/%=%) $(CLI_SRC))
ACLI_OBJ  = $(patsubst %.c,build/asan/obj/%.o,$(CLI_SRC))
ALIB_OBJ  = $(filter-out $(ACLI_OBJ),$(AOBJ))
ATEST_OBJ = $(patsubst %.c,build/asan/obj/%.o,$(TEST_SRC))
TOBJ      = $(patsubst %.c,build/tsan/obj/%.o,$(LIB_SRC) $(GEN_SRC:build/%=%) $(CLI_SRC))

.PHONY: all deps test test-fast demo bench bench-iam install clean asan tsan difftest-deps allocfail lint lint-full valgrind
all: build/kumomori build/libkumomori.a build/tests/unit

# Installs the Debian packages kumomori needs, only when one is missing.
deps:
	@missing=""; for p in $(DEBS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing; \
	fi

# IAM engine benchmark (bench/iam_bench.c): figures in docs/iam.md.
build/bench/iam_bench: bench/iam_bench.c build/libkumomori.a
	@mkdir -p $(@D)
	$(CC) $(CSTD) $(CPPFLAGS) $(WARN) $(CFLAGS) -o $@ $< build/libkumomori.a $(LDLIBS)

bench-iam: build/bench/iam_bench
	build/bench/iam_bench $${KUMOMORI_CORPORA:-../shared/corpora}

# The differential test's oracle, @cloud-copilot/iam-simulate (npm, AGPL-3.0-or-later): installed
# into build/ and run as an external program by tests/test_iam_difftest.c; never vendored.
difftest-deps:
	@if command -v npm >/dev/null 2>&1; then \
	  mkdir -p build/difftest && cd build/difftest && \
	  { [ -f node_modules/@cloud-copilot/iam-simulate/package.json ] || \
	    npm install --no-audit --no-fund --loglevel=error @cloud-copilot/iam-simulate@0.1.173; }; \
	else echo "npm not found: the IAM differential test will be skipped"; fi

build/tools/embed: tools/embed.c
	@mkdir -p $(@D)
	$(CC) $(CSTD) $(WARN) -O1 -o $@ $<

build/gen/builtin_rules.c: build/tools/embed $(RULE_FILES) Makefile
	@mkdir -p $(@D)
	build/tools/embed km_builtin_rules $@ $(RULE_FILES)

build/gen/builtin_checks.c: build/tools/embed $(CHECK_FILES) Makefile
	@mkdir -p $(@D)
	build/tools/embed km_builtin_checks $@ $(CHECK_FILES)

build/obj/gen/%.o: build/gen/%.c
	@mkdir -p $(@D)
	$(CC) $(CSTD) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

build/obj/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CSTD) $(CPPFLAGS) $(WARN) $(CFLAGS) -MMD -MP -c -o $@ $<

build/libkumomori.a: $(OBJ)
	@rm -f $@
	ar rcs $@ $^

build/kumomori: $(CLI_OBJ) build/libkumomori.a
	$(CC) $(CFLAGS) -o $@ $(CLI_OBJ) build/libkumomori.a $(LDLIBS)

# The unit tests carry the allocation-failure wrappers too (tests/test.h: km_allocfail_arm).
build/tests/unit: $(TEST_OBJ) build/obj/tests/allocfail/wrap.o build/libkumomori.a
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(ALLOCFAIL_WRAP) -o $@ $(TEST_OBJ) build/obj/tests/allocfail/wrap.o build/libkumomori.a $(LDLIBS)

# Sanitized build (clang, so every `make test` also proves the code builds clean with clang).
build/asan/obj/gen/%.o: build/gen/%.c
	@mkdir -p $(@D)
	$(ASAN_CC) $(CSTD) $(CPPFLAGS) $(ASANFLAGS) -c -o $@ $<

build/asan/obj/%.o: %.c
	@mkdir -p $(@D)
	$(ASAN_CC) $(CSTD) $(CPPFLAGS) $(WARN) $(ASANFLAGS) -MMD -MP -c -o $@ $<

build/asan/kumomori: $(AOBJ)
	$(ASAN_CC) $(ASANFLAGS) -o $@ $^ $(LDLIBS)

build/asan/tests/unit: $(ATEST_OBJ) $(ALIB_OBJ) build/asan/obj/tests/allocfail/wrap.o
	@mkdir -p $(@D)
	$(ASAN_CC) $(ASANFLAGS) $(ALLOCFAIL_WRAP) -o $@ $^ $(LDLIBS)

asan: build/asan/kumomori build/asan/tests/unit

# ThreadSanitizer build of the CLI (clang): make test runs the CLI cases of the commands that
# start threads with it (tests/run.sh). TSan cannot be combined with ASan, hence a build of its own.
TSANFLAGS := -O1 -g -fsanitize=thread -fno-omit-frame-pointer
build/tsan/obj/gen/%.o: build/gen/%.c
	@mkdir -p $(@D)
	$(ASAN_CC) $(CSTD) $(CPPFLAGS) $(TSANFLAGS) -c -o $@ $<

build/tsan/obj/%.o: %.c
	@mkdir -p $(@D)
	$(ASAN_CC) $(CSTD) $(CPPFLAGS) $(WARN) $(TSANFLAGS) -MMD -MP -c -o $@ $<

build/tsan/kumomori: $(TOBJ)
	$(ASAN_CC) $(TSANFLAGS) -o $@ $^ $(LDLIBS)

tsan: build/tsan/kumomori

# Allocation-failure test binary: the sanitized CLI with malloc & co. wrapped by
# tests/allocfail/wrap.c, which fails the Nth allocation (KM_ALLOCFAIL_N). Only kumomori's own
# objects are wrapped; the libraries keep their allocator. docs/security.md explains the runs.
ALLOCFAIL_WRAP := -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc,--wrap=strdup,--wrap=strndup
build/asan/kumomori-allocfail: $(AOBJ) build/asan/obj/tests/allocfail/wrap.o
	$(ASAN_CC) $(ASANFLAGS) $(ALLOCFAIL_WRAP) -o $@ $^ $(LDLIBS)

# Every N for every scenario (make test runs about 25 per scenario: KM_ALLOCFAIL_RUNS). It takes
# hours of CPU: `make allocfail SHARD=I/K` runs the I-th of K parts (docs/security.md).
allocfail: build/asan/kumomori-allocfail build/kumomori
	@KM_ALLOCFAIL_STRIDE=1 KM_ALLOCFAIL_SHARD=$(SHARD) bash tests/allocfail/run.sh $(FILTER)

# Banned functions, cppcheck and clang-tidy with the checked-in configuration (docs/security.md).
# lint (part of make test) leaves out clang-tidy's static analyzer; lint-full runs clang-tidy with
# it on every file (about 10 minutes of CPU).
lint: build/gen/builtin_rules.c build/gen/builtin_checks.c
	@bash tools/lint.sh

lint-full: build/gen/builtin_rules.c build/gen/builtin_checks.c
	@bash tools/lint.sh --full

# Every CLI case with every kumomori process under valgrind (make test runs a subset), except
# those that kill kumomori at a chosen moment (under valgrind the moment moves) and those that
# measure what valgrind changes: peak memory (detect-bad-huge-string) and how many AWS CLI
# processes overlap in time (collect-process).
valgrind: build/kumomori
	@KM_VALGRIND=1 KM_VALGRIND_SKIP="watch-follow watch-kill-restart watch-seal-kill-restart detect-bad-huge-string collect-process" \
	  bash tests/cli/run.sh build/kumomori

test: deps
	$(MAKE) all asan tsan build/asan/kumomori-allocfail
	@bash tests/run.sh

# Without installing packages or the sanitized build: for quick edit-test loops.
test-fast: all
	@KM_SKIP_ASAN=1 KM_SKIP_SLOW=1 bash tests/run.sh

demo: deps
	$(MAKE) build/kumomori
	@bash examples/demo.sh

# Benchmark programs (bench/*.c, not part of the library or the tests): see docs/performance.md.
BENCH_BIN := build/bench/cl2 build/bench/scale build/bench/runstat

build/bench/runstat: bench/runstat.c
	@mkdir -p $(@D)
	$(CC) $(CSTD) $(WARN) $(CFLAGS) -o $@ $<

build/bench/cl2 build/bench/scale: build/bench/%: bench/%.c bench/bench_util.h build/libkumomori.a
	@mkdir -p $(@D)
	$(CC) $(CSTD) $(CPPFLAGS) $(WARN) $(CFLAGS) -o $@ $< build/libkumomori.a $(LDLIBS)

bench: deps
	$(MAKE) all $(BENCH_BIN)
	@bash bench/run.sh

install: build/kumomori build/libkumomori.a
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib $(DESTDIR)$(PREFIX)/include/kumomori
	install -m 755 build/kumomori $(DESTDIR)$(PREFIX)/bin/kumomori
	install -m 644 build/libkumomori.a $(DESTDIR)$(PREFIX)/lib/libkumomori.a
	install -m 644 include/kumomori/*.h $(DESTDIR)$(PREFIX)/include/kumomori/

clean:
	rm -rf build

# ---- fuzzing (docs/security.md, "Fuzzing") -----------------------------------------------------
# Each fuzz/fuzz_<name>.c is a libFuzzer target; the same file, built into the unit tests with
# KM_FUZZ_REPLAY, replays fuzz/regress/<name>/* (every finding stays a regression test).
# fuzz/matchdiff.c compares the matcher with tests/ref_match.c on random patterns and events.
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 300
FUZZ_SMOKE_SECONDS ?= 10
# fuzz-smoke's libFuzzer seed, fixed so that CI's run can be replayed: it starts from seeds made
# from the repository alone (FUZZ_FRESH, KUMOMORI_CORPORA=none), as on CI's clean clone, so a
# local `make fuzz-smoke` at least as long as CI's meets the inputs CI's will (fuzz/run.sh).
FUZZ_SMOKE_SEED ?= 20261126
FUZZ_FLAGS   := -O2 -g -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
FUZZ_NAMES   := $(patsubst fuzz/fuzz_%.c,%,$(sort $(wildcard fuzz/fuzz_*.c)))
FUZZ_BIN     := $(addprefix build/fuzz/fuzz_,$(FUZZ_NAMES))
FUZZ_LIB_OBJ  = $(patsubst %.c,build/fuzz/obj/%.o,$(LIB_SRC) $(GEN_SRC:build/%=%))
MATCHDIFF_N  ?= 1000000
MATCHDIFF_SEED ?= 1

.PHONY: fuzz fuzz-build fuzz-smoke matchdiff
.PRECIOUS: build/fuzz/obj/%.o
build/obj/fuzz/%.o: CPPFLAGS += -DKM_FUZZ_REPLAY
build/asan/obj/fuzz/%.o: CPPFLAGS += -DKM_FUZZ_REPLAY

build/fuzz/obj/gen/%.o: build/gen/%.c
	@mkdir -p $(@D)
	$(FUZZ_CC) $(CSTD) $(CPPFLAGS) $(FUZZ_FLAGS) -fsanitize=fuzzer-no-link -c -o $@ $<

build/fuzz/obj/%.o: %.c
	@mkdir -p $(@D)
	$(FUZZ_CC) $(CSTD) $(CPPFLAGS) $(WARN) $(FUZZ_FLAGS) -fsanitize=fuzzer-no-link -MMD -MP -c -o $@ $<

# The test oracle (tests/ref_match.c) is not code under test: compiled without libFuzzer's coverage
# instrumentation (still with ASan and UBSan), so that its branches do not steer the fuzzer and its
# compares do not cost a callback each (a pattern of many $or gives it thousands of alternatives:
# fuzz_pattern's timeout of session 8, fuzz/regress/pattern/or-sort-ranked).
build/fuzz/obj/tests/ref_match.o: tests/ref_match.c
	@mkdir -p $(@D)
	$(FUZZ_CC) $(CSTD) $(CPPFLAGS) $(WARN) $(FUZZ_FLAGS) -MMD -MP -c -o $@ $<

build/fuzz/libkumomori-fuzz.a: $(FUZZ_LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

build/fuzz/fuzz_%: build/fuzz/obj/fuzz/fuzz_%.o build/fuzz/obj/fuzz/util.o build/fuzz/obj/tests/ref_match.o build/fuzz/libkumomori-fuzz.a
	$(FUZZ_CC) $(FUZZ_FLAGS) -fsanitize=fuzzer -o $@ $^ $(LDLIBS)

build/fuzz/match_diff: fuzz/matchdiff.c tests/ref_match.c build/libkumomori.a
	@mkdir -p $(@D)
	$(CC) $(CSTD) $(CPPFLAGS) -Itests $(WARN) $(CFLAGS) -DKM_MATCHDIFF_MAIN -o $@ fuzz/matchdiff.c tests/ref_match.c build/libkumomori.a $(LDLIBS)

fuzz-build: $(FUZZ_BIN) build/fuzz/match_diff

matchdiff: build/fuzz/match_diff
	build/fuzz/match_diff $(MATCHDIFF_N) $(MATCHDIFF_SEED)

# Runs every target for FUZZ_SECONDS each (one at a time), then the differential run.
fuzz: deps
	$(MAKE) fuzz-build
	FUZZ_SECONDS=$(FUZZ_SECONDS) bash fuzz/run.sh $(FUZZ_NAMES)
	build/fuzz/match_diff $(MATCHDIFF_N) $(MATCHDIFF_SEED)

fuzz-smoke: deps
	$(MAKE) fuzz-build
	FUZZ_SECONDS=$(FUZZ_SMOKE_SECONDS) FUZZ_SEED=$(FUZZ_SMOKE_SEED) FUZZ_FRESH=1 KUMOMORI_CORPORA=none bash fuzz/run.sh $(FUZZ_NAMES)
	build/fuzz/match_diff 100000 $(MATCHDIFF_SEED)

-include $(shell find build/obj build/asan/obj build/tsan/obj build/fuzz/obj -name '*.d' 2>/dev/null)
