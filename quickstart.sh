#!/bin/sh
# One command from a fresh Debian machine: install dependencies, build, and
# run the engine on the tiny golden checkpoint beside the checkout.
set -eu
cd "$(dirname "$0")"
sh scripts/deps.sh
make -j"$(nproc)"
MODEL=${MODEL:-../shared/golden/zaya-tiny}
IDS=${IDS:-2,276,506,217,201,170,437}
./zeval logits --model "$MODEL" --ids "$IDS" --out zeval-logits.bin
echo "wrote zeval-logits.bin: $(wc -c < zeval-logits.bin) bytes of float32 logits for ids $IDS"
