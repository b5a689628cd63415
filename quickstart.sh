#!/bin/sh
# One command from a fresh Debian machine: install dependencies, build, and
# run the engine on the tiny golden checkpoint beside the checkout.
set -eu
cd "$(dirname "$0")"
sh scripts/deps.sh
make -j"$(nproc)"
MODEL=${MODEL:-../shared/golden/zaya-tiny}
IDS=${IDS:-2,276,506,217,201,170,437}
echo "greedy continuation of ids $IDS:"
./zeval generate --model "$MODEL" --ids "$IDS" --max-tokens 16 --ignore-eos
echo "4 sampled continuations (temperature 0.8, top-p 0.95, seeds 1..4):"
./zeval generate --model "$MODEL" --ids "$IDS" --max-tokens 16 --ignore-eos \
    --temperature 0.8 --top-p 0.95 --seed 1 --num-seqs 4
