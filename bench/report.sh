#!/bin/sh
# `zeval report` on a database of 100,000 samples (issue 10, acceptance 2).
#   usage: sh bench/report.sh [BUILD_DIR] [SAMPLES]
# Builds bench/out/report-100k.db once (4 runs of different RSA settings,
# texts of 0.5-6 KB, written through store.h by the hidden
# `zeval report gen-bench-db`), then times `zeval report` over all runs and
# prints time and file size against the targets (< 5 s, < 20 MB; long texts
# are cut to a per-sample cap behind the <details> expanders), and times
# `zeval runs` on the same database.
set -eu
B=${1:-build/rel}
N=${2:-100000}
Z="$B/zeval"
OUT=bench/out
DB="$OUT/report-$N.db"
HTML="$OUT/report-$N.html"
if [ ! -x "$Z" ]; then
  echo "bench/report.sh: $Z not found; run 'make' first" >&2
  exit 1
fi
mkdir -p "$OUT"
if [ ! -f "$DB" ]; then
  t0=$(date +%s.%N)
  "$Z" report gen-bench-db --out "$DB" --samples "$N"
  t1=$(date +%s.%N)
  echo "database: $(du -m "$DB" | cut -f1) MB, built in $(awk "BEGIN{printf \"%.1f\", $t1 - $t0}") s"
fi
echo "== zeval report --db $DB --out $HTML"
t0=$(date +%s.%N)
"$Z" report --db "$DB" --out "$HTML"
t1=$(date +%s.%N)
secs=$(awk "BEGIN{printf \"%.2f\", $t1 - $t0}")
bytes=$(wc -c <"$HTML")
mb=$(awk "BEGIN{printf \"%.2f\", $bytes / 1048576}")
cut=$(grep -c 'B</i></details>$' "$HTML" || true)
echo "report_s=$secs size_MB=$mb cut_texts=$cut (targets: < 5 s, < 20 MB)"
if awk "BEGIN{exit !($secs < 5 && $mb < 20)}"; then
  echo "report bench: within targets"
else
  echo "report bench: OUTSIDE targets"
fi
echo "== zeval runs --db $DB"
t0=$(date +%s.%N)
"$Z" runs --db "$DB" >/dev/null
t1=$(date +%s.%N)
echo "runs_s=$(awk "BEGIN{printf \"%.2f\", $t1 - $t0}") (the listing reads counts, not texts)"
