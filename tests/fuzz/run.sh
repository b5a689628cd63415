#!/bin/sh
# Runs each libFuzzer target for a bounded number of executions over seed
# corpora made from real files, printing PASS/FAIL/SKIP lines that
# tests/run.sh counts.   usage: tests/fuzz/run.sh BUILD_DIR RUNS
set -u
bdir=$1 runs=$2
shared=${ZEVAL_SHARED:-../shared}
if [ ! -x "$bdir/fuzz_config" ]; then
  for t in safetensors index config; do
    echo "SKIP fuzz_$t: clang with libFuzzer not found (install clang and libclang-rt-14-dev)"
  done
  exit 0
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/st" "$work/idx" "$work/cfg"
g="$shared/golden/zaya-tiny"
cp "$g/model.safetensors" "$g/model-bf16.safetensors" "$g/golden.safetensors" "$work/st/" 2>/dev/null
cp "$g/config.json" "$work/cfg/golden.json" 2>/dev/null
printf '%s' '{"model_type":"zaya","num_hidden_layers":40,"hidden_size":2048,"moe_intermediate_size":2048,"router_hidden_size":256,"rms_norm_eps":1e-5,"rope_parameters":{"hybrid":{"rope_type":"default","rope_theta":5000000,"partial_rotary_factor":0.5}},"layer_types":["hybrid"],"hidden_act":"silu","eos_token_id":[106,1]}' >"$work/cfg/native.json"
printf '%s' '{"metadata":{"total_size":8},"weight_map":{"a":"a.safetensors"}}' >"$work/idx/one.json"
printf '%s' '{"weight_map":{"a":"a.safetensors","b":"b.safetensors","c":"../x"}}' >"$work/idx/two.json"
for t in safetensors index config; do
  case $t in safetensors) c=st; ml=65536;; index) c=idx; ml=4096;; config) c=cfg; ml=8192;; esac
  log="$work/$t.log"
  start=$(date +%s)
  TMPDIR="$work" ASAN_OPTIONS=detect_leaks=1 "$bdir/fuzz_$t" -runs="$runs" -max_len=$ml -rss_limit_mb=2048 \
      -seed=1 -print_final_stats=1 "$work/$c" >"$log" 2>&1
  rc=$?
  secs=$(( $(date +%s) - start ))
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$')
  if [ $rc -eq 0 ] && [ "${execs:-0}" -ge "$runs" ]; then
    echo "PASS fuzz_$t: ${execs} executions in ${secs}s, no crash"
  else
    echo "FAIL fuzz_$t: exit $rc after ${execs:-?} executions"
    grep -E 'ERROR|SUMMARY|runtime error' "$log" | head -5 | sed 's/^/    /'
  fi
done
