#!/bin/sh
# Runs each libFuzzer target for a bounded number of executions over seed
# corpora made here from real files, printing one PASS/FAIL/SKIP line per
# target for tests/run.sh to count.   usage: tests/fuzz/run.sh BUILD_DIR RUNS
# BUILD_DIR "none" (no clang/libFuzzer) reports every target as skipped.
# A crashing input is kept as BUILD_DIR/<target>-crash-*; reproduce with
# BUILD_DIR/fuzz_<target> FILE.
set -u
bdir=$1 runs=$2
targets="safetensors index config grade"
shared=${ZEVAL_SHARED:-../shared}
g="$shared/golden/zaya-tiny"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/st" "$work/idx" "$work/cfg" "$work/grade"

# Writes $2 as an 8-byte little-endian integer (below 2^32) to stdout.
le64() {
  v=$1
  for i in 1 2 3 4 5 6 7 8; do printf "\\$(printf %03o $((v % 256)))"; v=$((v / 256)); done
}

# safetensors: the golden files' headers, each with a short data region
# (the whole files are too big for seeds), and a small valid file.
for f in model model-bf16 golden; do
  [ -f "$g/$f.safetensors" ] || continue
  hl=$(od -An -t u8 -N8 "$g/$f.safetensors" | tr -d ' ')
  head -c $((8 + hl + 256)) "$g/$f.safetensors" >"$work/st/$f.hdr"
done
h='{"__metadata__":{"format":"pt"},"a":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]},"b":{"dtype":"BF16","shape":[3],"data_offsets":[16,22]},"e":{"dtype":"U8","shape":[0],"data_offsets":[22,22]}}'
{ le64 ${#h}; printf '%s' "$h"; printf '0123456789abcdefghijkl'; } >"$work/st/small.safetensors"

# config.json: the golden (legacy schema) one and a native-schema twin.
[ -f "$g/config.json" ] && cp "$g/config.json" "$work/cfg/legacy.json"
printf '%s' '{"architectures":["ZayaForCausalLM"],"model_type":"zaya","num_hidden_layers":4,"hidden_size":192,"vocab_size":512,"num_attention_heads":4,"num_key_value_heads":2,"num_query_groups":2,"head_dim":128,"num_experts":4,"moe_intermediate_size":64,"router_hidden_size":64,"num_experts_per_tok":1,"rms_norm_eps":1e-5,"rope_parameters":{"hybrid":{"rope_type":"default","rope_theta":10000,"partial_rotary_factor":0.5}},"layer_types":["hybrid","hybrid","hybrid","hybrid"],"hidden_act":"silu","bos_token_id":2,"eos_token_id":[106,1],"pad_token_id":0,"tie_word_embeddings":true,"max_position_embeddings":4096}' >"$work/cfg/native.json"

# model.safetensors.index.json: a small valid index.
printf '%s' '{"metadata":{"total_size":1180},"weight_map":{"model.embed_tokens.weight":"model-00001-of-00002.safetensors","model.final_norm.weight":"model-00002-of-00002.safetensors","lm_head.weight":"model-00002-of-00002.safetensors"}}' >"$work/idx/index.json"

# grade: a type byte, a response, NUL, a gold (reasoning-style responses).
printf '\000<think>so 5^2</think>The answer is $\\boxed{025}$.\00025' >"$work/grade/int"
printf '\001**Final Answer:** $\\dfrac{9}{\\sqrt{23}} \\approx 1.877$\000\\frac{9 \\sqrt{23}}{23}' >"$work/grade/expr"
printf '\002x = \\boxed{\\frac{-1+\\sqrt{17}}{2}}, \\boxed{\\frac{-1-\\sqrt{17}}{2}}\000\\frac{-1+\\sqrt{17}}{2}, \\frac{-1-\\sqrt{17}}{2}' >"$work/grade/list"
printf '\004\\boxed{2^{25}\\cdot 26!} or \\boxed{149\\frac13 \\pm \\sqrt[3]{8}}\0003375' >"$work/grade/hedge"

t0=$(date +%s)
for t in $targets; do
  if [ ! -x "$bdir/fuzz_$t" ]; then
    echo "SKIP fuzz_$t: clang with libFuzzer not found (install clang and libclang-rt-14-dev)"
    continue
  fi
  case $t in safetensors) c=st; ml=20000;; index) c=idx; ml=4096;; config) c=cfg; ml=4096;; grade) c=grade; ml=4096;; esac
  log="$work/$t.log"
  start=$(date +%s)
  ASAN_OPTIONS=detect_leaks=1 "$bdir/fuzz_$t" -runs="$runs" -max_len=$ml -rss_limit_mb=2048 \
      -seed=1 -timeout=20 -max_total_time=150 -print_final_stats=1 \
      -artifact_prefix="$bdir/$t-" "$work/$c" >"$log" 2>&1
  rc=$?
  secs=$(( $(date +%s) - start ))
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$')
  if [ $rc -eq 0 ] && [ "${execs:-0}" -ge "$runs" ]; then
    echo "PASS fuzz_$t: ${execs} executions (${secs}s)"
  else
    why=$(grep -E '^SUMMARY|ERROR: libFuzzer|runtime error' "$log" | head -1)
    echo "FAIL fuzz_$t: exit $rc after ${execs:-?} executions: ${why:-see below}"
    { grep -E '^ +#[0-9]+ .* in ' "$log" | grep -v -E ' in (fuzzer::|__libc_|_start|main )' | head -8
      grep -E 'Test unit written' "$log"; } | sed 's/^ */    /'
  fi
done
echo "fuzz: $(( $(date +%s) - t0 ))s for $targets"
