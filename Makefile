# zeval — build, test and benchmark.
#
#   make            build ./zeval (CPU backend)
#   make test       build normal and ASan+UBSan variants, run every test under both
#                   (and the GPU kernels on the CPU emulation, also with its
#                   shared-memory race check, build/race/zeval-emu)
#   make bench      run the benchmarks in bench/
#   make GPU=cuda   build ./zeval with the HIP backend through nvcc (NVIDIA)
#   make GPU=hip    ... through hipcc (AMD)
#   make GPU=emu    ... through g++ and the CPU emulation of HIP (for tests)
#   make test-gpu   only the GPU section of the tests (tests/gpu/run.sh)
#
# Objects go to build/<variant>/ so the sanitizer build never mixes with the
# optimised one.  The C objects are the same in every GPU mode: CPU-only
# binaries link engine/gpu/none.o, $(B)/zeval-{cuda,hip,emu} link the
# engine/gpu/*.hip sources compiled by that toolchain (in $(B)/gpu-<mode>/,
# e.g. build/rel/gpu-cuda/engine/gpu/kernels.o).

CC      ?= cc
CSTD     = -std=c11
WARN     = -Wall -Wextra -Werror -Wshadow -Wno-unused-parameter
OPT     ?= -O2 -g
CFLAGS_BASE = $(CSTD) $(WARN) -D_DEFAULT_SOURCE -I.
LIBS     = -lcjson -lpcre2-8 -lmpfr -lgmp -lcurl -lz -lsqlite3 -lm -lpthread -lseccomp

SAN_FLAGS = -O1 -g -fsanitize=address,undefined,float-cast-overflow -fno-omit-frame-pointer \
            -fno-sanitize-recover=undefined,float-cast-overflow

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
BR = build/race

HDRS = $(wildcard engine/*.h graders/*.h harness/*.h datasets/*.h reports/*.h tests/*.h tests/fuzz/*.h) \
       $(filter-out engine/gpu/gpu_compat.h,$(wildcard engine/gpu/*.h))

# The GPU interface of CPU-only binaries (and of the test programs).
NONE_SRC = engine/gpu/none.c
CPU_OBJ  = $(LIB_SRC:.c=.o) $(MAIN_SRC:.c=.o)

.PHONY: all fuzz test test-gpu test-rel test-asan bench clean FORCE

all: zeval

# --- GPU backends (engine/gpu/*.hip, one HIP source for every vendor)
#   GPU=       (default) CPU only: ./zeval is $(B)/zeval
#   GPU=cuda   nvcc + engine/gpu/compat/nvidia (CUDA_HOME, NVCC, CUDA_ARCH)
#   GPU=hip    hipcc (HIPCC, HIP_ARCH)
#   GPU=emu    g++ + engine/gpu/compat/cpu, the CPU emulation used by the tests
# The tool variables are expanded only when a GPU object is built, so the
# CPU build never runs them.
GPU       ?=
ifneq ($(filter-out cuda hip emu,$(GPU)),)
$(error GPU must be empty (CPU only), cuda, hip or emu, not '$(GPU)')
endif
GPU_SRC    = $(sort $(wildcard engine/gpu/*.hip))
GPU_HDRS   = $(wildcard engine/gpu/*.h engine/*.h)

CUDA_HOME ?= $(patsubst %/bin/nvcc,%,$(firstword $(shell command -v nvcc 2>/dev/null) /usr/local/cuda/bin/nvcc))
NVCC      ?= $(if $(wildcard $(CUDA_HOME)/bin/nvcc),$(CUDA_HOME)/bin/nvcc,nvcc)
CUDA_ARCH ?= sm_90
NVCC_FLAGS = -std=c++17 -O2 -arch=$(CUDA_ARCH) -isystem engine/gpu/compat/nvidia -x cu \
             -Xcompiler -Wall,-Wextra -Werror all-warnings -I.
CUDA_LIBS  = -L$(CUDA_HOME)/lib64 -lcudart_static -ldl -lrt -lpthread -lstdc++

HIPCC     ?= hipcc
HIP_ARCH  ?= gfx90a
HIPCC_FLAGS = -std=c++17 -O2 --offload-arch=$(HIP_ARCH) -Wall -Wextra -Werror -I.
HIP_LIBS   = -lamdhip64 -lstdc++

EMU_CXX   ?= g++
EMU_DIR   ?= engine/gpu/compat/cpu
EMU_SRC    = $(EMU_DIR)/emu.cc
# x86-64: fused multiply-add in hardware (the kernels' fmaf is otherwise a
# libm call); the same results, the emulation several times faster.
EMU_ARCH  := $(if $(filter x86_64,$(shell uname -m)),-mfma)
EMU_FLAGS  = -std=c++17 -DZEVAL_GPU_EMU -Wall -Wextra -Werror -I. -isystem $(EMU_DIR) $(EMU_ARCH)
EMU_LIBS   = -lstdc++
# The race-check emulation ($(BR)/zeval-emu): the kernels compiled with
# ThreadSanitizer's instrumentation only, its calls answered by emu.cc's
# shared-memory race check (ZEMU_RACE), no ThreadSanitizer runtime.
RACE_FLAGS = -O2 -g -fsanitize=thread --param tsan-instrument-func-entry-exit=0 -Wno-tsan

ZEVAL_BIN  = $(B)/zeval$(if $(GPU),-$(GPU))

# ./zeval is a copy of the binary of the mode asked for; build/.zeval-from
# names it, so that switching modes copies again.
zeval: $(ZEVAL_BIN) build/.zeval-from
	cp $< $@

build/.zeval-from: FORCE
	@mkdir -p $(dir $@); echo '$(ZEVAL_BIN)' | cmp -s - $@ || echo '$(ZEVAL_BIN)' >$@

FORCE:

# --- object rules, one per variant
$(B)/%.o: %.c $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_BASE) $(OPT) -c $< -o $@

$(BS)/%.o: %.c $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_BASE) $(SAN_FLAGS) -c $< -o $@

$(B)/zeval: $(addprefix $(B)/,$(CPU_OBJ) $(NONE_SRC:.c=.o))
	$(CC) $(OPT) -o $@ $^ $(LIBS)

$(BS)/zeval: $(addprefix $(BS)/,$(CPU_OBJ) $(NONE_SRC:.c=.o))
	$(CC) $(SAN_FLAGS) -o $@ $^ $(LIBS)

$(B)/tests/%: $(B)/tests/%.o $(B)/tests/check.o $(addprefix $(B)/,$(LIB_SRC:.c=.o) $(NONE_SRC:.c=.o))
	$(CC) $(OPT) -o $@ $^ $(LIBS)

$(BS)/tests/%: $(BS)/tests/%.o $(BS)/tests/check.o $(addprefix $(BS)/,$(LIB_SRC:.c=.o) $(NONE_SRC:.c=.o))
	$(CC) $(SAN_FLAGS) -o $@ $^ $(LIBS)

# --- GPU objects and binaries (same C objects, minus none.o).  A HIP
# source x/y.hip compiles to $(B)/gpu-<mode>/x/y.o.
GPU_OBJ  = $(GPU_SRC:.hip=.o)
NV_HDRS  = $(wildcard engine/gpu/compat/nvidia/hip/*.h)
EMU_HDRS = $(wildcard $(EMU_DIR)/hip/*.h)

$(B)/gpu-cuda/%.o: %.hip $(GPU_HDRS) $(NV_HDRS)
	@mkdir -p $(dir $@)
	$(NVCC) $(NVCC_FLAGS) -c $< -o $@

$(B)/gpu-hip/%.o: %.hip $(GPU_HDRS)
	@mkdir -p $(dir $@)
	$(HIPCC) $(HIPCC_FLAGS) -c -x hip $< -o $@

$(B)/gpu-emu/%.o: %.hip $(GPU_HDRS) $(EMU_HDRS)
	@mkdir -p $(dir $@)
	$(EMU_CXX) $(EMU_FLAGS) -O2 -g -x c++ -c $< -o $@

$(BS)/gpu-emu/%.o: %.hip $(GPU_HDRS) $(EMU_HDRS)
	@mkdir -p $(dir $@)
	$(EMU_CXX) $(EMU_FLAGS) $(SAN_FLAGS) -x c++ -c $< -o $@

$(B)/gpu-emu/%.o: %.cc $(EMU_HDRS)
	@mkdir -p $(dir $@)
	$(EMU_CXX) $(EMU_FLAGS) -O2 -g -x c++ -c $< -o $@

$(BS)/gpu-emu/%.o: %.cc $(EMU_HDRS)
	@mkdir -p $(dir $@)
	$(EMU_CXX) $(EMU_FLAGS) $(SAN_FLAGS) -x c++ -c $< -o $@

$(BR)/gpu-emu/%.o: %.hip $(GPU_HDRS) $(EMU_HDRS)
	@mkdir -p $(dir $@)
	$(EMU_CXX) $(EMU_FLAGS) $(RACE_FLAGS) -x c++ -c $< -o $@

$(BR)/gpu-emu/%.o: %.cc $(EMU_HDRS)
	@mkdir -p $(dir $@)
	$(EMU_CXX) $(EMU_FLAGS) -DZEMU_RACE -O2 -g -x c++ -c $< -o $@

$(B)/zeval-cuda: $(addprefix $(B)/,$(CPU_OBJ)) $(addprefix $(B)/gpu-cuda/,$(GPU_OBJ))
	$(CC) $(OPT) -o $@ $^ $(LIBS) $(CUDA_LIBS)

$(B)/zeval-hip: $(addprefix $(B)/,$(CPU_OBJ)) $(addprefix $(B)/gpu-hip/,$(GPU_OBJ))
	$(CC) $(OPT) -o $@ $^ $(LIBS) $(HIP_LIBS)

$(B)/zeval-emu: $(addprefix $(B)/,$(CPU_OBJ)) $(addprefix $(B)/gpu-emu/,$(GPU_OBJ) $(EMU_SRC:.cc=.o))
	$(CC) $(OPT) -o $@ $^ $(LIBS) $(EMU_LIBS)

$(BS)/zeval-emu: $(addprefix $(BS)/,$(CPU_OBJ)) $(addprefix $(BS)/gpu-emu/,$(GPU_OBJ) $(EMU_SRC:.cc=.o))
	$(CC) $(SAN_FLAGS) -o $@ $^ $(LIBS) $(EMU_LIBS)

$(BR)/zeval-emu: $(addprefix $(B)/,$(CPU_OBJ)) $(addprefix $(BR)/gpu-emu/,$(GPU_OBJ) $(EMU_SRC:.cc=.o))
	$(CC) $(OPT) -o $@ $^ $(LIBS) $(EMU_LIBS)

.SECONDARY:

# --- fuzz targets (clang + libFuzzer), run inside `make test`
# Engine objects are built once under build/fuzz/ with -fsanitize=fuzzer-no-link
# (coverage only); each target links them with libFuzzer's main.
FUZZ_CC    ?= clang
FUZZ_RUNS  ?= 100000
BF          = build/fuzz
FUZZ_SAN    = address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
FUZZ_FLAGS  = $(CSTD) -D_DEFAULT_SOURCE -I. -g -O1
FUZZ_BIN    = $(addprefix $(BF)/fuzz_,safetensors index config grade dataset chat tokenizer tokjson \
                store)
HAVE_FUZZ  := $(shell echo 'int LLVMFuzzerTestOneInput(const char*d,long n){(void)d;(void)n;return 0;}' | \
                $(FUZZ_CC) -x c -fsanitize=fuzzer -o /dev/null - 2>/dev/null && echo yes)

$(BF)/obj/%.o: %.c $(HDRS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_FLAGS) -fsanitize=fuzzer-no-link,$(FUZZ_SAN) -c $< -o $@

FUZZ_OBJ    = $(ENGINE_SRC:.c=.o) $(GRADERS_SRC:.c=.o) $(DATASETS_SRC:.c=.o) harness/fetch.o \
              harness/sha256.o $(NONE_SRC:.c=.o)
$(BF)/fuzz_%: $(BF)/obj/tests/fuzz/fuzz_%.o $(addprefix $(BF)/obj/,$(FUZZ_OBJ))
	$(FUZZ_CC) -g -fsanitize=fuzzer,$(FUZZ_SAN) -o $@ $^ $(LIBS)
# fuzz_store calls the commands that read a database: the whole library.
$(BF)/fuzz_store: $(BF)/obj/tests/fuzz/fuzz_store.o $(addprefix $(BF)/obj/,$(LIB_SRC:.c=.o) \
                  $(NONE_SRC:.c=.o))
	$(FUZZ_CC) -g -fsanitize=fuzzer,$(FUZZ_SAN) -o $@ $^ $(LIBS)

ifeq ($(HAVE_FUZZ),yes)
fuzz: $(FUZZ_BIN)
else
fuzz:
	@echo "clang with libFuzzer not found: fuzz targets will be reported as skipped"
endif

# FUZZ_DIR tells tests/run.sh where the fuzz binaries are ("none": skip them).
# The GPU section (tests/gpu/run.sh) runs both emulator builds and builds
# the nvcc/hipcc binaries itself, counting a failed build as a failed case.
test: fuzz $(B)/zeval $(BS)/zeval $(addprefix $(B)/tests/,$(TESTS)) $(addprefix $(BS)/tests/,$(TESTS)) \
      $(B)/zeval-emu $(BS)/zeval-emu $(BR)/zeval-emu
	@FUZZ_RUNS=$(FUZZ_RUNS) FUZZ_DIR=$(if $(HAVE_FUZZ),$(BF),none) RACE_DIR=$(BR) \
	  sh tests/run.sh $(B) $(BS) -- $(TESTS)

test-gpu: $(B)/zeval $(B)/zeval-emu $(BS)/zeval-emu $(BR)/zeval-emu
	@RACE_DIR=$(BR) sh tests/gpu/run.sh $(B) $(BS)

bench: $(B)/zeval
	@sh bench/run.sh $(B)

clean:
	rm -rf build zeval
