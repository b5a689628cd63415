#!/bin/sh
# The GPU backend's acceptance runs, in one go on a machine with an NVIDIA
# GPU.  BUNDLE is what scripts/gpu-bundle.sh made (binary, libraries,
# golden checkpoint, tokenizer, AIME 2025); MODEL is where the full-size
# random checkpoint is created (17.7 GB, made on this machine by zeval
# init-model, never transferred).
#   usage: sh bench/gpu.sh [BUNDLE] [MODEL] [PARTS]
#          (defaults build/gpudev, /tmp/zaya-8b, "1 2 rsa"; also "rsa-rate",
#          "rsa-resume")
# Part 1 (single sequence): the device, every kernel against its host
# reference and the golden checkpoint against the CPU backend, single and
# batched engines (gpu-selftest, also under compute-sanitizer), then
# single-sequence decode at contexts 1K and 16K (a captured graph, the
# persistent step, plain launches) against the measured device-to-device
# copy bandwidth, then the same checkpoint through
# transformers' Zaya in PyTorch (batch 1).
# Part 2 (batched): torch's bf16 GEMM rate; aggregate decode of 64 and 256
# sequences at 4K context and the prefill of an 8K prompt against their
# rooflines; transformers at batch 64; a Markovian RSA run (N=16, C=4, T=2,
# beta=4096, tau=1024) over AIME 2025 with its wall time, tokens/s and
# peak device memory; and a run of 2 problems killed mid-way and resumed,
# whose rows must equal the full run's rows of those problems.
# Env: RSA (the spec), RSA_ARGS (more options of the full run, e.g.
# --limit 3), PART_LIMIT (problems in the killed run, 2), KILL_AT (20),
# RSA_DB (the full run's database; part rsa-resume resumes the run it
# holds, e.g. one carried back from an earlier device call); RSA_CARRY_OUT
# (a folder, e.g. $OUT/db: after part rsa or rsa-resume, the database in
# parts of at most 15 MiB by scripts/db-carry.sh, with 60 s of the
# deadline kept for it); RSA_CARRY_IN (such a folder brought back: part
# rsa-resume first rebuilds RSA_DB from it when RSA_DB is absent); NO_RSA_PART
# (set: skip the killed-and-resumed run of part rsa); KV_AB (set: part 2
# again with ZEVAL_GPU_KV_DTYPE=f32, which also applies to every run when
# exported); ATTN_AB (e.g. "warp pipe mma": part 2's batched bench also
# with each such attention kind, in the same process: --attn); BMM_AB
# (e.g. "direct simt": part 2's batched bench also with each such
# ZEVAL_GPU_BMM, each attention kind with each, in the same process:
# --bmm; direct is the tensor-core products without the staged big-tile
# kernel, the same values; blas the big steps' plain products on cuBLAS,
# passed over where libcublas is not found); STEP_BLOCKS_AB (e.g. "1 2":
# part 1's bench again with ZEVAL_GPU_STEP_BLOCKS=1, then 2); OLD_BIN (an
# earlier build's binary: part 1's bench again with it); SANITIZERS (the
# compute-sanitizer tools of part 1, "memcheck racecheck"; empty: none);
# NO_HF (set:
# skip transformers' peer, for quick kernel iterations); NO_SELFTEST (set:
# skip part 1's self-tests); DEADLINE
# (seconds for the whole script, 3600): each step runs
# under `timeout` with its own cap, cut to what is left of the deadline,
# and a step with under 20 s left is skipped, so a device lease always
# gets its log back.
# Sizes (the acceptance runs' by default; tests/gpu/run.sh shrinks them to
# run this script on the CPU emulation): INIT_CONFIG (zaya1-8b), BENCH_MODEL
# (the checkpoint of both benches, MODEL), CONTEXTS
# (1024,16384) and SEQ_TOKENS (64) of part 1's bench; BATCHES (64,256),
# BATCH_CONTEXT (4096), BATCH_TOKENS (16), PREFILL (8192) and PREFILL_STEP
# (2048) of part 2's; BENCH_ARGS (more options of both benches), BATCH_ARGS
# (of the batched one);
# RATE_RSA (N=16,C=4,T=2,beta=4096,tau=1024), RATE_ARGS and RATE_DB
# (/tmp/zeval-rate.db) of rsa-rate.
set -u
BUNDLE=${1:-build/gpudev}
MODEL=${2:-/tmp/zaya-8b}
PARTS=${3:-1 2 rsa}
INIT_CONFIG=${INIT_CONFIG:-zaya1-8b}
CONTEXTS=${CONTEXTS:-1024,16384} SEQ_TOKENS=${SEQ_TOKENS:-64}
BATCHES=${BATCHES:-64,256} BATCH_CONTEXT=${BATCH_CONTEXT:-4096} BATCH_TOKENS=${BATCH_TOKENS:-16}
PREFILL=${PREFILL:-8192} PREFILL_STEP=${PREFILL_STEP:-2048}
BENCH_ARGS=${BENCH_ARGS:-} BATCH_ARGS=${BATCH_ARGS:-} BENCH_MODEL=${BENCH_MODEL:-$MODEL}
Z="$BUNDLE/zeval" # a wrapper that gives the binary its bundled libraries
T0=$(date +%s)
DEADLINE=${DEADLINE:-3600}
RESERVE=0 # seconds of the deadline the steps leave (for packing the database)
step() { echo; echo "== [$(( $(date +%s) - T0 )) s] $*"; }
has() { case " $PARTS " in *" $1 "*) return 0 ;; esac; return 1; }
# capped CAP CMD...: CMD under a time limit of CAP seconds or what is left.
capped() {
  cap=$1; shift
  left=$(( DEADLINE - ($(date +%s) - T0) - RESERVE ))
  [ "$left" -lt "$cap" ] && cap=$left
  if [ "$cap" -lt 20 ]; then echo "skipped: ${left} s left of the ${DEADLINE} s deadline"; return 124; fi
  timeout -k 5 "$cap" "$@"
  rc=$?
  [ "$rc" -eq 124 ] && echo "timed out after $cap s: $*"
  return $rc
}
# sql DB QUERY: one query through python3's sqlite3 (the sqlite3 shell may
# be missing); ATTACH lines before it are run first.
sql() {
  python3 -c 'import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
for q in sys.argv[2].split(";"):
    if q.strip():
        for r in c.execute(q): print("|".join(map(str, r)))' "$1" "$2"
}
nvidia-smi --query-gpu=name,memory.total,clocks.max.sm,clocks.max.mem --format=csv 2>&1 | head -3
"$Z" version || exit 1 # also unpacks the bundled libraries
# cuBLAS for ZEVAL_GPU_BMM=blas (loaded at run time): PyTorch's wheel of it
# where it is not on the library path
if [ -z "${ZEVAL_CUBLAS:-}" ]; then
  ZEVAL_CUBLAS=$(python3 -c 'import glob, sys
for p in sys.path:
    for f in sorted(glob.glob(p + "/nvidia/**/libcublas.so.1[23]", recursive=True), reverse=True):
        print(f); sys.exit()' 2>/dev/null)
  [ -n "$ZEVAL_CUBLAS" ] && export ZEVAL_CUBLAS && echo "cuBLAS: $ZEVAL_CUBLAS"
fi
if has 1 && [ -z "${NO_SELFTEST:-}" ]; then
  step "$Z gpu-selftest (kernels + golden checkpoint vs the CPU backend)"
  capped 120 "$Z" gpu-selftest --model "$BUNDLE/golden" --weights "$BUNDLE/golden/model-bf16.safetensors" \
    --tokens 32 || echo "gpu-selftest: FAILED (status $?)"
  step "$Z gpu-selftest, a 600-token prompt (3 attention splits)"
  capped 60 "$Z" gpu-selftest --model "$BUNDLE/golden" --weights "$BUNDLE/golden/model-bf16.safetensors" \
    --tokens 8 --prompt-len 600 | grep -v '^PASS' || true
  if command -v compute-sanitizer >/dev/null 2>&1; then
    for tool in ${SANITIZERS-memcheck racecheck}; do
      step "compute-sanitizer --tool $tool $Z gpu-selftest (golden, 4 tokens)"
      capped 90 compute-sanitizer --tool $tool --target-processes all --error-exitcode 3 \
        "$Z" gpu-selftest --model "$BUNDLE/golden" \
        --weights "$BUNDLE/golden/model-bf16.safetensors" --tokens 4 --prompt-len 4 2>&1 | tail -n 5
    done
  fi
fi
if [ ! -f "$MODEL/config.json" ]; then
  step "$Z init-model --config $INIT_CONFIG --dtype bf16 --seed 1 --out $MODEL"
  t0=$(date +%s)
  capped 300 "$Z" init-model --config "$INIT_CONFIG" --dtype bf16 --seed 1 --out "$MODEL" || exit 1
  echo "init-model: $(( $(date +%s) - t0 )) s"
fi
if has 1; then
  step "$Z bench gpu --model $BENCH_MODEL --context $CONTEXTS --tokens $SEQ_TOKENS $BENCH_ARGS"
  capped 120 "$Z" bench gpu --model "$BENCH_MODEL" --context "$CONTEXTS" --tokens "$SEQ_TOKENS" $BENCH_ARGS
  for n in ${STEP_BLOCKS_AB:-}; do # the persistent step on fewer blocks
    step "ZEVAL_GPU_STEP_BLOCKS=$n $Z bench gpu --model $BENCH_MODEL --context $CONTEXTS --tokens $(( (SEQ_TOKENS + 1) / 2 ))"
    ZEVAL_GPU_STEP_BLOCKS=$n capped 60 "$Z" bench gpu --model "$BENCH_MODEL" --context "$CONTEXTS" \
      --tokens $(( (SEQ_TOKENS + 1) / 2 )) $BENCH_ARGS
  done
  if [ -n "${OLD_BIN:-}" ]; then # an earlier build, with the bundle's libraries
    step "$OLD_BIN bench gpu --model $BENCH_MODEL --context $CONTEXTS --tokens $SEQ_TOKENS"
    LD_LIBRARY_PATH="$BUNDLE/lib" capped 120 "$OLD_BIN" bench gpu --model "$BENCH_MODEL" \
      --context "$CONTEXTS" --tokens "$SEQ_TOKENS" $BENCH_ARGS
  fi
fi
# transformers' peer, one model load for both parts: batch 1 at 1K and 16K
# (part 1), batch 64 at 4K (part 2).
hf=""
has 1 && hf=$(printf '%s' "$CONTEXTS" | sed 's/\([0-9][0-9]*\)/1:\1/g')
has 2 && hf="${hf:+$hf,}64:$BATCH_CONTEXT"
if [ -n "$hf" ] && [ -z "${NO_HF:-}" ]; then
  step "python3 bench/hf_zaya.py bench --model $MODEL --runs $hf --tokens 16"
  PYTHONUNBUFFERED=1 capped 240 python3 bench/hf_zaya.py bench --model "$MODEL" --runs "$hf" --tokens 16
fi
if has 2; then
  step "python3 bench/hf_zaya.py gemm (torch/cuBLAS bf16, the compute roof)"
  # (not tee /dev/stderr: where stderr is a file, reopening it truncates it)
  g_out=$(capped 60 python3 bench/hf_zaya.py gemm 2>&1)
  printf '%s\n' "$g_out"
  rate=$(printf '%s\n' "$g_out" | sed -n 's/^torch bf16 GEMM [^:]*: \([0-9.]*\) TFLOP.*/\1/p')
  # ATTN_AB's kinds after the default one, and BMM_AB's product kernels
  # after the default ones, in the same upload (--attn, --bmm): 60 s more
  # a combination
  kinds=${ZEVAL_GPU_ATTN:-tile} nk=1
  for att in ${ATTN_AB:-}; do
    case ",$kinds," in *",$att,"*) ;; *) kinds="$kinds,$att" nk=$((nk + 1)) ;; esac
  done
  bmms=${ZEVAL_GPU_BMM:-tensor} nm=1
  for bmm in ${BMM_AB:-}; do
    case ",$bmms," in *",$bmm,"*) ;; *) bmms="$bmms,$bmm" nm=$((nm + 1)) ;; esac
  done
  cap=$((120 + 60 * nk * nm)) ab_arg=""
  [ -n "${ATTN_AB:-}" ] && ab_arg="--attn $kinds"
  [ -n "${BMM_AB:-}" ] && ab_arg="$ab_arg --bmm $bmms"
  step "$Z bench gpu-batch --model $BENCH_MODEL --batch $BATCHES --context $BATCH_CONTEXT --prefill $PREFILL $ab_arg"
  capped $cap "$Z" bench gpu-batch --model "$BENCH_MODEL" --batch "$BATCHES" --context "$BATCH_CONTEXT" \
    --tokens "$BATCH_TOKENS" --prefill "$PREFILL" --step "$PREFILL_STEP" \
    ${rate:+--gemm-tflops $rate} $BENCH_ARGS $BATCH_ARGS $ab_arg
  if [ -n "${KV_AB:-}" ]; then # the same with an f32 K/V cache
    step "ZEVAL_GPU_KV_DTYPE=f32 $Z bench gpu-batch (the same, K/V cache in f32)"
    ZEVAL_GPU_KV_DTYPE=f32 capped 180 "$Z" bench gpu-batch --model "$BENCH_MODEL" --batch "$BATCHES" \
      --context "$BATCH_CONTEXT" --tokens "$BATCH_TOKENS" --prefill "$PREFILL" \
      --step "$PREFILL_STEP" ${rate:+--gemm-tflops $rate} $BENCH_ARGS $BATCH_ARGS
  fi
fi
if has rsa-rate; then
  # The full RSA setting over all of AIME 2025 for RSA_RATE_SECS (90)
  # seconds, then stopped: the aggregate rate a whole run would go at
  # (a whole run is ~5.9M tokens, longer than a device lease).
  gunzip -c "$BUNDLE/tok/tokenizer.json.gz" >"$MODEL/tokenizer.json"
  gunzip -c "$BUNDLE/tok/tokenizer_config.json.gz" >"$MODEL/tokenizer_config.json"
  RATE_DB=${RATE_DB:-/tmp/zeval-rate.db}
  rm -f "$RATE_DB" "$RATE_DB-wal" "$RATE_DB-shm"
  RATE_RSA=${RATE_RSA:-N=16,C=4,T=2,beta=4096,tau=1024}
  step "$Z run --backend gpu --rsa $RATE_RSA over AIME 2025, stopped after ${RSA_RATE_SECS:-90} s"
  capped "${RSA_RATE_SECS:-90}" "$Z" run --backend gpu --model "$MODEL" \
    --dataset "$BUNDLE/data/aime_2025.jsonl" --rsa "$RATE_RSA" --seed 1 \
    --db "$RATE_DB" --name rate --progress plain ${RATE_ARGS:-} 2>&1 | tail -n 3
fi
if has rsa; then
  # The RSA run needs the tokenizer beside the weights.
  gunzip -c "$BUNDLE/tok/tokenizer.json.gz" >"$MODEL/tokenizer.json"
  gunzip -c "$BUNDLE/tok/tokenizer_config.json.gz" >"$MODEL/tokenizer_config.json"
  RSA=${RSA:-N=16,C=4,T=2,beta=4096,tau=1024}
  KILL_AT=${KILL_AT:-20}
  DB=${RSA_DB:-/tmp/zeval-rsa.db}
  rm -f "$DB" "$DB-wal" "$DB-shm" "$DB.part" "$DB.part-wal" "$DB.part-shm"
  step "$Z run --backend gpu --rsa $RSA over AIME 2025 (device memory sampled every second)"
  mem=$(mktemp)
  ( while :; do nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits; sleep 1; done ) \
    >"$mem" 2>/dev/null &
  poll=$!
  t0=$(date +%s)
  [ -n "${RSA_CARRY_OUT:-}" ] && RESERVE=60
  capped 3600 "$Z" run --backend gpu --model "$MODEL" --dataset "$BUNDLE/data/aime_2025.jsonl" \
    --rsa "$RSA" --seed 1 --db "$DB" --name full --progress plain ${RSA_ARGS:-} 2>&1 | tail -n 16
  RESERVE=0
  kill "$poll" 2>/dev/null
  echo "rsa: wall $(( $(date +%s) - t0 )) s; peak device memory $(sort -n "$mem" | tail -n 1) MiB" \
       "(nvidia-smi, whole device: the K/V pool takes the free memory when it starts; the" \
       "GPU engine line above gives the pool's peak use)"
  rm -f "$mem"
  sql "$DB" "SELECT 'stored samples by round: ' || group_concat(r || ':' || n, ' ') FROM
    (SELECT round AS r, count(*) AS n FROM samples GROUP BY round ORDER BY round)"
  [ -n "${RSA_CARRY_OUT:-}" ] && sh scripts/db-carry.sh pack "$DB" "$RSA_CARRY_OUT"
fi
if has rsa-resume; then
  # A run that a device call's time limit cut short (its database carried
  # back, e.g. RSA_DB under $OUT): resumed for as long as the deadline
  # allows; run again until every sample is stored.
  DB=${RSA_DB:-/tmp/zeval-rsa.db}
  if [ -n "${RSA_CARRY_IN:-}" ] && [ ! -f "$DB" ]; then
    sh scripts/db-carry.sh unpack "$RSA_CARRY_IN" "$DB" || exit 1
  fi
  gunzip -c "$BUNDLE/tok/tokenizer.json.gz" >"$MODEL/tokenizer.json"
  gunzip -c "$BUNDLE/tok/tokenizer_config.json.gz" >"$MODEL/tokenizer_config.json"
  step "$Z run --resume full --db $DB --backend gpu"
  t0=$(date +%s)
  [ -n "${RSA_CARRY_OUT:-}" ] && RESERVE=60
  capped 3600 "$Z" run --resume full --db "$DB" --backend gpu --progress plain 2>&1 | tail -n 16
  RESERVE=0
  echo "rsa resumed: wall $(( $(date +%s) - t0 )) s"
  sql "$DB" "SELECT 'stored samples by round: ' || group_concat(r || ':' || n, ' ') FROM
    (SELECT round AS r, count(*) AS n FROM samples GROUP BY round ORDER BY round)"
  [ -n "${RSA_CARRY_OUT:-}" ] && sh scripts/db-carry.sh pack "$DB" "$RSA_CARRY_OUT"
fi
if has rsa && [ -z "${NO_RSA_PART:-}" ]; then
  RSA=${RSA:-N=16,C=4,T=2,beta=4096,tau=1024}
  KILL_AT=${KILL_AT:-20}
  DB=${RSA_DB:-/tmp/zeval-rsa.db}
  PART_LIMIT=${PART_LIMIT:-2}
  step "the same run on $PART_LIMIT problems, killed after $KILL_AT samples, resumed"
  "$Z" run --backend gpu --model "$MODEL" --dataset "$BUNDLE/data/aime_2025.jsonl" --rsa "$RSA" \
    --seed 1 --db "$DB.part" --name part --limit "$PART_LIMIT" >/dev/null 2>&1 &
  pid=$!
  while kill -0 "$pid" 2>/dev/null; do
    n=$(sql "$DB.part" "SELECT count(*) FROM samples" 2>/dev/null)
    if [ "${n:-0}" -ge "$KILL_AT" ]; then kill -9 "$pid"; echo "killed at $n samples"; break; fi
    if [ $(( DEADLINE - ($(date +%s) - T0) )) -lt 30 ]; then
      kill -9 "$pid"; echo "killed at ${n:-0} samples: the deadline is near"; break
    fi
    sleep 1
  done
  wait "$pid" 2>/dev/null
  capped 3600 "$Z" run --resume part --db "$DB.part" --backend gpu 2>&1 | tail -n 3
  cols="problem_id, round, candidate, parents, seed, prompt_tokens, gen_tokens, gen_ids, finish_reason, text, tail"
  sql "$DB.part" "ATTACH '$DB' AS f;
    SELECT 'resumed rows: ' || (SELECT count(*) FROM samples) ||
      ', not in the full run: ' || (SELECT count(*) FROM (SELECT $cols FROM samples EXCEPT
        SELECT $cols FROM f.samples)) ||
      ', full-run rows of these problems missing: ' || (SELECT count(*) FROM (SELECT $cols FROM
        f.samples WHERE problem_id IN (SELECT problem_id FROM samples) EXCEPT
        SELECT $cols FROM samples))"
fi
