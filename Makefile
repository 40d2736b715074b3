# backend-checks-results: build, test, demo, package, bench.
# `make demo` and `make test` install what they lack first (scripts/install-deps.sh).

CC       ?= cc
WERROR   ?= $(if $(CI),-Werror,)
OPT      ?= -O2
CFLAGS   ?= $(OPT) -g
WARNINGS := -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
            -Wformat=2 -Wundef -Wcast-align -Wpointer-arith -Wvla -Wnull-dereference
ALL_CFLAGS = -std=c11 -D_DEFAULT_SOURCE $(WARNINGS) $(WERROR) $(CFLAGS) $(EXTRA_CFLAGS) \
             -MMD -MP -Isrc
LDLIBS   := -lcurl -lcrypto
BUILD    ?= build

# ARCH=x86_64|arm64 (`make package ARCH=arm64`): the Lambda package for that
# architecture, build/function-ARCH.zip. The machine's own is built in BUILD
# as usual; the other one is cross-built with Debian's cross compiler and the
# architecture's static libraries (multiarch) in BUILD/ARCH, installed by
# scripts/install-cross-deps.sh. Without ARCH: build/function.zip, native.
HOST_ARCH := $(patsubst aarch64,arm64,$(shell uname -m))
ifneq ($(ARCH),)
PACKAGE_ZIP := $(BUILD)/function-$(ARCH).zip
ifneq ($(ARCH),$(HOST_ARCH))
CROSS := $(if $(filter arm64,$(ARCH)),aarch64,x86_64)-linux-gnu-
CC    := $(CROSS)gcc
override BUILD := $(BUILD)/$(ARCH)
override EXTRA_CFLAGS += -I$(LEAN_CURL)/include
endif
endif
PACKAGE_ZIP ?= $(BUILD)/function.zip

LIB_SRC  := $(filter-out src/main.c,$(wildcard src/*.c src/s3/*.c))
LIB_OBJ  := $(LIB_SRC:src/%.c=$(BUILD)/obj/%.o)
BIN      := $(BUILD)/backend-checks-results

TEST_SRC     := $(wildcard tests/unit/test_*.c tests/integration/test_*.c)
SUPPORT_SRC  := $(wildcard tests/support/*.c)
SUPPORT_OBJ  := $(SUPPORT_SRC:tests/support/%.c=$(BUILD)/obj/support/%.o)
TEST_BIN     := $(patsubst tests/%.c,$(BUILD)/tests/%,$(TEST_SRC))
# The tests check what the program writes with jansson, a reader of its own.
TEST_LDLIBS  := -ljansson -lcmocka

.PHONY: all deps demo test check-format format lint clean
all: $(BIN)

$(BUILD)/obj/%.o: src/%.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

$(BUILD)/obj/support/%.o: tests/support/%.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Itests/support -c $< -o $@

$(BUILD)/libbcr.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BIN): $(BUILD)/obj/main.o $(BUILD)/libbcr.a
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/%: tests/%.c $(SUPPORT_OBJ) $(BUILD)/libbcr.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Itests/support $(LDFLAGS) -o $@ $< $(SUPPORT_OBJ) $(BUILD)/libbcr.a \
	    $(LDLIBS) $(TEST_LDLIBS)

deps:
	@scripts/install-deps.sh

demo: deps
	@$(MAKE) --no-print-directory all
	@scripts/demo.sh $(BIN)

# Every test binary runs even if an earlier one fails; the last line sums up.
# The SIMD check (below) runs here for this machine's fast paths and the
# scalar build; `make check-arm64` adds the NEON build.
# With Debian's cross compiler installed (scripts/install-cross-deps.sh arm64;
# CI does), the static builds also package for arm64, which test_arm64 runs
# under qemu-user and test_package checks.
SIMD_CHECK_BIN = $(BUILD)/simd/json_paths $(BUILD)/simd/json_paths_scalar
TEST_ARM64 = $(if $(LEAN_STATIC),$(if $(filter x86_64,$(HOST_ARCH)),$(if \
               $(shell command -v aarch64-linux-gnu-gcc),package-arm64)))
# (TEST_ARM64 is expanded in the recipe: as a prerequisite it would be read
# before LEAN_STATIC is set below, and always be empty.)
test: deps package
	@$(if $(TEST_ARM64),$(MAKE) --no-print-directory $(TEST_ARM64))
	@$(MAKE) --no-print-directory all $(TEST_BIN) $(SIMD_CHECK_BIN)
	@scripts/run-tests.sh $(BIN) $(TEST_BIN) $(SIMD_CHECK_BIN)

# Side by side with the Python reference: prints a table; docs/benchmarks.md has one.
# BENCH_ARGS picks the cases (see bench/bench.py --help).
BENCH_ARGS ?= --sizes 1000,10000,100000 --big-gib 5 --s3 --package $(BUILD)/function.zip
.PHONY: bench
bench: deps
	@$(MAKE) --no-print-directory all package
	@bench/run.sh $(BUILD) $(BENCH_ARGS)

# The step on Lambda's terms, as root: each memory size's CPU share and memory limit (a
# cgroup), S3 over TLS with a first-byte delay and Lambda's bandwidth (bench/s3front.js),
# against the reference and the request floor; duration and cost per memory size
# (docs/benchmarks.md, "Production-shaped"). A quick set by default (11-12 min here);
# BENCH_PROD_ARGS=--full for every case (see bench/prod.py --help).
BENCH_PROD_ARGS ?=
.PHONY: bench-prod
bench-prod: deps
	@$(MAKE) --no-print-directory all package
	@bench/run.sh $(BUILD) --prod $(BENCH_PROD_ARGS)

# CRC-32C (both implementations) against SHA-256 on this machine, in bytes per
# second (bench/checksum.c; docs/benchmarks.md, "Checksums").
.PHONY: bench-checksum
bench-checksum: $(BUILD)/bench-tools/checksum
	@$<

$(BUILD)/bench-tools/checksum: bench/checksum.c $(BUILD)/libbcr.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $< $(BUILD)/libbcr.a $(LDLIBS)

# build/function.zip: the AWS Lambda package, bootstrap at its root
# (scripts/package.sh; deploying: deploy/README.md). Its program is the same
# objects linked statically with a lean libcurl (scripts/build-curl.sh, built
# once into LEAN_CURL and kept there), c-ares and OpenSSL, so that a
# cold start maps one file and loads no library. sanitize links it dynamically
# (LEAN_STATIC=): the sanitizers' runtimes are shared libraries.
LEAN_CURL   ?= $(BUILD)/curl
LEAN_STATIC ?= -static
LEAN_BIN    := $(BUILD)/lean/backend-checks-results
STATIC_LIBS := $(shell awk '!/^\#/ && NF {for (i = 3; i <= NF; i++) printf "%s ", $$i}' scripts/static-libs)
LEAN_LIBS    = $(LEAN_CURL)/lib/libcurl.a $(if $(LEAN_STATIC),,-Wl,-Bstatic) $(STATIC_LIBS) \
               $(if $(LEAN_STATIC),,-Wl,-Bdynamic) -pthread
.PHONY: package lean-curl cross-deps
package: $(LEAN_BIN)
	@CC='$(CC)' CROSS='$(CROSS)' LEAN_CURL='$(LEAN_CURL)' scripts/package.sh $(LEAN_BIN) $(PACKAGE_ZIP)

lean-curl: $(if $(CROSS),cross-deps)
	@CC='$(CC)' CROSS='$(CROSS)' scripts/build-curl.sh $(LEAN_CURL)

cross-deps:
	@scripts/install-cross-deps.sh $(ARCH)

.PHONY: package-arm64
package-arm64:
	@$(MAKE) --no-print-directory package ARCH=arm64

# Fails, naming each, when Debian offers a newer version of a library built
# into the packages in BUILD than their SBOMs record (scripts/check-deps.py;
# run apt-get update first). Then rebuild and redeploy.
.PHONY: check-deps
check-deps:
	@scripts/check-deps.py $(wildcard $(BUILD)/function*.cdx.json)

# A cross build compiles against the lean libcurl's headers: the system's are
# the machine's own architecture's.
ifneq ($(CROSS),)
$(LIB_OBJ) $(BUILD)/obj/main.o: | lean-curl
endif

$(LEAN_BIN): $(BUILD)/obj/main.o $(BUILD)/libbcr.a lean-curl
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) $(LEAN_STATIC) -o $@ $(BUILD)/obj/main.o $(BUILD)/libbcr.a \
	    $(LEAN_LIBS)

FORMATTED = $(wildcard src/*.[ch] src/s3/*.[ch] tests/*/*.[ch] fuzz/*.[ch] scripts/*.c bench/*.[ch])

format:
	clang-format -i $(FORMATTED)

check-format:
	clang-format --dry-run --Werror $(FORMATTED)

# lint: cppcheck on src/, and the GitHub Actions workflows parsed and checked
# (scripts/check-workflows.py, with Debian's python3-yaml).
# It also fails when README.md's table of settings is not the one written from
# src/settings.c (scripts/readme-settings.sh; `make readme-settings` rewrites it).
lint: $(BUILD)/settings-markdown
	cppcheck --quiet --error-exitcode=1 --enable=warning,portability,performance \
	    --inline-suppr --std=c11 -Isrc src
	@scripts/check-workflows.py .github/workflows/*.yml
	@scripts/readme-settings.sh --check $(BUILD)/settings-markdown README.md

.PHONY: readme-settings
readme-settings: $(BUILD)/settings-markdown
	@scripts/readme-settings.sh $(BUILD)/settings-markdown README.md

$(BUILD)/settings-markdown: scripts/settings-markdown.c $(BUILD)/libbcr.a
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $< $(BUILD)/libbcr.a $(LDLIBS)

clean:
	rm -rf $(BUILD)

# The architecture, checked: every include of src/ points down the layer order
# written once in scripts/check-layers.sh (docs/architecture.md), and every
# symbol a module exports begins with its name (scripts/check-names.sh).
.PHONY: check-layers docs
check-layers: $(LIB_OBJ)
	@scripts/check-layers.sh
	@BUILD=$(BUILD) scripts/check-names.sh

# docs/architecture.svg: the include graph of src/ by layer, drawn by graphviz.
docs:
	@command -v dot >/dev/null || scripts/apt-install.sh docs graphviz
	@scripts/include-graph.sh | dot -Tsvg -o docs/architecture.svg
	@echo "docs: docs/architecture.svg"

# The whole suite under ThreadSanitizer in $(BUILD)/tsan: what it checks is
# the worker threads' hand-offs (src/worker.h). Not in CI, which runs ASan and
# UBSan; the package links dynamically here, as under sanitize.
.PHONY: tsan
tsan: deps
	@TSAN_OPTIONS=halt_on_error=1:abort_on_error=1:second_deadlock_stack=1 \
	$(MAKE) --no-print-directory BUILD=$(BUILD)/tsan LEAN_CURL=$(LEAN_CURL) LEAN_STATIC= \
	    EXTRA_CFLAGS='-fsanitize=thread -fno-omit-frame-pointer' LDFLAGS='-fsanitize=thread' test

# The whole suite (unit and integration tests, the same scripts/run-tests.sh)
# on an AddressSanitizer + UndefinedBehaviorSanitizer build in $(BUILD)/sanitize.
# A report aborts the process, so the test that caused it fails.
.PHONY: sanitize
sanitize: deps
	@ASAN_OPTIONS=abort_on_error=1:detect_leaks=1:strict_string_checks=1 \
	UBSAN_OPTIONS=halt_on_error=1:abort_on_error=1:print_stacktrace=1 \
	$(MAKE) --no-print-directory BUILD=$(BUILD)/sanitize LEAN_CURL=$(LEAN_CURL) LEAN_STATIC= \
	    EXTRA_CFLAGS='-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all' \
	    LDFLAGS='-fsanitize=address,undefined' test

# libFuzzer targets (fuzz/README.md), built with clang, ASan and UBSan in
# build/fuzz; each runs for FUZZ_SECONDS (default 60; 0 replays the seed
# corpora once). Fails on any finding.
.PHONY: fuzz
fuzz:
	@scripts/install-fuzz-deps.sh
	@FUZZ_SECONDS='$(or $(FUZZ_SECONDS),60)' FUZZ_TARGETS='$(FUZZ_TARGETS)' \
	WARNINGS='$(WARNINGS)' MAKE='$(MAKE)' fuzz/run.sh

# The JSON scanner's SIMD fast paths (src/simd.h) against its scalar code and
# a reference decoder (tests/simd/json_paths.c), three ways: this machine's
# SIMD (SSE2) under ASan and UBSan, the scalar build (-DSIMD_DISABLE), and
# NEON, cross-compiled for arm64 (Graviton) and run under qemu-user.
# scripts/check-arm64.sh installs what it lacks. Optional: not in `make test`.
SIMD_CHECK_SRC := tests/simd/json_paths.c tests/simd/json_scalar.c src/json.c src/json_decode.c \
                  src/utf8.c src/buf.c src/sink.c src/error.c src/jsonw.c src/textw.c \
                  tests/support/chunked.c tests/support/memsink.c
SIMD_CHECK_DEPS := $(SIMD_CHECK_SRC) $(wildcard src/*.h tests/simd/*.h tests/support/*.h)
SIMD_CHECK_CFLAGS = -std=c11 -D_DEFAULT_SOURCE $(WARNINGS) $(WERROR) $(CFLAGS) -Isrc \
                    -Itests/support
ARM64_CC ?= aarch64-linux-gnu-gcc

$(BUILD)/simd/json_paths: $(SIMD_CHECK_DEPS)
	@mkdir -p $(dir $@)
	$(CC) $(SIMD_CHECK_CFLAGS) -fsanitize=address,undefined -fno-sanitize-recover=all \
	    -o $@ $(SIMD_CHECK_SRC)

$(BUILD)/simd/json_paths_scalar: $(SIMD_CHECK_DEPS)
	@mkdir -p $(dir $@)
	$(CC) $(SIMD_CHECK_CFLAGS) -DSIMD_DISABLE -o $@ $(SIMD_CHECK_SRC)

$(BUILD)/simd/json_paths_arm64: $(SIMD_CHECK_DEPS)
	@mkdir -p $(dir $@)
	$(ARM64_CC) $(SIMD_CHECK_CFLAGS) -o $@ $(SIMD_CHECK_SRC)

.PHONY: check-arm64
check-arm64:
	@MAKE='$(MAKE)' scripts/check-arm64.sh $(BUILD)

-include $(wildcard $(BUILD)/obj/*.d $(BUILD)/obj/support/*.d $(BUILD)/tests/*/*.d)
