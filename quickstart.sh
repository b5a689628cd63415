#!/bin/sh
# One command from a fresh Debian machine: install dependencies, build, and
# run the main job — a Markovian RSA evaluation stored in SQLite — on a tiny
# random ZAYA checkpoint with the real Gemma 3 tokenizer beside the checkout.
#   DATASET=FILE|NAME  LIMIT=K  RSA=SPEC  DB=FILE   override the defaults
set -eu
cd "$(dirname "$0")"
sh scripts/deps.sh
make -j"$(nproc)"
SHARED=${ZEVAL_SHARED:-../shared}
MODEL=${MODEL:-build/quickstart/tiny}
DATASET=${DATASET:-$SHARED/datasets/math/aime_2025.jsonl}
LIMIT=${LIMIT:-3}
RSA=${RSA:-N=4,C=2,T=1,beta=16}
DB=${DB:-build/quickstart/runs.db}
if [ ! -f "$MODEL/config.json" ]; then
  ./zeval init-model --config tiny --seed 1 --out "$MODEL"
  cp "$SHARED/tokenizer/gemma3/tokenizer.json" "$SHARED/tokenizer/gemma3/tokenizer_config.json" "$MODEL/"
fi
NAME=quickstart-$(date +%Y%m%d-%H%M%S)
./zeval run --model "$MODEL" --dataset "$DATASET" --limit "$LIMIT" --rsa "$RSA" \
    --temperature 0.8 --top-p 0.95 --seed 1 --db "$DB" --name "$NAME"
./zeval show "$NAME" --db "$DB"
./zeval runs --db "$DB"
echo "(random weights: the scores are ~0; the run, its samples and lineage are in $DB;"
echo " zeval export $NAME --db $DB writes them as JSON Lines)"
