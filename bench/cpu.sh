#!/bin/sh
# CPU engine on a full-size random ZAYA1-8B checkpoint, every target of the
# CPU performance work measured in one run:
#   1. decode, batch 1: fraction of the memory-bandwidth roofline (>= 0.70)
#   2. prefill: fraction of the f32 FMA peak measured in the same run (>= 0.50)
#   3. decode, batch 16: aggregate tok/s over batch 1 (target 5x), next to
#      the bound the bytes set: 16 x bytes(batch 1) / bytes(batch 16)
#   4. the same decode steps and prefill in PyTorch (bench/torch_zaya.py,
#      Debian's python3-torch, bf16 weights mapped from the same files,
#      bf16 compute): our speedup at batch 1 and 16
#
#   usage: sh bench/cpu.sh [BUILD_DIR] [CHECKPOINT_DIR]
# CHECKPOINT_DIR defaults to bench/out/zaya1-8b-bf16-seed1, created with
# `zeval init-model --config zaya1-8b` if absent (17.7 GB, ~2 min on 2 cores).
# CPU_CONTEXT (default 64), CPU_TOKENS (8), CPU_PREFILL ("1x256 4x512"), and
# CPU_THREADS (all CPUs) tune the runs; CPU_TORCH=0 skips PyTorch.
set -eu
B=${1:-build/rel}
DIR=${2:-bench/out/zaya1-8b-bf16-seed1}
Z="$B/zeval"
L=${CPU_CONTEXT:-64}
N=${CPU_TOKENS:-8}
PREFILL=${CPU_PREFILL:-"1x256 4x512"}
THREADS=${CPU_THREADS:-$(nproc)}
if [ ! -x "$Z" ]; then
  echo "bench/cpu.sh: $Z not found; run 'make' first" >&2
  exit 1
fi
if [ ! -f "$DIR/config.json" ]; then
  echo "== creating $DIR (zeval init-model --config zaya1-8b --dtype bf16 --seed 1)"
  mkdir -p "$(dirname "$DIR")"
  "$Z" init-model --config zaya1-8b --dtype bf16 --seed 1 --out "$DIR"
fi

# PyTorch: Debian's python3-torch lives in /usr/bin/python3 even when another
# python3 comes first on PATH.
PY=
if [ "${CPU_TORCH:-1}" != 0 ]; then
  for p in python3 /usr/bin/python3; do
    if "$p" -c 'import torch' 2>/dev/null; then PY=$p; break; fi
  done
  [ -n "$PY" ] || echo "bench/cpu.sh: no python3 with torch (apt-get install python3-torch); skipping PyTorch"
fi

T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

# The peer must be the architecture: check it against the reference goldens
# first (f32 logits equal to 1e-4, bf16 argmax agreement).
GOLD=../shared/golden/zaya-tiny
if [ -n "$PY" ] && [ -d "$GOLD" ]; then
  echo "== $PY bench/torch_zaya.py check --model $GOLD"
  if ! "$PY" bench/torch_zaya.py check --model "$GOLD" > "$T/check" 2>&1; then
    cat "$T/check"
    echo "bench/cpu.sh: the PyTorch peer does not match the goldens" >&2
    exit 1
  fi
  grep -c '^PASS' "$T/check" | sed 's/$/ golden comparisons passed/'
  tail -n 1 "$T/check"
  echo
fi
kv() { # kv FILE KEY: the value of KEY= on the last line of FILE
  tail -n 1 "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"
}
run() { # run NAME CMD...: runs CMD, shows its output, keeps it in $T/NAME
  name=$1; shift
  echo "== $*"
  "$@" 2>&1 | tee "$T/$name" | grep -v -e '^  expert ' -e '^  skip '
  tail -n 1 "$T/$name" | grep -q 'tok_s=' || { echo "bench/cpu.sh: failed: $*" >&2; exit 1; }
  echo
}

# The roofline is DRAM bandwidth: read the weights into the page cache first,
# so that no timed step waits on the disk for an expert it routes to.
echo "== reading $DIR/*.safetensors into the page cache"
cat "$DIR"/*.safetensors > /dev/null
echo

run d1 "$Z" bench decode --model "$DIR" --batch 1 --context "$L" --tokens "$N" --threads "$THREADS"
run d16 "$Z" bench decode --model "$DIR" --batch 16 --context "$L" --tokens "$N" --threads "$THREADS"
for bl in $PREFILL; do
  b=${bl%x*}; l=${bl#*x}
  run "p$bl" "$Z" bench prefill --model "$DIR" --batch "$b" --context "$l" --threads "$THREADS"
done
if [ -n "$PY" ]; then
  run t1 "$PY" bench/torch_zaya.py bench --model "$DIR" --batch 1 --context "$L" --tokens "$N" --threads "$THREADS"
  run t16 "$PY" bench/torch_zaya.py bench --model "$DIR" --batch 16 --context "$L" --tokens "$N" --threads "$THREADS"
  set -- $PREFILL
  bl=$1; b=${bl%x*}; l=${bl#*x}
  run tp "$PY" bench/torch_zaya.py bench-prefill --model "$DIR" --batch "$b" --context "$l" --threads "$THREADS"
fi

echo "== summary (measured in this run, $THREADS threads)"
d1=$(kv "$T/d1" tok_s); d16=$(kv "$T/d16" tok_s)
b1=$(kv "$T/d1" bytes_per_tok); b16=$(kv "$T/d16" bytes_per_tok)
awk -v r="$(kv "$T/d1" roofline)" -v bw="$(kv "$T/d1" bw_GBs)" -v t="$d1" 'BEGIN {
  printf "decode batch 1:   %.2f tok/s, %.3f of the roofline (bandwidth %.1f GB/s)   target >= 0.70: %s\n",
         t, r, bw, (r >= 0.70 ? "met" : "NOT met") }'
for bl in $PREFILL; do
  awk -v bl="$bl" -v f="$(kv "$T/p$bl" peak_frac)" -v g="$(kv "$T/p$bl" gflops)" \
      -v p="$(kv "$T/p$bl" peak_gflops)" -v t="$(kv "$T/p$bl" tok_s)" 'BEGIN {
    printf "prefill %-9s %.1f tok/s, %.1f of %.1f GFLOP/s = %.3f of the FMA peak   target >= 0.50: %s\n",
           bl ":", t, g, p, f, (f >= 0.50 ? "met" : "NOT met") }'
done
awk -v a="$d1" -v b="$d16" -v x="$b1" -v y="$b16" -v r="$(kv "$T/d16" roofline)" 'BEGIN {
  printf "decode batch 16:  %.2f tok/s = %.2fx batch 1 (%.3f of its roofline); bytes allow %.2fx at equal efficiency   target >= 5x: %s\n",
         b, b / a, r, x / y, (b / a >= 5 ? "met" : "NOT met") }'
if [ -n "$PY" ]; then
  awk -v a="$d1" -v b="$d16" -v ta="$(kv "$T/t1" tok_s)" -v tb="$(kv "$T/t16" tok_s)" 'BEGIN {
    printf "vs PyTorch bf16:  batch 1 %.2f vs %.2f tok/s = %.2fx; batch 16 %.2f vs %.2f tok/s = %.2fx\n",
           a, ta, a / ta, b, tb, b / tb }'
  set -- $PREFILL
  awk -v bl="$1" -v z="$(kv "$T/p$1" tok_s)" -v t="$(kv "$T/tp" tok_s)" 'BEGIN {
    printf "prefill %s vs PyTorch: %.1f vs %.1f tok/s = %.2fx\n", bl, z, t, z / t }'
fi
