#!/bin/sh
# Code grader benchmark: wall time per LiveCodeBench public test through the
# sandbox (cold: a sandbox per test, target <= 1.2x bare; warm: one server per
# worker reused across problems, amortised, target >= 5x faster than bare) vs
# a bare python3 subprocess per test.
#   usage: sh bench/code.sh [BUILD_DIR]   (bench/run.sh calls it)
set -eu
B=${1:-build/rel}
if [ ! -x "$B/zeval" ]; then
  echo "bench/code.sh: $B/zeval not found; run 'make' first" >&2
  exit 1
fi
echo "== code grader: sandboxed vs bare python3 (bench/code_bench.py)"
python3 bench/code_bench.py "$B/zeval"
