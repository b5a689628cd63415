# zeval — build, test and benchmark.
#
#   make            build ./zeval (CPU backend)
#   make test       build normal and ASan+UBSan variants, run every test under both
#   make bench      run the benchmarks in bench/
#
# Objects go to build/<variant>/ so the sanitizer build never mixes with the
# optimised one.

CC      ?= cc
CSTD     = -std=c11
WARN     = -Wall -Wextra -Werror -Wshadow -Wno-unused-parameter
OPT     ?= -O2 -g
CFLAGS_BASE = $(CSTD) $(WARN) -D_DEFAULT_SOURCE -I.
LIBS     = -lcjson -lpcre2-8 -lmpfr -lgmp -lcurl -lz -lsqlite3 -lm -lpthread -lseccomp

SAN_FLAGS = -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined

# Every .c file of a module directory is part of the build; every
# tests/test_*.c is a test program.
ENGINE_SRC  = $(sort $(wildcard engine/*.c))
GRADERS_SRC = $(sort $(wildcard graders/*.c))
MAIN_SRC    = harness/main.c
HARNESS_SRC = $(filter-out $(MAIN_SRC),$(sort $(wildcard harness/*.c)))
DATASETS_SRC = $(sort $(wildcard datasets/*.c))
REPORTS_SRC = $(sort $(wildcard reports/*.c))
LIB_SRC     = $(ENGINE_SRC) $(GRADERS_SRC) $(HARNESS_SRC) $(DATASETS_SRC) $(REPORTS_SRC)

TESTS = $(sort $(basename $(notdir $(wildcard tests/test_*.c))))

B  = build/rel
BS = build/asan

HDRS = $(wildcard engine/*.h graders/*.h harness/*.h datasets/*.h reports/*.h tests/*.h)

.PHONY: all fuzz test test-rel test-asan bench clean

all: zeval

zeval: $(B)/zeval
	cp $< $@

# --- object rules, one per variant
$(B)/%.o: %.c $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_BASE) $(OPT) -c $< -o $@

$(BS)/%.o: %.c $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_BASE) $(SAN_FLAGS) -c $< -o $@

$(B)/zeval: $(addprefix $(B)/,$(LIB_SRC:.c=.o) $(MAIN_SRC:.c=.o))
	$(CC) $(OPT) -o $@ $^ $(LIBS)

$(BS)/zeval: $(addprefix $(BS)/,$(LIB_SRC:.c=.o) $(MAIN_SRC:.c=.o))
	$(CC) $(SAN_FLAGS) -o $@ $^ $(LIBS)

$(B)/tests/%: $(B)/tests/%.o $(B)/tests/check.o $(addprefix $(B)/,$(LIB_SRC:.c=.o))
	$(CC) $(OPT) -o $@ $^ $(LIBS)

$(BS)/tests/%: $(BS)/tests/%.o $(BS)/tests/check.o $(addprefix $(BS)/,$(LIB_SRC:.c=.o))
	$(CC) $(SAN_FLAGS) -o $@ $^ $(LIBS)

.SECONDARY:

# --- fuzz targets (clang + libFuzzer), run inside `make test`
# Engine objects are built once under build/fuzz/ with -fsanitize=fuzzer-no-link
# (coverage only); each target links them with libFuzzer's main.
FUZZ_CC    ?= clang
FUZZ_RUNS  ?= 100000
BF          = build/fuzz
FUZZ_SAN    = address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
FUZZ_FLAGS  = $(CSTD) -D_DEFAULT_SOURCE -I. -g -O1
FUZZ_BIN    = $(addprefix $(BF)/fuzz_,safetensors index config grade)
HAVE_FUZZ  := $(shell echo 'int LLVMFuzzerTestOneInput(const char*d,long n){(void)d;(void)n;return 0;}' | \
                $(FUZZ_CC) -x c -fsanitize=fuzzer -o /dev/null - 2>/dev/null && echo yes)

$(BF)/obj/%.o: %.c $(HDRS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_FLAGS) -fsanitize=fuzzer-no-link,$(FUZZ_SAN) -c $< -o $@

$(BF)/fuzz_%: $(BF)/obj/tests/fuzz/fuzz_%.o $(addprefix $(BF)/obj/,$(ENGINE_SRC:.c=.o) $(GRADERS_SRC:.c=.o))
	$(FUZZ_CC) -g -fsanitize=fuzzer,$(FUZZ_SAN) -o $@ $^ $(LIBS)

ifeq ($(HAVE_FUZZ),yes)
fuzz: $(FUZZ_BIN)
else
fuzz:
	@echo "clang with libFuzzer not found: fuzz targets will be reported as skipped"
endif

# FUZZ_DIR tells tests/run.sh where the fuzz binaries are ("none": skip them).
test: fuzz $(B)/zeval $(BS)/zeval $(addprefix $(B)/tests/,$(TESTS)) $(addprefix $(BS)/tests/,$(TESTS))
	@FUZZ_RUNS=$(FUZZ_RUNS) FUZZ_DIR=$(if $(HAVE_FUZZ),$(BF),none) sh tests/run.sh $(B) $(BS) -- $(TESTS)

bench: $(B)/zeval
	@sh bench/run.sh $(B)

clean:
	rm -rf build zeval
