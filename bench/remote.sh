#!/bin/sh
# Remote backend throughput: `zeval bench remote` against the loopback
# OpenAI-compatible server (tests/openai_server.py --bench: one pre-built
# 16-token response, so the server does as little as Python allows) at
# concurrency 1, 64 and 512.  Prints requests/s and the latency the client
# adds per request: its time for the request minus the server's own
# X-Server-Time.  The server is a single Python process: at 64 and 512 it,
# not the client, is the bottleneck (its accept loop and GIL), so req_s
# there is a floor for the client, and added_ms includes queueing inside
# the server's socket backlog.
#   usage: sh bench/remote.sh [BUILD_DIR]   (default build/rel)
set -eu
B=${1:-build/rel}
Z="$B/zeval"
if [ ! -x "$Z" ]; then
  echo "bench/remote.sh: $Z not found; run 'make' first" >&2
  exit 1
fi
T=$(mktemp -d)
python3 tests/openai_server.py --bench >"$T/port" 2>"$T/server.err" &
SP=$!
trap 'kill $SP 2>/dev/null; wait $SP 2>/dev/null; rm -rf "$T"' EXIT INT TERM
i=0
while [ ! -s "$T/port" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
PORT=$(head -n 1 "$T/port")
echo "== remote backend: zeval bench remote against 127.0.0.1:$PORT (python3 tests/openai_server.py --bench)"
for C in 1 64 512; do
  N=$((C * 8)); [ $N -lt 400 ] && N=400
  "$Z" bench remote --endpoint "http://127.0.0.1:$PORT" --requests $N --concurrency $C
done
echo "note: the loopback server is one Python process; at concurrency 64 and 512 it is the"
echo "      bottleneck (req_s is bounded by it, added_ms includes waiting in its accept queue)."
