#!/bin/sh
# Benchmarks of the built-in engine and the tokenizer (`make bench` runs:
# sh bench/run.sh build/rel; the tokenizer part is bench/tokenizer.sh).
#
# Creates, if absent, a tiny random checkpoint (init-model --config tiny, bf16,
# vocab 262272) in bench/out/ (gitignored) and runs `zeval bench decode` and
# `zeval bench prefill` on it.  Each prints the bytes-per-token breakdown, the
# routing histogram and a line `tok_s=… bytes_per_tok=… bw_GBs=… roofline=…`.
# Extra arguments for both runs can be passed in BENCH_ARGS (e.g. "--batch 4").
# Then `zeval bench sampler`: a draw's time without filters against the sorted
# walk that filters need.
set -eu
B=${1:-build/rel}
Z="$B/zeval"
OUT=bench/out
DIR="$OUT/tiny-bf16-seed1"
if [ ! -x "$Z" ]; then
  echo "bench/run.sh: $Z not found; run 'make' first" >&2
  exit 1
fi
mkdir -p "$OUT"
if [ ! -f "$DIR/config.json" ]; then
  "$Z" init-model --config tiny --seed 1 --dtype bf16 --out "$DIR"
fi
echo "== zeval bench decode --model $DIR --batch 1 --context 128 --tokens 8 ${BENCH_ARGS:-}"
"$Z" bench decode --model "$DIR" --batch 1 --context 128 --tokens 8 ${BENCH_ARGS:-}
echo
echo "== zeval bench decode --model $DIR --batch 4 --context 128 --tokens 8"
"$Z" bench decode --model "$DIR" --batch 4 --context 128 --tokens 8
echo
echo "== zeval bench prefill --model $DIR --context 128 ${BENCH_ARGS:-}"
"$Z" bench prefill --model "$DIR" --context 128 ${BENCH_ARGS:-}
cat <<'NOTE'

Full size (a random ZAYA1-8B, 17.7 GB bf16 in 5 shards, created on first use; needs ~18 GB
of disk): sh bench/cpu.sh BUILD_DIR [DIR] measures decode at batch 1 and 16, prefill against
the FMA peak, and the PyTorch peer (bench/torch_zaya.py) on the same checkpoint.
NOTE

echo
echo "== zeval bench sampler (a draw from Gemma 3's 262144 logits: radix select against the sorted walk)"
"$Z" bench sampler --draws 50

echo
echo "== tokenizer: sh bench/tokenizer.sh $B (alone: sh bench/tokenizer.sh BUILD_DIR)"
sh bench/tokenizer.sh "$B"

# Download throughput of `zeval fetch` vs curl from a loopback hub server.
echo
sh bench/fetch.sh "$B"

# Math grading throughput (target: 10,000 8 KB responses/s per core).
echo
echo "== grading: sh bench/grade.sh $B"
sh bench/grade.sh "$B"

# Code grader: sandbox cold/warm vs bare python3 per test.
echo
sh bench/code.sh "$B"

# HTML report of a 100,000-sample database (targets: < 5 s, < 20 MB).
echo
echo "== report: sh bench/report.sh $B"
sh bench/report.sh "$B"

# Remote backend: requests/s and added latency against a loopback
# OpenAI-compatible server at concurrency 1, 64 and 512.
echo
sh bench/remote.sh "$B"
