#!/bin/sh
# Tokenizer benchmark: zeval against Hugging Face's Rust `tokenizers`.
#
#   sh bench/tokenizer.sh [BUILD_DIR]        (default build/rel; bench/run.sh calls it)
#
# 1. Writes a ~10 MB mixed corpus (bench/tok_corpus.py: dataset problem
#    statements and golden texts read in place from ../shared, generated
#    prose, LaTeX, Python, CJK, emoji) to bench/out/ (gitignored).
# 2. `zeval bench tokenizer`: load time without the binary cache (JSON
#    parse) and with it, encode MB/s of the whole corpus in one call on one
#    thread, token count, FNV-1a hash of the ids.
# 3. The same through HF tokenizers 0.22.2 (npm @anush008/tokenizers 0.6.0,
#    installed into build/bench-node if missing) under node, with
#    TOKENIZERS_PARALLELISM=false: the whole corpus in one encode call, and
#    the corpus cut after each run of newlines ("\n" runs are added tokens,
#    so the ids are the same) in one encodeBatch call, HF's faster mode.
#    The token counts and id hashes must agree (exit 1 otherwise).
# 4. Prints the ratio to the target (zeval >= 2x HF's faster mode; cached
#    load < 0.3 s), then a table of single-word inputs of 1/10/100 MB
#    (TOK_BENCH_SIZES) in several shapes plus 1 M added tokens: seconds,
#    peak RSS and (peak - tokenizer footprint) / input size (target < 20).
# Large inputs are written to a temporary directory and removed.
set -eu
B=${1:-build/rel}
Z="$B/zeval"
SHARED=${ZEVAL_SHARED:-../shared}
TJ="$SHARED/tokenizer/gemma3/tokenizer.json"
OUT=bench/out
NODE_DIR=build/bench-node
SIZES=${TOK_BENCH_SIZES:-1 10 100}
if [ ! -x "$Z" ]; then
  echo "bench/tokenizer.sh: $Z not found; run 'make' first" >&2
  exit 1
fi
mkdir -p "$OUT"
CORPUS="$OUT/tok_corpus_10mb.txt"
if [ ! -s "$CORPUS" ]; then
  python3 bench/tok_corpus.py "$SHARED" "$CORPUS.tmp" 10 && mv "$CORPUS.tmp" "$CORPUS"
fi
echo "== corpus: $CORPUS ($(wc -c < "$CORPUS") bytes)"
echo "== zeval bench tokenizer --tokenizer $TJ --corpus $CORPUS"
ZL=$("$Z" bench tokenizer --tokenizer "$TJ" --corpus "$CORPUS")
echo "$ZL"

HL="" HB=""
if [ ! -d "$NODE_DIR/node_modules/@anush008/tokenizers" ]; then
  npm install --silent --prefix "$NODE_DIR" @anush008/tokenizers@0.6.0 >/dev/null 2>&1 ||
    echo "bench/tokenizer.sh: npm install @anush008/tokenizers@0.6.0 failed; HF comparison skipped" >&2
fi
if [ -d "$NODE_DIR/node_modules/@anush008/tokenizers" ]; then
  echo "== HF tokenizers (node, @anush008/tokenizers 0.6.0), one encode call / encodeBatch of newline-run chunks"
  HL=$(TOKENIZERS_PARALLELISM=false NODE_PATH="$NODE_DIR/node_modules" node bench/tok_hf.js "$TJ" "$CORPUS" 2 whole)
  echo "$HL"
  HB=$(TOKENIZERS_PARALLELISM=false NODE_PATH="$NODE_DIR/node_modules" node bench/tok_hf.js "$TJ" "$CORPUS" 3 chunks)
  echo "$HB"
fi
field() { echo "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"; }
status=0
if [ -n "$HB" ]; then
  for h in "$HL" "$HB"; do
    if [ "$(field "$ZL" tokens)" != "$(field "$h" tokens)" ] || [ "$(field "$ZL" ids_fnv)" != "$(field "$h" ids_fnv)" ]; then
      echo "MISMATCH: zeval and HF disagree on the corpus ids (tokens/ids_fnv above)"
      status=1
    fi
  done
  [ $status -eq 0 ] && echo "ids: identical (tokens=$(field "$ZL" tokens) ids_fnv=$(field "$ZL" ids_fnv))"
  awk -v z="$(field "$ZL" MB_s)" -v w="$(field "$HL" MB_s)" -v b="$(field "$HB" MB_s)" \
      -v lc="$(field "$ZL" load_cached_s)" -v lo="$(field "$ZL" load_cold_s)" -v hl="$(field "$HB" load_s)" 'BEGIN {
    h = (b > w) ? b : w
    r = z / h
    printf "RESULT encode: zeval %.2f MB/s vs HF %.2f MB/s (best HF mode; one call %.2f) = %.2fx (target >= 2x: %s); " \
           "load: cached %.3f s (target < 0.3 s: %s), no cache %.3f s, HF %.3f s\n", \
           z, h, w, r, (r >= 2 ? "MET" : "NOT MET"), lc, (lc < 0.3 ? "MET" : "NOT MET"), lo, hl }'
fi

# Linear time and bounded memory on hostile single words.
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT INT TERM
: > "$TMP/empty"
"$Z" tokenize --tokenizer "$TJ" < "$TMP/empty" > /dev/null # writes the binary cache if absent
BT=$(/usr/bin/time -f "%e %M" "$Z" tokenize --tokenizer "$TJ" < "$TMP/empty" 2>&1 >/dev/null | tail -n 1)
BASE_S=${BT% *} BASE=${BT#* }
echo
echo "single-word inputs (zeval tokenize, whole process; base = empty input: $BASE_S s, peak RSS $((BASE / 1024)) MB)"
echo "s/MB = (seconds - base) / MB, about constant when time is linear; memory target: (peak-base)/in < 20"
printf "%-22s %8s %9s %8s %10s %14s\n" shape MB seconds s/MB peak_MB "(peak-base)/in"
row() { # shape size_mb file
  r=$(/usr/bin/time -f "%e %M" "$Z" tokenize --tokenizer "$TJ" < "$3" 2>&1 >/dev/null | tail -n 1)
  echo "$1 $2 $r $BASE $BASE_S" | awk '{ in_b = $2 * 1e6; printf "%-22s %8s %9.2f %8.3f %10.0f %14.1f\n", \
      $1, $2, $3, ($3 - $6) / $2, $4 / 1024, ($4 - $5) * 1024 / in_b }'
}
for mb in $SIZES; do
  python3 - "$TMP" "$mb" <<'PY'
import random, sys
d, mb = sys.argv[1], float(sys.argv[2])
n = int(mb * 1e6)
rng = random.Random(7)
letters = bytes(rng.choice(b"abcdefghijklmnopqrstuvwxyz") for _ in range(1 << 20))
with open(f"{d}/a", "wb") as f: f.write(b"a" * n)
with open(f"{d}/letters", "wb") as f: f.write((letters * (n // len(letters) + 1))[:n])
with open(f"{d}/emoji", "wb") as f: f.write("😀".encode() * (n // 4))
with open(f"{d}/invalid", "wb") as f: f.write(b"\xff\xc3" * (n // 2))
PY
  row "a*N" "$mb" "$TMP/a"
  row "random-letters" "$mb" "$TMP/letters"
  row "emoji*N" "$mb" "$TMP/emoji"
  row "invalid-utf8" "$mb" "$TMP/invalid"
  rm -f "$TMP/a" "$TMP/letters" "$TMP/emoji" "$TMP/invalid"
done
python3 -c "import sys; sys.stdout.write('<start_of_turn>' * 1000000)" > "$TMP/tags"
row "1M-added-tokens" 15 "$TMP/tags"
exit $status
