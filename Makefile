# Thin front end over CMake. The README's two commands are `make run` and
# `make test`; both install what is missing first (scripts/deps.sh).
#
#   make                      build into build/
#   make test                 build and run the suite through CTest
#   make run                  build and run the demo host over examples/, then the
#                             pipeline example over examples/pipeline/data.csv
#   make test SANITIZE=address|thread   the same under ASan+UBSan or TSan
#   make valgrind             a subset of the suite under valgrind memcheck
#   make bench [BENCH=native|js|threads|ppc]  the benchmarks (Release build), or one section
#   make fuzz [FUZZ_SECONDS=30]  libFuzzer targets (clang), bounded time each
#   make soak [SOAK_SECONDS=300] [SANITIZE=…]  load/reload/unload under calls
#   make format | format-check | tidy
SHELL := /bin/bash
SANITIZE ?=
MAKEFLAGS += --no-print-directory
BUILD_TYPE ?= RelWithDebInfo
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
DEPS_DIR := $(CURDIR)/build/_deps

ifeq ($(SANITIZE),)
BDIR := build
else
BDIR := build/san-$(SANITIZE)
endif

CMAKE_ARGS := -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) -DPOLYPLUG_SANITIZE=$(SANITIZE) \
	-DPOLYPLUG_DEPS_DIR=$(DEPS_DIR)

FUZZ_SECONDS ?= 30
SOAK_SECONDS ?= 300

.PHONY: all deps configure build test run valgrind bench fuzz soak format format-check tidy clean install

all: build

# What the packages are for (scripts/deps.sh --for): each target installs
# only what it needs; `make run` no test or lint tools.
DEPS_FOR ?= test

deps:
	@scripts/deps.sh --for $(DEPS_FOR) $(DEPS_DIR)

# Configured every time (it is quick): a build first configured without
# cmocka (by `make run`) gains its tests once cmocka is there. After deps,
# even under make -j: CMake needs the sources deps fetches.
configure: deps
	@cmake -S . -B $(BDIR) $(CMAKE_ARGS) >/dev/null

# The log goes to a file; the terminal sees the percentage as it grows, and
# the whole log when the build fails.
build: configure
	@set -o pipefail; printf 'building %s: ' "$(BDIR)"; \
	cmake --build $(BDIR) -j $(JOBS) 2>&1 | tee $(BDIR)/build.log | \
		awk 'match($$0, /^\[ *[0-9]+%\]/) { p = substr($$0, 2, RLENGTH - 3) + 0; \
		     if (p >= shown + 10 || p == 100) { printf "%d%% ", p; shown = p; fflush() } } \
		     END { print "done" }' || \
		{ echo; cat $(BDIR)/build.log; echo "build failed (log: $(BDIR)/build.log)" >&2; exit 1; }

test: build
	@ctest --test-dir $(BDIR) --output-on-failure -j $(JOBS)

run: DEPS_FOR = run
run: build
	@$(BDIR)/examples/demo_host examples
	@echo
	@$(BDIR)/examples/pipeline/pipeline_host examples/pipeline/bundles examples/pipeline/data.csv

valgrind: build
	@ctest --test-dir $(BDIR) --output-on-failure -L valgrind

fuzz: DEPS_FOR = fuzz
fuzz: deps
	@scripts/fuzz.sh $(FUZZ_SECONDS)

soak: build
	@$(BDIR)/tests/pp_soak $(SOAK_SECONDS)

bench:
	@$(MAKE) --no-print-directory build BDIR=build/release BUILD_TYPE=Release
	@build/release/bench/pp_bench $(BENCH)

FORMAT_FILES = $(shell git ls-files '*.c' '*.h')
format format-check tidy: DEPS_FOR = lint
format: deps
	@clang-format -i $(FORMAT_FILES)
format-check: deps
	@clang-format --dry-run --Werror $(FORMAT_FILES)
TIDY_FILES = $(shell git ls-files '*.c' ':!fuzz/*')  # fuzz/ builds with clang -Werror on its own
tidy: build
	@clang-tidy -p $(BDIR) --quiet $(TIDY_FILES) 2>/dev/null | grep -E -A3 'warning:|error:' ; \
		test $${PIPESTATUS[0]} -eq 0

install: DEPS_FOR = run
install: build
	@cmake --install $(BDIR) --prefix $(or $(PREFIX),/usr/local)

clean:
	@rm -rf build/san-* build/release $(filter-out build/_deps,$(wildcard build/*))
