#!/bin/sh
# A sweep of RSA settings in one `zeval run` against the same settings run
# one command each, on a random tiny checkpoint with the real Gemma 3
# tokenizer: wall time, stored tokens and the tokens the sweep did not
# generate again (rounds whose prompts the settings ask alike, cut to each
# budget), with the ratio.  The settings are the zaya-8k / zaya-16k /
# zaya-40k / zaya-apex-light presets scaled down 512x (beta 16/32/80,
# final 80 or 16, tau 8), over the first problems of AIME 2025.
#   usage: sh bench/sweep.sh [BUILD_DIR]     (default build/rel)
# SWEEP_PROBLEMS (default 4) sets the problem count.
set -eu
B=${1:-build/rel}
Z="$B/zeval"
K=${SWEEP_PROBLEMS:-4}
S=../shared
if [ ! -x "$Z" ]; then
  echo "bench/sweep.sh: $Z not found; run 'make' first" >&2
  exit 1
fi
D=$(mktemp -d)
trap 'rm -rf "$D"' EXIT
"$Z" init-model --config tiny --seed 1 --dtype bf16 --out "$D/m" >/dev/null 2>&1
cp "$S/tokenizer/gemma3/tokenizer.json" "$S/tokenizer/gemma3/tokenizer_config.json" "$D/m/"
SETTINGS="N=4,C=4,T=2,beta=16,final=80,tau=8 N=4,C=4,T=2,beta=32,final=80,tau=8
N=4,C=4,T=2,beta=80,final=80,tau=8 N=4,C=4,T=2,beta=16,final=16,tau=8"
now() { date +%s.%N; }
args=""
for s in $SETTINGS; do args="$args --rsa $s"; done
common="--model $D/m --dataset $S/datasets/math/aime_2025.jsonl --limit $K --seed 1 --progress off"
echo "== the sweep: zeval run$args ($K problems)"
t0=$(now)
# shellcheck disable=SC2086
"$Z" run $common $args --db "$D/sweep.db" --name sweep >/dev/null 2>"$D/sweep.err"
t1=$(now)
grep 'generated once' "$D/sweep.err" || true
i=0
for s in $SETTINGS; do
  i=$((i + 1))
  # shellcheck disable=SC2086
  "$Z" run $common --rsa "$s" --db "$D/alone.db" --name "alone$i" >/dev/null 2>"$D/alone.err"
done
t2=$(now)
tok() { sqlite3 "$1" "SELECT sum(gen_tokens) FROM samples"; }
same=$(sqlite3 "$D/sweep.db" "ATTACH '$D/alone.db' AS a; SELECT count(*) FROM (SELECT problem_id,
  round, candidate, gen_ids FROM samples EXCEPT SELECT problem_id, round, candidate, gen_ids
  FROM a.samples)")
awk -v ts="$t0" -v te="$t1" -v ta="$t2" -v st="$(tok "$D/sweep.db")" -v at="$(tok "$D/alone.db")" \
    -v diff="$same" 'BEGIN {
  sw = te - ts; al = ta - te
  printf "sweep: %.1f s, %d tokens stored; one command per setting: %.1f s, %d tokens\n", sw, st, al, at
  printf "sweep_s=%.2f alone_s=%.2f speedup=%.2f rows_not_in_alone=%d\n", sw, al, al / sw, diff
}'
