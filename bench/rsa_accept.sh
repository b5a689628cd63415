#!/bin/sh
# Full-size acceptance runs of `zeval run` (issue 8) on a random tiny
# checkpoint with the real Gemma 3 tokenizer — too slow for `make test` on
# the CPU engine (minutes), so they live here:
#   1. AIME 2025 (30 problems), N=4, C=2, T=2, beta=8: exactly 360 samples,
#      round-0 parents [], later rounds 2 distinct parents.
#   4. aime_2024 + aime_2025 + hmmt_feb_2025 (90 problems), N=16, C=4, T=2,
#      beta=4: one run per dataset; prints the engine's batch-size histogram
#      and fails when no forward call had at least 16 sequences.
#   usage: bench/rsa_accept.sh [BUILD_DIR]     (default build/rel)
set -eu
B=${1:-build/rel}
Z="$B/zeval"
D=$(mktemp -d)
trap 'rm -rf "$D"' EXIT
S=../shared
"$Z" init-model --config tiny --seed 1 --dtype bf16 --out "$D/m" >/dev/null
cp "$S/tokenizer/gemma3/tokenizer.json" "$S/tokenizer/gemma3/tokenizer_config.json" "$D/m/"
echo "== acceptance 1: AIME 2025, N=4 C=2 T=2 beta=8"
"$Z" run --model "$D/m" --dataset "$S/datasets/math/aime_2025.jsonl" --rsa N=4,C=2,T=2,beta=8 \
  --temperature 0.05 --seed 1 --db "$D/a.db" --name a1 --progress plain
rows=$(sqlite3 "$D/a.db" "SELECT count(*) FROM samples")
good=$(sqlite3 "$D/a.db" "SELECT sum(round=0 AND parents='[]') + sum(round>0 AND
  json_array_length(parents)=2 AND json_extract(parents,'\$[0]')<>json_extract(parents,'\$[1]'))
  FROM samples")
echo "rows $rows (want 360), rows with valid lineage $good"
[ "$rows" -eq 360 ] && [ "$good" -eq 360 ]
echo "== acceptance 4: 90 problems, N=16 C=4 T=2 beta=4"
"$Z" run --model "$D/m" --dataset "$S/datasets/math/aime_2024.jsonl,$S/datasets/math/aime_2025.jsonl,$S/datasets/math/hmmt_feb_2025.jsonl" \
  --rsa N=16,C=4,T=2,beta=4,tau=2 --temperature 0.05 --seed 1 --db "$D/a.db" --name a4 \
  --progress plain 2>&1 | tee "$D/a4.log"
max=$(sed -n 's/.*engine batches:.*, max \([0-9]*\).*/\1/p' "$D/a4.log")
echo "largest batch: $max sequences (want >= 16)"
[ "${max:-0}" -ge 16 ]
