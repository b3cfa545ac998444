# incrdump developer targets.
#
#   make ctest   C unit tests (tests/c/test_*.c), gcc + ASan/UBSan, each a program
#   make fuzz    libFuzzer targets (tests/fuzz/fuzz_*.c), FUZZ_SECONDS each (clang)
#   make test    scripts/test: install what is missing, ctest, fuzz, pytest
#   make demo    scripts/demo
#   make clean   remove build products
#
# The C core is linked into tests from a static archive, so a test pulls in
# only the csrc objects it needs.

SHELL := /bin/bash

CSRC   := $(sort $(wildcard csrc/*.c))
CHDR   := $(sort $(wildcard csrc/*.h))
LIBS   := -lzstd -llzma -lz -lm

SAN    := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
# _GNU_SOURCE is defined empty, exactly as `#define _GNU_SOURCE` in a source
# file would, so a file that defines it too gets no redefinition warning.
CFLAGS_COMMON := -std=c11 -D_GNU_SOURCE= -g -Wall -Wextra -Icsrc

# ---- C unit tests ------------------------------------------------------------
CTEST_CC     ?= gcc
CTEST_CFLAGS := $(CFLAGS_COMMON) -O1 $(SAN) -Werror
CTEST_DIR    := build/ctest
CTEST_SRCS   := $(sort $(wildcard tests/c/test_*.c))
CTEST_BINS   := $(patsubst tests/c/%.c,$(CTEST_DIR)/%,$(CTEST_SRCS))
CTEST_OBJS   := $(patsubst csrc/%.c,$(CTEST_DIR)/obj/%.o,$(CSRC))

export ASAN_OPTIONS  ?= detect_leaks=1
export UBSAN_OPTIONS ?= print_stacktrace=1:halt_on_error=1

$(CTEST_DIR)/obj/%.o: csrc/%.c $(CHDR)
	@mkdir -p $(@D)
	$(CTEST_CC) $(CTEST_CFLAGS) -c -o $@ $<

$(CTEST_DIR)/libincrdump.a: $(CTEST_OBJS) csrc
	@mkdir -p $(@D)
	rm -f $@
	ar rcs $@ $(CTEST_OBJS)

$(CTEST_DIR)/test_%: tests/c/test_%.c $(CTEST_DIR)/libincrdump.a $(CHDR) $(wildcard tests/c/*.h)
	$(CTEST_CC) $(CTEST_CFLAGS) -Itests/c -o $@ $< $(CTEST_DIR)/libincrdump.a $(LIBS)

.PHONY: ctest
ctest: $(CTEST_BINS)
	@pass=0; fail=0; failed=; \
	for t in $(CTEST_BINS); do \
	    echo "--- $$t"; \
	    if ./$$t; then pass=$$((pass+1)); \
	    else echo "FAILED: $$t (exit $$?)"; fail=$$((fail+1)); failed="$$failed $$t"; fi; \
	done; \
	if [ -n "$$failed" ]; then echo "ctest failures:$$failed"; fi; \
	echo "ctest: $$pass passed, $$fail failed"; \
	[ $$fail -eq 0 ]

# ---- fuzzing (clang libFuzzer) ---------------------------------------------------
# Each tests/fuzz/fuzz_NAME.c defines LLVMFuzzerTestOneInput. Its seeds are
# tests/fuzz/corpus/NAME/ (read only); inputs libFuzzer finds go to
# build/fuzz/work/NAME/, crash reproducers to build/fuzz/artifacts/.
FUZZ_SECONDS ?= 20
FUZZ_FLAGS   ?= -timeout=10 -rss_limit_mb=2048
FUZZ_CC      ?= clang
FUZZ_CFLAGS  := $(CFLAGS_COMMON) -O1 -fno-omit-frame-pointer -fno-sanitize-recover=all
FUZZ_DIR     := build/fuzz
FUZZ_SRCS    := $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BINS    := $(patsubst tests/fuzz/%.c,$(FUZZ_DIR)/%,$(FUZZ_SRCS))
FUZZ_OBJS    := $(patsubst csrc/%.c,$(FUZZ_DIR)/obj/%.o,$(CSRC))

$(FUZZ_DIR)/obj/%.o: csrc/%.c $(CHDR)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link,address,undefined -c -o $@ $<

$(FUZZ_DIR)/libincrdump.a: $(FUZZ_OBJS) csrc
	@mkdir -p $(@D)
	rm -f $@
	ar rcs $@ $(FUZZ_OBJS)

$(FUZZ_DIR)/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_DIR)/libincrdump.a $(CHDR)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer,address,undefined -o $@ $< $(FUZZ_DIR)/libincrdump.a $(LIBS)

.PHONY: fuzz fuzz-check-cc
fuzz-check-cc:
	@command -v $(FUZZ_CC) >/dev/null || { echo "fuzz: $(FUZZ_CC) not found; run scripts/install-deps --fuzz" >&2; exit 1; }

fuzz: fuzz-check-cc $(FUZZ_BINS)
	@pass=0; fail=0; failed=; \
	for bin in $(FUZZ_BINS); do \
	    name=$${bin##*/fuzz_}; seeds=tests/fuzz/corpus/$$name; \
	    work=$(FUZZ_DIR)/work/$$name; log=$(FUZZ_DIR)/$$name.log; \
	    rm -rf $$work; mkdir -p $$work $(FUZZ_DIR)/artifacts; \
	    [ -d $$seeds ] || { echo "fuzz: $$name has no seed corpus $$seeds/"; seeds=; }; \
	    echo "--- fuzz $$name for $(FUZZ_SECONDS)s"; \
	    if ./$$bin -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
	           -artifact_prefix=$(FUZZ_DIR)/artifacts/$$name- $(FUZZ_FLAGS) \
	           $$work $$seeds >$$log 2>&1; then \
	        pass=$$((pass+1)); \
	        grep -E 'stat::number_of_executed_units|INITED|DONE' $$log | tr '\n' ' '; echo; \
	    else \
	        echo "FAILED: fuzz $$name; from $$log:"; \
	        awk '/==ERROR|runtime error|deadly signal|ERROR: libFuzzer/{p=1} p' $$log | head -n 25; \
	        tail -n 8 $$log; \
	        fail=$$((fail+1)); failed="$$failed $$name"; \
	    fi; \
	done; \
	if [ -n "$$failed" ]; then echo "fuzz failures:$$failed (reproducers in $(FUZZ_DIR)/artifacts/)"; fi; \
	echo "fuzz: $$pass passed, $$fail failed"; \
	[ $$fail -eq 0 ]

# ---- scripts and cleanup -----------------------------------------------------------
.PHONY: test demo clean
test:
	scripts/test

demo:
	scripts/demo

clean:
	rm -rf build dist *.egg-info
	find incrdump -name '*.so' -delete
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
