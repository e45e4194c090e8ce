# scratchnet — one Makefile for the core library, the server, tests and benchmarks.
#
#   make            build the server binary ./scratchnet
#   make run        install missing Debian packages (as root), build, serve on :8080
#   make test       every test suite, then all of them again under ASan + UBSan
#   make bench      the benchmarks (figures only, never pass/fail on speed)
#   make fuzz       every libFuzzer harness (tests/fuzz) for FUZZ_SECONDS each
#   make valgrind   the unit and integration suites with the server under valgrind
#
# Objects go to $(BUILD) (build/ or build-asan/ for the sanitizer run).

CC      ?= cc
BUILD   ?= build
SAN     ?=
OPT     ?= -O2
PKGS    := libmicrohttpd libcjson sqlite3
TESTPKGS:= check libcurl

CFLAGS  += -std=c11 $(OPT) -g -Wall -Wextra -Werror -Wno-format-truncation -D_GNU_SOURCE -pthread -Icore -Iserver -I$(BUILD)
ifeq ($(SAN),1)
CFLAGS  += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
LDFLAGS += -fsanitize=address,undefined
endif
# The fuzzers' build (make fuzz, clang): coverage for libFuzzer on every object.
ifeq ($(SAN),fuzz)
CFLAGS  += -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all \
           -Wno-unknown-warning-option
LDFLAGS += -fsanitize=address,undefined
endif
SRV_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
SRV_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lm
TEST_CFLAGS:= $(shell pkg-config --cflags $(TESTPKGS) 2>/dev/null)
TEST_LIBS  := $(shell pkg-config --libs $(TESTPKGS) 2>/dev/null)

CORE_SRC   := $(wildcard core/*.c)
SERVER_SRC := $(filter-out server/main.c,$(wildcard server/*.c))
EMBEDDED   := $(sort $(wildcard migrations/*.sql)) docs/openapi.yaml $(wildcard web/*)
CORE_OBJ   := $(CORE_SRC:%.c=$(BUILD)/%.o)
SERVER_OBJ := $(SERVER_SRC:%.c=$(BUILD)/%.o) $(BUILD)/embedded.o
UNIT_TESTS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(wildcard tests/unit/test_*.c))
INTEG_TESTS:= $(patsubst tests/integration/%.c,$(BUILD)/tests/%,$(wildcard tests/integration/test_*.c))
INTEG_LIB  := $(filter-out $(wildcard tests/integration/test_*.c),$(wildcard tests/integration/*.c))

.PHONY: all run test test-run test-asan test-browser bench clean deps \
        fuzz fuzz-build fuzz-bins fuzz-regress valgrind valgrind-run
all: scratchnet

scratchnet: $(BUILD)/scratchnet
	cp $< $@

$(BUILD)/scratchnet: $(BUILD)/server/main.o $(SERVER_OBJ) $(BUILD)/libscratchnet.a
	$(CC) $(LDFLAGS) -pthread -o $@ $^ $(SRV_LIBS)

$(BUILD)/libscratchnet.a: $(CORE_OBJ)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/core/%.o: core/%.c core/*.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

$(BUILD)/server/%.o: server/%.c server/*.h core/scratchnet.h $(BUILD)/embedded.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(SRV_CFLAGS) -c -o $@ $<

# Migrations, the OpenAPI document and the web page are compiled into the binary.
$(BUILD)/tools/embed: tools/embed.c
	@mkdir -p $(dir $@)
	$(CC) -std=c11 -O1 -Wall -Wextra -Werror -o $@ $<
$(BUILD)/embedded.c $(BUILD)/embedded.h: $(BUILD)/tools/embed $(EMBEDDED)
	$(BUILD)/tools/embed $(BUILD)/embedded.c $(BUILD)/embedded.h $(EMBEDDED)
$(BUILD)/embedded.o: $(BUILD)/embedded.c
	$(CC) -std=c11 -O1 -c -o $@ $<

# Unit tests link the core and the server's modules (not main); integration
# tests talk to the real binary over HTTP and link only libcurl and Check.
$(BUILD)/tests/%: tests/unit/%.c $(SERVER_OBJ) $(BUILD)/libscratchnet.a tests/unit/*.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(SRV_CFLAGS) $(TEST_CFLAGS) -Itests/unit -o $@ $< $(SERVER_OBJ) $(BUILD)/libscratchnet.a $(LDFLAGS) $(SRV_LIBS) $(TEST_LIBS)
$(BUILD)/tests/%: tests/integration/%.c $(INTEG_LIB) tests/integration/*.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(TEST_CFLAGS) $(SRV_CFLAGS) -Itests/integration -o $@ $< $(INTEG_LIB) $(LDFLAGS) $(TEST_LIBS) $(SRV_LIBS)

# Runs every suite of this build; SCRATCHNET_BIN tells integration tests which binary.
test-run: $(BUILD)/scratchnet $(UNIT_TESTS) $(INTEG_TESTS)
	@SCRATCHNET_BIN=$(CURDIR)/$(BUILD)/scratchnet sh tools/run-tests.sh "$(BUILD)" $(UNIT_TESTS) $(INTEG_TESTS)

test-asan:
	$(MAKE) BUILD=build-asan SAN=1 OPT=-O1 test-run

test:
	@sh tools/deps.sh test
	$(MAKE) test-run
	$(MAKE) test-asan
	$(MAKE) test-browser
	$(MAKE) fuzz-regress
	@echo "all suites passed, also under AddressSanitizer + UndefinedBehaviorSanitizer"

# The web page in Debian's Chromium, driven by playwright-core (tests/browser,
# node's own test runner): the real binary, a real browser, no browser download.
test-browser: $(BUILD)/scratchnet
	npm ci --prefix tests/browser --no-audit --no-fund --loglevel=error
	SCRATCHNET_BIN=$(CURDIR)/$(BUILD)/scratchnet node --test tests/browser/*.test.mjs

run: deps scratchnet
	./scratchnet --db scratchnet.db

# Installs the Debian packages the build and tests need when run as root;
# otherwise says which are missing.
deps:
	@sh tools/deps.sh

bench: scratchnet
	@sh tools/deps.sh bench
	$(MAKE) -C bench

# ---- fuzzing (tests/fuzz): one libFuzzer harness per entry point, built with
# clang into build-fuzz/ (every object instrumented, ASan + UBSan).
FUZZ_CC      ?= clang-14
FUZZ_SECONDS ?= 60
FUZZERS      := $(patsubst tests/fuzz/fuzz_%.c,%,$(wildcard tests/fuzz/fuzz_*.c))

$(BUILD)/fuzz/%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz.h $(SERVER_OBJ) $(BUILD)/libscratchnet.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(SRV_CFLAGS) -fsanitize=fuzzer -o $@ $< $(SERVER_OBJ) $(BUILD)/libscratchnet.a $(LDFLAGS) $(SRV_LIBS)
fuzz-bins: $(FUZZERS:%=$(BUILD)/fuzz/%)
fuzz-build:
	$(MAKE) BUILD=build-fuzz SAN=fuzz CC=$(FUZZ_CC) OPT=-O1 fuzz-bins

# Runs each harness for FUZZ_SECONDS on its seed corpus (new inputs go to
# build-fuzz/corpus/); a crash is saved under build-fuzz/crashes/<harness>/.
fuzz: fuzz-build
	@sh tests/fuzz/run.sh run $(FUZZ_SECONDS) $(FUZZERS)

# Replays the seed corpora and every committed crash (tests/fuzz/regressions)
# once, without fuzzing: part of make test.
fuzz-regress: fuzz-build
	@sh tests/fuzz/run.sh replay 0 $(FUZZERS)

# ---- valgrind: a plain -O1 build (build-vg), the unit suites under valgrind
# and the integration suites with the server binary under valgrind
# (tests/valgrind/scratchnet-vg wraps it; logs in build-vg/valgrind/).
valgrind:
	$(MAKE) BUILD=build-vg OPT=-O1 valgrind-run
valgrind-run: $(BUILD)/scratchnet $(UNIT_TESTS) $(INTEG_TESTS)
	@sh tests/valgrind/run.sh "$(BUILD)" "$(UNIT_TESTS)" "$(INTEG_TESTS)"

clean:
	rm -rf build build-asan build-fuzz build-vg scratchnet
