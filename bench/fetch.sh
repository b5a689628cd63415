#!/bin/sh
# Download throughput of `zeval fetch` vs the `curl` command, in the same run,
# from the loopback hub server (tests/hub_server.py, which streams with
# os.sendfile).  Called by bench/run.sh; usage: sh bench/fetch.sh [build/rel]
#
# Serves a 500 MB file (sparse: no disk space, read from the page cache) as
# bench/big/model.safetensors and times, best of 2 each:
#   curl -o FILE URL                      (no verification)
#   zeval fetch model bench/big           (no checksum known: no hashing)
#   zeval fetch model bench/bigsum        (X-Linked-Etag sha256: hashed while writing)
# Prints MB/s (10^6 bytes/s) of each and the zeval/curl ratios.
set -eu
B=${1:-build/rel}
Z="$B/zeval"
SIZE=${FETCH_BENCH_BYTES:-500000000}
OUT=bench/out/fetch
if [ ! -x "$Z" ]; then
  echo "bench/fetch.sh: $Z not found; run 'make' first" >&2
  exit 1
fi
if ! command -v curl >/dev/null 2>&1; then
  echo "bench/fetch.sh: the curl command is not installed (scripts/deps.sh installs it); skipped"
  exit 0
fi
PY=python3
[ -x /usr/bin/python3 ] && PY=/usr/bin/python3
rm -rf "$OUT"
mkdir -p "$OUT/served/bench/big/resolve/main" "$OUT/served/bench/bigsum/resolve/main"
for r in big bigsum; do
  echo '{}' > "$OUT/served/bench/$r/resolve/main/config.json"
  truncate -s "$SIZE" "$OUT/served/bench/$r/resolve/main/model.safetensors"
done
SUM=$(sha256sum "$OUT/served/bench/bigsum/resolve/main/model.safetensors" | cut -d' ' -f1)
printf '{"/bench/bigsum/resolve/main/model.safetensors": [{"mode": "etag", "value": "%s"}]}\n' \
  "$SUM" > "$OUT/control.json"
$PY tests/hub_server.py "$OUT/served" --control "$OUT/control.json" > "$OUT/port" &
SRV=$!
trap 'kill $SRV 2>/dev/null; rm -rf "$OUT/cache" "$OUT/curl.out"' EXIT INT TERM
i=0
while [ ! -s "$OUT/port" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
PORT=$(cat "$OUT/port")
URL="http://127.0.0.1:$PORT"

now() { date +%s.%N; }
rate() { awk -v b="$SIZE" -v t="$1" 'BEGIN { printf "%.1f", b / t / 1e6 }'; }
best() { awk -v a="$1" -v b="$2" 'BEGIN { print (a < b ? a : b) }'; }

time_curl() {
  rm -f "$OUT/curl.out"
  t0=$(now)
  curl -sS -o "$OUT/curl.out" "$URL/bench/big/resolve/main/model.safetensors"
  t1=$(now)
  rm -f "$OUT/curl.out"
  awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }'
}
time_zeval() {
  rm -rf "$OUT/cache"
  t0=$(now)
  HF_ENDPOINT="$URL" HF_TOKEN= "$Z" fetch model "bench/$1" --cache-dir "$OUT/cache" \
    --no-progress --quiet >/dev/null
  t1=$(now)
  n=$(stat -c %s "$OUT/cache/models--bench--$1/snapshots/main/model.safetensors")
  [ "$n" -eq "$SIZE" ] || { echo "bench/fetch.sh: zeval wrote $n bytes" >&2; exit 1; }
  rm -rf "$OUT/cache"
  awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }'
}

c1=$(time_curl); z1=$(time_zeval big); s1=$(time_zeval bigsum)
c2=$(time_curl); z2=$(time_zeval big); s2=$(time_zeval bigsum)
c=$(best "$c1" "$c2"); z=$(best "$z1" "$z2"); s=$(best "$s1" "$s2")
echo "== fetch: $SIZE bytes from the loopback hub server (python http.server + sendfile), best of 2"
echo "curl                      $(rate "$c") MB/s"
echo "zeval fetch               $(rate "$z") MB/s   (includes config.json and 4 optional-file 404s)"
echo "zeval fetch + sha256      $(rate "$s") MB/s   (X-Linked-Etag verified while writing)"
awk -v c="$c" -v z="$z" -v s="$s" 'BEGIN {
  printf "ratio zeval/curl = %.2f, with sha256 = %.2f\n", c / z, c / s }'
echo "(both clients read from the same single-threaded-per-connection Python server; if"
echo " curl is near the server's limit the ratio understates what zeval could do)"
