#!/bin/sh
# The GPU backend's checks (engine/gpu/), one PASS/FAIL/SKIP line per case
# for tests/run.sh to count:
#   emu      zeval-emu gpu-selftest (the kernels on the CPU emulation of
#            HIP, single-sequence and batched engines), in the optimised,
#            the sanitizer and the race-check build; the GPU backend behind
#            generate and bench;
#            an RSA run on it killed and resumed
#   cuda     nvcc: tests/gpu/hip_api.hip (every HIP name of the NVIDIA
#            shim) compiles; build zeval-cuda (make), then without a GPU:
#            gpu-selftest says "no GPU" and fails, generate falls back to the
#            CPU engine ("using the CPU backend") with the CPU binary's tokens
#   hip      the same with hipcc (Debian's HIP 5.2)
#   clang-19 compile-only check of every engine/gpu/*.hip for gfx942 and
#            gfx1100 (Debian's HIP 5.2 headers + scripts/hip-devlibs.sh)
# A toolchain that is not installed is reported as skipped, with the reason.
#   usage: [RACE_DIR=build/race] tests/gpu/run.sh REL_DIR [SAN_DIR]   (build/rel build/asan)
# REL_DIR holds zeval and zeval-emu (zeval-cuda/-hip are built into it);
# SAN_DIR holds the sanitizer build's zeval-emu, RACE_DIR the race-check
# build's (without it, the race checks are left out).
# Env: ZEVAL_SHARED (../shared), ZEVAL_MAKE (make), NVCC, CUDA_HOME,
# CUDA_ARCH, HIPCC, HIP_ARCH (as in the Makefile), CLANG19 (clang++-19),
# GPU_SELFTEST_TIMEOUT (seconds per gpu-selftest run, 900),
# GPU_SELFTEST_SAN_TIMEOUT (the sanitizer build's, 1800).
set -u
rel=${1:?usage: tests/gpu/run.sh REL_DIR [SAN_DIR]}
san=${2:-}
race=${RACE_DIR:-}
shared=${ZEVAL_SHARED:-../shared}
model="$shared/golden/zaya-tiny"
# gpu-selftest compares the model with the CPU backend on the same (bf16)
# weights: the GPU rounds other checkpoints to bf16.
st_args="--model $model"
[ -f "$model/model-bf16.safetensors" ] && st_args="$st_args --weights $model/model-bf16.safetensors"
ids=2,100,200 maxtok=8
cuda_arch=${CUDA_ARCH:-sm_90} hip_arch=${HIP_ARCH:-gfx90a}
tmo=${GPU_SELFTEST_TIMEOUT:-900}
# the sanitizer build's self-test takes about 300 s on 2 cores
tmo_san=${GPU_SELFTEST_SAN_TIMEOUT:-1800}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
log="$work/log"
times=""

# The last lines of a log, indented (shown under a failing case).
show() { tail -n "${2:-30}" "$1" | sed 's/^/    /'; }
. tests/lib.sh  # lines
# A sub-make sees this make's command-line variables (MAKEFLAGS) but not
# its jobserver, which a plain sh recipe does not pass on.
submake() {
  MAKEFLAGS=$(printf '%s' "${MAKEFLAGS:-}" | sed 's/ *--jobserver-[a-z]*=[^ ]*//g') \
    ${ZEVAL_MAKE:-make} --no-print-directory B="$rel" ${san:+BS="$san"} "$@"
}
now() { date +%s; }

# Runs "$bin gpu-selftest" and passes its case lines through as
# "PASS [$tag] gpu-selftest NAME: ..."; a non-zero exit without a FAIL line
# and an exit 0 without any case are failures of their own.
selftest_cases() {
  tag=$1 bin=$2 t=${3:-$tmo}
  ASAN_OPTIONS="detect_leaks=1:abort_on_error=0" UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1" \
    timeout "$t" "$bin" gpu-selftest $st_args >"$log" 2>&1
  rc=$?
  lines "$log" | sed -n "s/^\(PASS\|FAIL\|SKIP\) /\1 [$tag] gpu-selftest /p"
  n=$(lines "$log" | grep -c -E '^(PASS|FAIL|SKIP) ')
  f=$(lines "$log" | grep -c '^FAIL ')
  if [ $rc -ne 0 ] && [ "$f" -eq 0 ]; then
    if [ $rc -eq 124 ]; then why="timed out after ${t}s"; else why="exited with status $rc"; fi
    echo "FAIL [$tag] gpu-selftest: $why without reporting a failing case"
    show "$log"
  elif [ "$f" -ne 0 ]; then
    grep -v -E '^(PASS|FAIL|SKIP) ' "$log" | tail -n 30 | sed 's/^/    /'
  elif [ "$n" -eq 0 ]; then
    echo "FAIL [$tag] gpu-selftest: exited 0 without reporting any case"
    show "$log"
  fi
}

# ---- a. the kernels on the CPU emulation, both builds
t0=$(now)
for v in $rel $san; do
  tag="emu-$(basename "$v")"
  if [ ! -x "$v/zeval-emu" ]; then
    echo "FAIL [$tag] gpu-selftest: $v/zeval-emu was not built (make $v/zeval-emu)"
    continue
  fi
  if [ "$v" = "$san" ]; then selftest_cases "$tag" "$v/zeval-emu" "$tmo_san"
  else selftest_cases "$tag" "$v/zeval-emu"; fi
done
# a 40-token prompt: the batched engine's prefill takes the widest product
# shapes (more than 16 tokens), whose logits must equal those of the
# small-step schedules bit for bit; with the tensor-core products (the
# default), the SIMT ones (the emulation has one multiprocessor, so every
# product of 2 or more tokens takes the register-tiled kernel) and the
# one-column ones
if [ -x "$rel/zeval-emu" ]; then
  st_args_keep=$st_args
  st_args="$st_args --prompt-len 40 --tokens 4"
  selftest_cases "emu-rel-p40" "$rel/zeval-emu"
  # the kinds below are the batched engine's alone (ZEVAL_GPU_BMM, _ATTN,
  # _KV_DTYPE), so those runs leave out the single-sequence engine
  st_args_p40=$st_args
  st_args="$st_args_p40 --only kernels,batch"
  for mode in simt plain; do
    export ZEVAL_GPU_BMM=$mode
    selftest_cases "emu-rel-p40-$mode" "$rel/zeval-emu"
  done
  unset ZEVAL_GPU_BMM
  if grep -q -E '^(PASS|FAIL) model' "$log" || ! grep -q '^PASS embed' "$log" ||
     ! grep -q '^PASS batch' "$log"; then
    echo "FAIL [emu-rel] gpu-selftest --only kernels,batch: ran another part or not its own"
    show "$log"
  else
    echo "PASS [emu-rel] gpu-selftest --only kernels,batch: the kernels and the batched engine alone"
  fi
  "$rel/zeval-emu" gpu-selftest --only kernels,graph >"$log" 2>&1
  rc=$?
  if [ $rc -eq 2 ] && grep -q "'graph' is not a part" "$log"; then
    echo "PASS [emu-rel] gpu-selftest --only with an unknown part: usage error naming it"
  else
    echo "FAIL [emu-rel] gpu-selftest --only with an unknown part: exit $rc"
    show "$log"
  fi
  # attention on tensor cores: within the CPU's limits, and invariant in
  # its own right (its sums are not the SIMT kernels'); 130 tokens, so
  # that three of a block's four warps hold keys and are merged
  export ZEVAL_GPU_ATTN=mma
  st_args="$st_args_keep --prompt-len 130 --tokens 4 --only kernels,batch"
  selftest_cases "emu-rel-p130-mma" "$rel/zeval-emu"
  # and at ZAYA1-8B's 4 query heads per KV head (the golden checkpoint has
  # 2): prompt runs of 4 tokens are 16 rows, the kernel's two column tiles
  if "$rel/zeval" init-model --config tiny --set num_attention_heads=8 --set vocab_size=512 \
       --seed 3 --out "$work/g4" >"$log" 2>&1; then
    st_args="--model $work/g4"
    selftest_cases "emu-rel-g4-mma" "$rel/zeval-emu"
  else
    echo "FAIL [emu-rel-g4-mma] init-model of a 4-heads-per-KV-head checkpoint"
    show "$log"
  fi
  unset ZEVAL_GPU_ATTN
  # the K/V cache in f32 (bf16 by default): within the CPU's limits, and
  # still invariant
  export ZEVAL_GPU_KV_DTYPE=f32
  st_args="$st_args_p40 --only kernels,batch"
  selftest_cases "emu-rel-p40-kvf32" "$rel/zeval-emu"
  unset ZEVAL_GPU_KV_DTYPE
  st_args=$st_args_keep
fi
times="$times emu $(( $(now) - t0 ))s"

# ---- a0. the race check ($RACE_DIR/zeval-emu: the kernels built with
# ThreadSanitizer's instrumentation, every shared-memory access checked by
# emu.cc, which aborts on a race or a read of unwritten shared memory):
# the whole self-test; the tensor-core attention over 130 tokens; the
# kernels with the SIMT and the one-column products
if [ -n "$race" ]; then
  t0=$(now)
  if [ ! -x "$race/zeval-emu" ]; then
    echo "FAIL [emu-race] gpu-selftest: $race/zeval-emu was not built (make $race/zeval-emu)"
  else
    st_args_keep=$st_args
    selftest_cases "emu-race" "$race/zeval-emu"
    st_args="$st_args_keep --prompt-len 130 --tokens 4 --only batch"
    export ZEVAL_GPU_ATTN=mma
    selftest_cases "emu-race-p130-mma" "$race/zeval-emu"
    unset ZEVAL_GPU_ATTN
    st_args="--only kernels"
    for mode in simt plain; do
      export ZEVAL_GPU_BMM=$mode
      selftest_cases "emu-race-$mode" "$race/zeval-emu"
    done
    unset ZEVAL_GPU_BMM
    st_args=$st_args_keep
  fi
  times="$times, emu race $(( $(now) - t0 ))s"
fi

# ---- a1. the emulation itself (tests/gpu/emu_check.hip: barriers,
# shuffles, shared memory, launch limits, graphs, kernel bugs caught)
t0=$(now)
cxx=${EMU_CXX:-g++}
# Runs the built emu_check $2, its case lines tagged [$1].
emu_check_run() {
  timeout 300 "$2" >"$log" 2>&1
  rc=$?
  lines "$log" | sed -n "s/^\(PASS\|FAIL\|SKIP\) /\1 [$1] /p"
  if [ $rc -ne 0 ] && ! lines "$log" | grep -q '^FAIL '; then
    echo "FAIL [$1]: exited with status $rc without reporting a failing case"
    show "$log"
  fi
}
if "$cxx" -std=c++17 -O2 -Wall -Wextra -Werror -DZEVAL_GPU_EMU -isystem engine/gpu/compat/cpu \
     -Iengine/gpu -x c++ tests/gpu/emu_check.hip -x none engine/gpu/compat/cpu/emu.cc \
     -o "$work/emu_check" >"$log" 2>&1; then
  emu_check_run emu-check "$work/emu_check"
else
  echo "FAIL [emu-check] build: tests/gpu/emu_check.hip did not compile"
  show "$log"
fi
# and with the race check (the Makefile's RACE_FLAGS): its own checks, and
# races of each kind caught
if [ -n "$race" ]; then
  efl="-std=c++17 -O2 -g -Wall -Wextra -Werror -DZEVAL_GPU_EMU -isystem engine/gpu/compat/cpu -Iengine/gpu"
  if "$cxx" $efl -fsanitize=thread --param tsan-instrument-func-entry-exit=0 -Wno-tsan \
       -DZEMU_CHECK_RACE -x c++ -c tests/gpu/emu_check.hip -o "$work/emu_check_race.o" >"$log" 2>&1 &&
     "$cxx" $efl -DZEMU_RACE -x c++ -c engine/gpu/compat/cpu/emu.cc -o "$work/emu_race.o" >>"$log" 2>&1 &&
     "$cxx" -o "$work/emu_check_race" "$work/emu_check_race.o" "$work/emu_race.o" >>"$log" 2>&1; then
    emu_check_run emu-check-race "$work/emu_check_race"
    if ! lines "$log" | grep -q -E '^(PASS|FAIL) race c'; then
      echo "FAIL [emu-check-race]: the race cases did not run"
      show "$log"
    fi
  else
    echo "FAIL [emu-check-race] build: tests/gpu/emu_check.hip with the race check did not compile"
    show "$log"
  fi
fi
times="$times, emu check $(( $(now) - t0 ))s"

# ---- a2. the GPU backend behind `generate` on the emulation: the same
# tokens as the CPU binary, greedy and sampled (top-p; top-k and min-p;
# with the f32 K/V cache), and stderr names the GPU backend
t0=$(now)
emu_generate() {
  name=$1
  shift
  args="--model $model --ids 2,100,200,7 --max-tokens 10 $*"
  [ -f "$model/model-bf16.safetensors" ] && args="$args --weights $model/model-bf16.safetensors"
  "$rel/zeval" generate $args >"$work/cpu.out" 2>"$work/cpu.err"
  rc_cpu=$?
  timeout "$tmo" "$rel/zeval-emu" generate $args --backend gpu >"$work/gpu.out" 2>"$work/gpu.err"
  rc=$?
  if [ $rc_cpu -ne 0 ] || [ $rc -ne 0 ]; then
    echo "FAIL [emu-rel] GPU backend, $name: generate exited $rc_cpu (cpu) / $rc (gpu)"
    show "$work/gpu.err" 10
  elif ! cmp -s "$work/cpu.out" "$work/gpu.out" || [ ! -s "$work/cpu.out" ]; then
    echo "FAIL [emu-rel] GPU backend, $name: tokens differ from the CPU backend's"
    { echo "cpu: $(head -c 300 "$work/cpu.out")"; echo "gpu: $(head -c 300 "$work/gpu.out")"; } |
      sed 's/^/    /'
  elif ! grep -q 'GPU backend on' "$work/gpu.err"; then
    echo "FAIL [emu-rel] GPU backend, $name: stderr does not name the GPU backend"
    show "$work/gpu.err" 10
  else
    echo "PASS [emu-rel] GPU backend, $name: $(wc -l <"$work/gpu.out") sequence(s), the CPU backend's tokens"
  fi
}
if [ -x "$rel/zeval-emu" ]; then
  emu_generate "greedy"
  # Sampling from this random model's flat distributions turns on the last
  # bits of the logits, which the bf16 K/V cache rounds: the draws are
  # compared with the f32 cache.
  export ZEVAL_GPU_KV_DTYPE=f32
  emu_generate "sampled, f32 K/V cache" --temperature 0.9 --top-p 0.95 --seed 11 --num-seqs 3
  emu_generate "sampled with top-k and min-p on the device, f32 K/V cache" --temperature 1.0 \
    --top-k 40 --min-p 0.01 --seed 5 --num-seqs 4
  unset ZEVAL_GPU_KV_DTYPE
  # a cache type or step mode that does not exist is refused by name,
  # before any token: refused VAR VALUE MESSAGE [OTHER=SETTING]
  refused() {
    env ${4:-} "$1=$2" "$rel/zeval-emu" generate --model "$model" --ids 2,100 --max-tokens 2 \
      --backend gpu >"$work/gpu.out" 2>"$work/gpu.err"
    rc=$?
    if [ $rc -eq 1 ] && [ ! -s "$work/gpu.out" ] && grep -q "$3" "$work/gpu.err"; then
      echo "PASS [emu-rel] GPU backend: $1=$2${4:+ with $4} is refused by name (exit 1, no tokens)"
    else
      echo "FAIL [emu-rel] GPU backend: $1=$2 gave exit $rc"
      show "$work/gpu.err" 5
    fi
  }
  refused ZEVAL_GPU_KV_DTYPE fp16 "ZEVAL_GPU_KV_DTYPE='fp16': f32 or bf16"
  refused ZEVAL_GPU_STEP megakernel "ZEVAL_GPU_STEP=megakernel: not a step mode"
  refused ZEVAL_GPU_STEP_BLOCKS 0 "ZEVAL_GPU_STEP_BLOCKS=0: not a number of blocks per multiprocessor"
  refused ZEVAL_GPU_ATTN flash "ZEVAL_GPU_ATTN='flash': tile, warp, pipe or mma"
  refused ZEVAL_GPU_BMM tensor-cores "ZEVAL_GPU_BMM='tensor-cores': tensor, direct, simt, plain or blas"
  refused ZEVAL_GPU_ATTN pipe "ZEVAL_GPU_ATTN=pipe needs the bf16 K/V cache" ZEVAL_GPU_KV_DTYPE=f32
  refused ZEVAL_GPU_ATTN mma "ZEVAL_GPU_ATTN=mma needs the bf16 K/V cache" ZEVAL_GPU_KV_DTYPE=f32
  refused ZEVAL_GPU_PREFETCH yes "ZEVAL_GPU_PREFETCH=yes: not 0 or 1"
  refused ZEVAL_GPU_PDL on "ZEVAL_GPU_PDL=on: not 0 or 1"
  refused ZEVAL_GPU_SEQ_ATTN flash "ZEVAL_GPU_SEQ_ATTN=flash: tile or step8"
else
  echo "FAIL [emu-rel] GPU backend: $rel/zeval-emu was not built"
fi
# bench gpu end to end (the numbers are the emulation's; the lines must be there)
if [ -x "$rel/zeval-emu" ]; then
  bw="--model $model --context 40,70 --tokens 2 --bw-bytes 1048576"
  [ -f "$model/model-bf16.safetensors" ] && bw="$bw --weights $model/model-bf16.safetensors"
  timeout "$tmo" "$rel/zeval-emu" bench gpu $bw >"$log" 2>&1
  rc=$?
  nd=$(grep -c '^decode context .* of the copy bandwidth$' "$log")
  np=$(grep -c '^decode context [0-9]*, persistent: ' "$log")
  npf=$(grep -c '^decode context [0-9]*, graph with L2 prefetches: ' "$log")
  na8=$(grep -c '^decode context [0-9]*, \(graph\|plain\) with attention in 8-key steps: ' "$log")
  npdl=$(grep -c '^decode context .* with PDL' "$log") # NVIDIA builds only
  if [ $rc -eq 0 ] && [ "$nd" -eq 12 ] && [ "$np" -eq 2 ] && [ "$npf" -eq 2 ] && [ "$na8" -eq 4 ] &&
     [ "$npdl" -eq 0 ] && grep -q '^copy bandwidth: ' "$log" &&
     grep -q '^persistent step: .* one grid barrier alone ' "$log" && grep -q 'skip: ' "$log"; then
    echo "PASS [emu-rel] bench gpu: 2 contexts x (graph, graph with L2 prefetches, graph and plain launches with the 8-key attention, persistent step, plain launches; no PDL rows on this build), bandwidth, grid barrier, routing"
  else
    echo "FAIL [emu-rel] bench gpu: status $rc, $nd decode lines (want 12), $np of the persistent step (want 2), $npf with prefetches (want 2), $na8 with the 8-key attention (want 4), $npdl with PDL (want 0)"
    show "$log" 20
  fi
fi
# bench gpu-batch end to end, likewise
if [ -x "$rel/zeval-emu" ]; then
  bb="--model $model --batch 2,3 --context 40 --tokens 2 --prefill 70 --step 32 --bw-bytes 1048576 --gemm-n 128"
  [ -f "$model/model-bf16.safetensors" ] && bb="$bb --weights $model/model-bf16.safetensors"
  timeout "$tmo" "$rel/zeval-emu" bench gpu-batch $bb >"$log" 2>&1
  rc=$?
  nd=$(grep -c '^decode batch [23], context 40: .* of it; [12] of 2 steps as graphs$' "$log")
  if [ $rc -eq 0 ] && [ "$nd" -eq 2 ] && grep -q '^prefill 70 tokens in runs of 32: .* of the GEMM rate)$' "$log" &&
     grep -q '^bf16 GEMM rate: ' "$log" && grep -q 'skip: ' "$log" &&
     [ "$(grep -c '^  total .* ms/step (3 steps, plain launches' "$log")" -eq 2 ] &&
     grep -q '^prefill run of 6 tokens at context 64, time per kind of kernel:$' "$log" &&
     [ "$(grep -c '^  attention  .* ms/step' "$log")" -eq 3 ]; then
    echo "PASS [emu-rel] bench gpu-batch: 2 batch sizes against their rooflines, prefill, GEMM rate, routing, time per kind of kernel"
  else
    echo "FAIL [emu-rel] bench gpu-batch: status $rc, $nd decode lines (want 2)"
    show "$log" 20
  fi
  # --attn: every kind named, in order, in one upload; one the f32 cache
  # cannot run is said and passed over; a kind named twice is refused
  ba="--model $model --batch 2 --context 40 --tokens 2 --prefill 40 --step 32 --bw-bytes 1048576 --gemm-n 128"
  [ -f "$model/model-bf16.safetensors" ] && ba="$ba --weights $model/model-bf16.safetensors"
  ZEVAL_GPU_KV_DTYPE=f32 timeout "$tmo" "$rel/zeval-emu" bench gpu-batch $ba --attn warp,pipe,tile \
    >"$log" 2>&1
  rc=$?
  order=$(sed -n 's/^attention: .*(ZEVAL_GPU_ATTN=\([a-z]*\))$/\1/p' "$log" | tr '\n' ' ')
  nd=$(grep -c '^decode batch 2, context 40: ' "$log")
  np=$(grep -c '^prefill 40 tokens in runs of 32: ' "$log")
  "$rel/zeval-emu" bench gpu-batch $ba --attn tile,warp,tile >"$work/twice.out" 2>&1
  rc2=$?
  if [ $rc -eq 0 ] && [ "$order" = "warp tile " ] && [ "$nd" -eq 2 ] && [ "$np" -eq 2 ] &&
     grep -q '^attention pipe: skipped: .*needs the bf16 K/V cache' "$log" && [ $rc2 -eq 2 ] &&
     grep -q "tile twice" "$work/twice.out"; then
    echo "PASS [emu-rel] bench gpu-batch --attn warp,pipe,tile (f32 cache): warp then tile timed in one upload, pipe passed over by name; a kind named twice refused"
  else
    echo "FAIL [emu-rel] bench gpu-batch --attn: status $rc, kinds timed '$order' (want 'warp tile '), $nd decode and $np prefill lines (want 2 and 2), twice: exit $rc2"
    show "$log" 20
  fi
  # --bmm: each set of product kernels named, in order, in the same upload
  # (a prefill of 70 tokens takes the staged kernel with tensor, not with
  # direct); an unknown one is refused before the upload
  bm=$(printf '%s' "$ba" | sed 's/--prefill 40 --step 32/--prefill 70 --step 70/')
  timeout "$tmo" "$rel/zeval-emu" bench gpu-batch $bm --bmm direct,tensor,blas >"$log" 2>&1
  rc=$?
  order=$(sed -n 's/^products: .*(ZEVAL_GPU_BMM=\([a-z]*\))$/\1/p' "$log" | tr '\n' ' ')
  nd=$(grep -c '^decode batch 2, context 40: ' "$log")
  np=$(grep -c '^prefill 70 tokens in runs of 70: ' "$log")
  "$rel/zeval-emu" bench gpu-batch $ba --bmm tensor,tensorcore >"$work/bad.out" 2>&1
  rc2=$?
  if [ $rc -eq 0 ] && [ "$order" = "direct tensor blas " ] && [ "$nd" -eq 3 ] && [ "$np" -eq 3 ] &&
     grep -q '^products: cuBLAS (ZEVAL_GPU_BMM=blas)$' "$log" &&
     [ $rc2 -eq 2 ] && grep -q "a list of tensor, direct, simt, plain and blas" "$work/bad.out"; then
    echo "PASS [emu-rel] bench gpu-batch --bmm direct,tensor,blas: the three timed in one upload; an unknown kind refused"
  else
    echo "FAIL [emu-rel] bench gpu-batch --bmm: status $rc, kinds timed '$order' (want 'direct tensor blas '), $nd decode and $np prefill lines (want 3 and 3), unknown: exit $rc2"
    show "$log" 20
  fi
fi
times="$times, emu backend $(( $(now) - t0 ))s"

# ---- a3. a Markovian RSA run on the GPU backend (emulated), on a random
# tiny checkpoint with the real tokenizer: killed with SIGKILL once a
# sample is stored and resumed, it stores the rows of an uninterrupted GPU
# run; and those rows are the CPU backend's
t0=$(now)
# rows of db A missing from db B (sample columns that do not depend on timing)
rows_missing() {
  sqlite3 "$1" "ATTACH '$2' AS w; SELECT count(*) FROM (SELECT problem_id, round, candidate,
    parents, seed, prompt_tokens, gen_tokens, gen_ids, finish_reason, text, tail, extracted
    FROM samples EXCEPT SELECT problem_id, round, candidate, parents, seed, prompt_tokens,
    gen_tokens, gen_ids, finish_reason, text, tail, extracted FROM w.samples)" 2>&1
}
rsa_gpu() {
  d="$work/rsa"
  mkdir -p "$d"
  if ! "$rel/zeval" init-model --config tiny --seed 1 --out "$d/tiny" >"$log" 2>&1 ||
     ! cp "$shared/tokenizer/gemma3/tokenizer.json" "$shared/tokenizer/gemma3/tokenizer_config.json" \
       "$d/tiny/" 2>>"$log"; then
    echo "FAIL [emu-rel] GPU RSA run: setup"
    show "$log"
    return
  fi
  awk '{ print length($0) "\t" $0 }' "$shared/datasets/math/aime_2025.jsonl" | sort -n | head -n 1 |
    cut -f2- >"$d/p.jsonl"
  set -- --model "$d/tiny" --dataset "$d/p.jsonl" --rsa N=2,C=2,T=1,beta=4,tau=2 \
    --temperature 0.8 --top-k 40 --seed 9
  if ! "$rel/zeval" run "$@" --db "$d/cpu.db" --name r >"$log" 2>&1; then
    echo "FAIL [emu-rel] GPU RSA run: the CPU run failed"
    show "$log"
    return
  fi
  if ! timeout "$tmo" "$rel/zeval-emu" run "$@" --backend gpu --db "$d/gpu.db" --name r \
       >"$log" 2>&1 || ! grep -q 'GPU engine: ' "$log"; then
    echo "FAIL [emu-rel] GPU RSA run: the uninterrupted GPU run failed"
    show "$log"
    return
  fi
  "$rel/zeval-emu" run "$@" --backend gpu --db "$d/killed.db" --name r >"$log" 2>&1 &
  pid=$!
  waited=0 at=""
  while kill -0 "$pid" 2>/dev/null && [ "$waited" -lt "$((tmo * 10))" ]; do
    n=$(sqlite3 "$d/killed.db" "SELECT count(*) FROM samples" 2>/dev/null)
    if [ "${n:-0}" -ge 1 ]; then
      kill -9 "$pid" 2>/dev/null && at=$n
      break
    fi
    sleep 0.1
    waited=$((waited + 1))
  done
  wait "$pid" 2>/dev/null
  total=$(sqlite3 "$d/gpu.db" "SELECT count(*) FROM samples")
  kept=$(sqlite3 "$d/killed.db" "SELECT count(*) FROM samples" 2>/dev/null)
  if [ -z "$at" ] || [ "${kept:-0}" -ge "$total" ]; then
    echo "FAIL [emu-rel] GPU RSA run: the kill did not land mid-run ($kept of $total rows stored)"
    return
  fi
  # the attention of another sum order would not reproduce the run: refused
  ZEVAL_GPU_ATTN=mma timeout "$tmo" "$rel/zeval-emu" run --resume r --db "$d/killed.db" \
    --backend gpu >"$log" 2>&1
  rc=$?
  if [ $rc -eq 2 ] && grep -q "values came from K/V cache [a-z0-9]*, products tensor cores, attention SIMT; this device gives K/V cache [a-z0-9]*, products tensor cores, attention tensor cores" "$log"; then
    echo "PASS [emu-rel] GPU RSA run: a resume with another attention sum order is refused by name"
  else
    echo "FAIL [emu-rel] GPU RSA run: a resume with ZEVAL_GPU_ATTN=mma gave exit $rc"
    show "$log" 5
  fi
  if ! timeout "$tmo" "$rel/zeval-emu" run --resume r --db "$d/killed.db" --backend gpu \
       >"$log" 2>&1; then
    echo "FAIL [emu-rel] GPU RSA run: --resume after the kill failed"
    show "$log"
    return
  fi
  n=$(sqlite3 "$d/killed.db" "SELECT count(*) FROM samples")
  m1=$(rows_missing "$d/killed.db" "$d/gpu.db") m2=$(rows_missing "$d/gpu.db" "$d/killed.db")
  if [ "$n" = "$total" ] && [ "$total" -gt 0 ] && [ "$m1" = 0 ] && [ "$m2" = 0 ]; then
    echo "PASS [emu-rel] GPU RSA run: killed after $kept of $total samples and resumed: the rows of the uninterrupted run"
  else
    echo "FAIL [emu-rel] GPU RSA run: after kill + resume $n of $total rows, $m1 / $m2 differ"
  fi
  m1=$(rows_missing "$d/gpu.db" "$d/cpu.db") m2=$(rows_missing "$d/cpu.db" "$d/gpu.db")
  if [ "$m1" = 0 ] && [ "$m2" = 0 ]; then
    echo "PASS [emu-rel] GPU RSA run: the CPU backend's $total samples (ids, text, tails, answers)"
  else
    echo "FAIL [emu-rel] GPU RSA run: $m1 GPU rows not among the CPU's, $m2 CPU rows not among the GPU's"
  fi
  # products on cuBLAS (the emulation's reference kernel): the prompts'
  # steps take it; the run records it, and a resume is refused by name
  if ZEVAL_GPU_BMM=blas timeout "$tmo" "$rel/zeval-emu" run "$@" --backend gpu --db "$d/blas.db" \
       --name r >"$log" 2>&1 && grep -q 'products cuBLAS' "$log" &&
     grep -q '^zeval run: products on cuBLAS (ZEVAL_GPU_BMM=blas): .* cannot be resumed' "$log"; then
    n=$(sqlite3 "$d/blas.db" "SELECT count(*) FROM samples")
    ZEVAL_GPU_BMM=blas "$rel/zeval-emu" run --resume r --db "$d/blas.db" --backend gpu >"$log" 2>&1
    rc=$?
    # the same run as an AMD machine records it: refused, naming rocBLAS
    sqlite3 "$d/blas.db" "UPDATE runs SET device = replace(device, 'products cuBLAS', 'products rocBLAS')"
    "$rel/zeval-emu" run --resume r --db "$d/blas.db" --backend gpu >"$log.amd" 2>&1
    rc2=$?
    if [ "$n" = "$total" ] && [ $rc -eq 2 ] && [ $rc2 -eq 2 ] &&
       grep -q "products ran on cuBLAS (ZEVAL_GPU_BMM=blas), whose values depend on how many tokens shared each step" "$log" &&
       grep -q "products ran on rocBLAS (ZEVAL_GPU_BMM=blas)" "$log.amd"; then
      echo "PASS [emu-rel] GPU RSA run with ZEVAL_GPU_BMM=blas: said at the start it cannot be resumed; $n samples, 'products cuBLAS' recorded; --resume refused by name (and a rocBLAS run's)"
    else
      echo "FAIL [emu-rel] GPU RSA run with ZEVAL_GPU_BMM=blas: $n of $total samples, resume exit $rc (rocBLAS record: $rc2)"
      show "$log" 5
      show "$log.amd" 5
    fi
  else
    echo "FAIL [emu-rel] GPU RSA run with ZEVAL_GPU_BMM=blas failed"
    show "$log"
  fi
}
if [ -x "$rel/zeval-emu" ] && [ -x "$rel/zeval" ]; then
  # with the f32 K/V cache: the samples are compared with the CPU backend's
  # (the bf16 cache's invariance is checked by gpu-selftest above)
  export ZEVAL_GPU_KV_DTYPE=f32
  rsa_gpu
  unset ZEVAL_GPU_KV_DTYPE
fi
times="$times, emu RSA $(( $(now) - t0 ))s"

# ---- a4. bench/gpu.sh end to end on the emulation: the script a device
# lease runs, on a bundle of the emulation's binary (scripts/gpu-bundle.sh
# BIN=), with the benches on the golden checkpoint and the RSA parts on a
# random tiny one with the real tokenizer, every size shrunk; then the run
# database carried in parts to a new path and resumed from there
t0=$(now)
gpu_script() {
  d="$work/script"
  mkdir -p "$d"
  sh_abs=$(cd "$shared" && pwd)
  if ! BIN="$(pwd)/$rel/zeval-emu" ZEVAL_SHARED="$sh_abs" sh scripts/gpu-bundle.sh "$d/b" \
       >"$log" 2>&1; then
    echo "FAIL [emu-rel] bench/gpu.sh: scripts/gpu-bundle.sh BIN=$rel/zeval-emu failed"
    show "$log"
    return
  fi
  export NO_HF=1 NO_SELFTEST=1 SANITIZERS="" INIT_CONFIG=tiny CONTEXTS=40,70 SEQ_TOKENS=2 \
    BENCH_MODEL="$d/b/golden" BATCHES=2 BATCH_CONTEXT=40 BATCH_TOKENS=2 PREFILL=70 PREFILL_STEP=32 \
    BENCH_ARGS="--weights $d/b/golden/model-bf16.safetensors --bw-bytes 1048576" \
    BATCH_ARGS="--gemm-n 128" \
    ATTN_AB=mma BMM_AB=direct STEP_BLOCKS_AB=1 RATE_RSA=N=2,C=2,T=1,beta=4,tau=2 \
    RATE_ARGS="--limit 1" RSA_RATE_SECS=20 RATE_DB="$d/rate.db" RSA=N=2,C=2,T=1,beta=4,tau=2 \
    RSA_ARGS="--limit 1" PART_LIMIT=1 KILL_AT=1 DEADLINE=1200
  # stdout and stderr to a file, as a user's redirect would: nothing the
  # script runs may truncate it
  RSA_DB="$d/rsa.db" RSA_CARRY_OUT="$d/carry" sh bench/gpu.sh "$d/b" "$d/model" \
    "1 2 rsa-rate rsa" >"$d/log" 2>&1
  rc=$?
  nd=$(grep -c '^decode context .* of the copy bandwidth$' "$d/log")
  kinds=$(sed -n 's/^\(products\|attention\): .*(ZEVAL_GPU_[A-Z]*=\([a-z]*\))$/\2/p' "$d/log" |
          tr '\n' ' ')
  nb=$(grep -c '^decode batch 2, context 40: ' "$d/log")
  part=$(sed -n 's/^resumed rows: \([0-9]*\), not in the full run: \([0-9]*\), full-run rows of these problems missing: \([0-9]*\)$/\1 \2 \3/p' "$d/log")
  bad=$(grep -c -E '^skipped: |^timed out after [0-9]+ s: .* bench |^usage: |unknown option|FAILED' "$d/log")
  if [ $rc -eq 0 ] && [ "$(head -c 1 "$d/log" | od -An -c | tr -d ' ')" != '\0' ] &&
     [ "$nd" -eq 24 ] && [ "$kinds" = "tensor tile mma direct tile mma " ] && [ "$nb" -eq 4 ] &&
     grep -q '^zeval run: aime_2025 ' "$d/log" && grep -q '^stored samples by round: 0:2 1:2$' "$d/log" &&
     [ -f "$d/carry/rsa.db.parts" ] && [ "${part%% *}" = 4 ] && [ "${part#* }" = "0 0" ] &&
     [ "$bad" -eq 0 ]; then
    echo "PASS [emu-rel] bench/gpu.sh \"1 2 rsa-rate rsa\" on the emulation's bundle: 24 single-sequence rows, tensor/direct x tile/mma batched in one upload, the rate run, the full run packed in parts, a killed part resumed to the full run's 4 rows"
  else
    echo "FAIL [emu-rel] bench/gpu.sh: status $rc, $nd single-sequence rows (want 24), kinds '$kinds' (want 'tensor tile mma direct tile mma '), $nb batched rows (want 4), part '$part' (want '4 0 0'), $bad skipped/timed-out/usage lines"
    show "$d/log" 20
    return
  fi
  RSA_DB="$d/moved.db" RSA_CARRY_IN="$d/carry" sh bench/gpu.sh "$d/b" "$d/model" rsa-resume \
    >"$d/log2" 2>&1
  rc=$?
  if [ $rc -eq 0 ] && grep -q '^zeval run: resuming with 4 stored samples' "$d/log2" &&
     grep -q '^stored samples by round: 0:2 1:2$' "$d/log2" &&
     [ "$(rows_missing "$d/moved.db" "$d/rsa.db")" = 0 ] &&
     [ "$(rows_missing "$d/rsa.db" "$d/moved.db")" = 0 ]; then
    echo "PASS [emu-rel] bench/gpu.sh rsa-resume: the run rebuilt from its carried parts at a new path, resumed, the same 4 rows"
  else
    echo "FAIL [emu-rel] bench/gpu.sh rsa-resume from RSA_CARRY_IN: status $rc"
    show "$d/log2" 20
  fi
  unset NO_HF NO_SELFTEST SANITIZERS INIT_CONFIG CONTEXTS SEQ_TOKENS BENCH_MODEL BATCHES \
    BATCH_CONTEXT BATCH_TOKENS PREFILL PREFILL_STEP BENCH_ARGS BATCH_ARGS ATTN_AB BMM_AB STEP_BLOCKS_AB \
    RATE_RSA RATE_ARGS RSA_RATE_SECS RATE_DB RSA RSA_ARGS PART_LIMIT KILL_AT DEADLINE
}
if [ -x "$rel/zeval-emu" ]; then
  gpu_script
fi
times="$times, emu bench/gpu.sh $(( $(now) - t0 ))s"

# ---- b, c. a vendor toolchain: build, then the no-GPU paths
# vendor_checks TAG BIN ARCH
vendor_checks() {
  tag=$1 bin=$2 arch=$3
  # every HIP name of the shim's list, through this toolchain's headers
  api="$rel/gpu-$tag/tests/gpu/hip_api.o"
  if submake "$api" >"$log" 2>&1; then
    echo "PASS [$tag] HIP API subset compiles: tests/gpu/hip_api.hip"
  else
    echo "FAIL [$tag] HIP API subset compiles: make $api failed"
    show "$log" 40
  fi
  t1=$(now)
  if ! submake "$bin" >"$log" 2>&1; then
    echo "FAIL [$tag] compile+link $arch: make $bin failed"
    show "$log" 40
    echo "SKIP [$tag] no-GPU path: $bin was not built"
    echo "SKIP [$tag] falls back to CPU: $bin was not built"
    return
  fi
  echo "PASS [$tag] compile+link $arch: $bin ($(( $(now) - t1 ))s)"

  timeout 120 "$bin" gpu-selftest $st_args >"$log" 2>&1
  rc=$?
  if [ $rc -ne 0 ] && grep -q 'no GPU' "$log"; then
    echo "PASS [$tag] no-GPU path: gpu-selftest exits $rc: $(grep -m1 'no GPU' "$log")"
  elif grep -q -E '^(PASS|FAIL) ' "$log" || [ $rc -eq 0 ]; then
    # A machine with a GPU: the self-test runs for real.
    selftest_cases "$tag" "$bin"
    echo "SKIP [$tag] falls back to CPU: a GPU is present"
    return
  else
    echo "FAIL [$tag] no-GPU path: gpu-selftest exited $rc without saying \"no GPU\""
    show "$log"
  fi

  "$rel/zeval" generate --model "$model" --ids $ids --max-tokens $maxtok \
    >"$work/cpu.out" 2>"$work/cpu.err"
  rc_cpu=$?
  timeout 120 "$bin" generate --model "$model" --ids $ids --max-tokens $maxtok \
    >"$work/gpu.out" 2>"$work/gpu.err"
  rc=$?
  if [ $rc_cpu -ne 0 ]; then
    echo "FAIL [$tag] falls back to CPU: the CPU binary's generate exited $rc_cpu"
    show "$work/cpu.err"
  elif [ $rc -ne 0 ]; then
    echo "FAIL [$tag] falls back to CPU: generate exited $rc"
    show "$work/gpu.err"
  elif ! cmp -s "$work/cpu.out" "$work/gpu.out" || [ ! -s "$work/cpu.out" ]; then
    echo "FAIL [$tag] falls back to CPU: tokens differ from $rel/zeval's"
    { echo "cpu: $(head -c 300 "$work/cpu.out")"; echo "$tag: $(head -c 300 "$work/gpu.out")"; } |
      sed 's/^/    /'
  elif ! grep -q 'using the CPU backend' "$work/gpu.err"; then
    echo "FAIL [$tag] falls back to CPU: same tokens, but stderr does not say \"using the CPU backend\""
    show "$work/gpu.err" 10
  else
    echo "PASS [$tag] falls back to CPU: same $maxtok tokens as $rel/zeval"
  fi
}

t0=$(now)
# the Makefile's choice: $NVCC, $CUDA_HOME/bin/nvcc, nvcc in PATH, and
# /usr/local/cuda/bin/nvcc when CUDA_HOME is not set
nvcc=${NVCC:-}
[ -z "$nvcc" ] && [ -n "${CUDA_HOME:-}" ] && [ -x "$CUDA_HOME/bin/nvcc" ] && nvcc=$CUDA_HOME/bin/nvcc
[ -z "$nvcc" ] && nvcc=$(command -v nvcc 2>/dev/null)
[ -z "$nvcc" ] && [ -z "${CUDA_HOME:-}" ] && nvcc=/usr/local/cuda/bin/nvcc
if [ -n "$nvcc" ] && command -v "$nvcc" >/dev/null 2>&1; then
  vendor_checks cuda "$rel/zeval-cuda" "$cuda_arch"
else
  for c in "HIP API subset compiles" "compile+link $cuda_arch" "no-GPU path" "falls back to CPU"; do
    echo "SKIP [cuda] $c: nvcc not found (${NVCC:-${CUDA_HOME:-/usr/local/cuda}/bin/nvcc}, nor in PATH)"
  done
fi
times="$times, cuda $(( $(now) - t0 ))s"

t0=$(now)
hipcc=${HIPCC:-hipcc}
if command -v "$hipcc" >/dev/null 2>&1; then
  vendor_checks hip "$rel/zeval-hip" "$hip_arch"
else
  for c in "HIP API subset compiles" "compile+link $hip_arch" "no-GPU path" "falls back to CPU"; do
    echo "SKIP [hip] $c: $hipcc not found (apt-get install hipcc libamdhip64-dev)"
  done
fi
times="$times, hip $(( $(now) - t0 ))s"

# ---- d. clang-19 compile checks for ISAs Debian's hipcc (clang 15) lacks
t0=$(now)
clang=${CLANG19:-clang++-19}
archs="gfx942 gfx1100"
why=""
if ! command -v "$clang" >/dev/null 2>&1; then
  why="$clang not found (apt-get install clang-19 lld-19 clang-tools-19)"
elif [ ! -f /usr/include/hip/hip_runtime.h ]; then
  why="no HIP headers in /usr/include/hip (apt-get install libamdhip64-dev)"
elif ! command -v clang-offload-bundler-19 >/dev/null 2>&1 &&
     [ ! -x /usr/lib/llvm-19/bin/clang-offload-bundler ]; then
  why="clang-offload-bundler (19) not found (apt-get install clang-tools-19)"
elif ! command -v ld.lld-19 >/dev/null 2>&1 && [ ! -x /usr/lib/llvm-19/bin/ld.lld ]; then
  why="ld.lld (19) not found (apt-get install lld-19)"
elif ! devlibs=$(CLANG19="$clang" sh scripts/hip-devlibs.sh "$(dirname "$rel")/devlibs" 2>"$log"); then
  why=$(tail -n 1 "$log")
fi
# One arch: PASS/FAIL line (+ errors) to stdout.
clang_check() {
  a=$1 alog="$work/clang-$1.log"
  t1=$(now) bad=0 n=0
  : >"$alog"
  for f in engine/gpu/*.hip; do
    [ -f "$f" ] || continue
    n=$((n + 1))
    if ! "$clang" -x hip -std=c++17 -O2 -Wall -Wextra -Werror -I. --rocm-path=/usr \
         --rocm-device-lib-path="$devlibs" --offload-arch="$a" -c "$f" \
         -o "$work/clang-$a.o" >>"$alog" 2>&1; then
      bad=$((bad + 1))
    fi
  done
  if [ $bad -eq 0 ]; then
    echo "PASS [clang-19] compile $a: $n sources ($(( $(now) - t1 ))s)"
  else
    echo "FAIL [clang-19] compile $a: errors in $bad of $n sources"
    show "$alog" 40
  fi
}
if [ -n "$why" ]; then
  for a in $archs; do echo "SKIP [clang-19] compile $a: $why"; done
else
  # the arches in parallel (each compile is single-threaded)
  for a in $archs; do clang_check "$a" >"$work/clang-$a.out" & done
  wait
  for a in $archs; do cat "$work/clang-$a.out"; done
fi
times="$times, clang-19 $(( $(now) - t0 ))s"
echo "gpu:$times"
