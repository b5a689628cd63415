#!/bin/sh
# Runs every test program of every build variant and prints the closing
# "N passed, N failed, N skipped" line.
#   usage: tests/run.sh VARIANT_DIR... -- TEST...   (as the Makefile calls it)
#   a variant dir holds zeval and tests/<name>; variants: build/rel build/asan
set -u
variants=""
while [ $# -gt 0 ] && [ "$1" != "--" ]; do variants="$variants $1"; shift; done
[ "${1:-}" = "--" ] && shift
tests="$*"
pass=0 fail=0 skip=0
. tests/lib.sh
log=$(mktemp)
# Hermetic caches (the tokenizer writes one beside nothing shared).
ZEVAL_CACHE_DIR=$(mktemp -d)
export ZEVAL_CACHE_DIR
for v in $variants; do
  name=$(basename "$v")
  for t in $tests; do
    ZEVAL_BIN="$v/zeval" ASAN_OPTIONS="detect_leaks=1:abort_on_error=0" \
      UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1" \
      "$v/tests/$t" >"$log" 2>&1
    rc=$?
    lines "$log" | sed "s/^\(PASS\|FAIL\|SKIP\) /\1 [$name] $t: /" | grep -E '^(PASS|FAIL|SKIP) '
    p=$(lines "$log" | grep -c '^PASS '); f=$(lines "$log" | grep -c '^FAIL ')
    s=$(lines "$log" | grep -c '^SKIP ')
    pass=$((pass + p)); fail=$((fail + f)); skip=$((skip + s))
    if [ $rc -ne 0 ] && [ "$f" -eq 0 ]; then
      echo "FAIL [$name] $t: exited with status $rc without reporting a failing case"
      tail -n 30 "$log" | sed 's/^/    /'
      fail=$((fail + 1))
    elif [ "$f" -ne 0 ]; then
      grep -v -E '^(PASS|FAIL|SKIP) ' "$log" | tail -n 30 | sed 's/^/    /'
    fi
  done
done
# Fuzz targets: bounded runs, counted like test cases ($FUZZ_DIR: where the
# Makefile built them; "none" when clang/libFuzzer is missing).
sh tests/fuzz/run.sh "${FUZZ_DIR:-build/fuzz}" "${FUZZ_RUNS:-100000}" >"$log" 2>&1
cat "$log"
pass=$((pass + $(grep -c '^PASS ' "$log"))); fail=$((fail + $(grep -c '^FAIL ' "$log")))
skip=$((skip + $(grep -c '^SKIP ' "$log")))
# GPU backend: the kernels on the CPU emulation, the nvcc/hipcc builds and
# their no-GPU paths, clang-19 compile checks; counted the same way.
sh tests/gpu/run.sh $variants >"$log" 2>&1
cat "$log"
pass=$((pass + $(grep -c '^PASS ' "$log"))); fail=$((fail + $(grep -c '^FAIL ' "$log")))
skip=$((skip + $(grep -c '^SKIP ' "$log")))
rm -f "$log"
rm -rf "$ZEVAL_CACHE_DIR"
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
