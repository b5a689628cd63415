#!/bin/sh
# The GPU backend's acceptance run, in one go on a machine with an NVIDIA
# GPU (issue: GPU backend part 1).  BUNDLE is what scripts/gpu-bundle.sh
# made (binary, libraries, golden checkpoint); MODEL is where the
# full-size random checkpoint is created (17.7 GB, made on this machine by
# zeval init-model, never transferred).
#   usage: sh bench/gpu.sh [BUNDLE] [MODEL]   (defaults build/gpudev, /tmp/zaya-8b)
# Prints: the device, every kernel against its host reference and the golden
# checkpoint against the CPU backend (gpu-selftest), then single-sequence
# decode at contexts 1K and 16K against the measured device-to-device copy
# bandwidth, then the same checkpoint through transformers' Zaya in PyTorch.
set -u
BUNDLE=${1:-build/gpudev}
MODEL=${2:-/tmp/zaya-8b}
Z="$BUNDLE/zeval" # a wrapper that gives the binary its bundled libraries
step() { echo; echo "== $*"; }
nvidia-smi --query-gpu=name,memory.total,clocks.max.sm,clocks.max.mem --format=csv 2>&1 | head -3
step "$Z gpu-selftest (kernels + golden checkpoint vs the CPU backend)"
"$Z" gpu-selftest --model "$BUNDLE/golden" --weights "$BUNDLE/golden/model-bf16.safetensors" \
  --tokens 32 || echo "gpu-selftest: FAILED (status $?)"
if command -v compute-sanitizer >/dev/null 2>&1; then
  for tool in memcheck racecheck; do
    step "compute-sanitizer --tool $tool $Z gpu-selftest (golden, 4 tokens)"
    compute-sanitizer --tool $tool --target-processes all --error-exitcode 3 \
      "$Z" gpu-selftest --model "$BUNDLE/golden" \
      --weights "$BUNDLE/golden/model-bf16.safetensors" --tokens 4 --prompt-len 4 2>&1 | tail -n 5
  done
fi
if [ ! -f "$MODEL/config.json" ]; then
  step "$Z init-model --config zaya1-8b --dtype bf16 --seed 1 --out $MODEL"
  t0=$(date +%s)
  "$Z" init-model --config zaya1-8b --dtype bf16 --seed 1 --out "$MODEL" || exit 1
  echo "init-model: $(( $(date +%s) - t0 )) s"
fi
step "$Z bench gpu --model $MODEL --context 1024,16384 --tokens 64"
"$Z" bench gpu --model "$MODEL" --context 1024,16384 --tokens 64
step "python3 bench/hf_zaya.py bench --model $MODEL --context 1024,16384 --tokens 32"
python3 bench/hf_zaya.py bench --model "$MODEL" --context 1024,16384 --tokens 32
