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
LIBS     = -lcjson -lm -lpthread

SAN_FLAGS = -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined

ENGINE_SRC  = engine/util.c engine/safetensors.c engine/config.c engine/model.c engine/forward.c engine/sampler.c engine/serve.c engine/init.c engine/vocab_count.c engine/tokenizer.c
HARNESS_SRC = harness/args.c harness/cli_logits.c harness/cli_generate.c harness/cli_tokenize.c harness/cli_init.c harness/cli_bench.c
MAIN_SRC    = harness/main.c
LIB_SRC     = $(ENGINE_SRC) $(HARNESS_SRC)

TESTS = test_golden test_layouts test_batch test_sampler test_init test_corrupt test_tokenizer

B  = build/rel
BS = build/asan

HDRS = $(wildcard engine/*.h harness/*.h tests/*.h)

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
FUZZ_CC    ?= clang
FUZZ_RUNS  ?= 100000
FUZZ_FLAGS  = -std=c11 -D_DEFAULT_SOURCE -I. -g -O1 -fsanitize=fuzzer,address,undefined
FUZZ_BIN    = $(addprefix build/fuzz/fuzz_,safetensors index config)
HAVE_FUZZ  := $(shell echo 'int LLVMFuzzerTestOneInput(const char*d,long n){(void)d;(void)n;return 0;}' | \
                $(FUZZ_CC) -x c -fsanitize=fuzzer -o /dev/null - 2>/dev/null && echo yes)

build/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(ENGINE_SRC) $(HDRS)
	@mkdir -p build/fuzz
	$(FUZZ_CC) $(FUZZ_FLAGS) -o $@ $< $(ENGINE_SRC) $(LIBS)

ifeq ($(HAVE_FUZZ),yes)
fuzz: $(FUZZ_BIN)
else
fuzz:
	@echo "clang with libFuzzer not found: fuzz targets will be reported as skipped"
endif

test: fuzz $(B)/zeval $(BS)/zeval $(addprefix $(B)/tests/,$(TESTS)) $(addprefix $(BS)/tests/,$(TESTS))
	@FUZZ_RUNS=$(FUZZ_RUNS) sh tests/run.sh $(B) $(BS) -- $(TESTS)

bench: $(B)/zeval
	@sh bench/run.sh $(B)

clean:
	rm -rf build zeval
