#!/bin/sh
# Packs what a GPU machine needs to run zeval's NVIDIA build without
# installing anything there (its image has CUDA but not zeval's C
# libraries): the nvcc-built binary, every shared library it needs apart
# from the C library itself, the tiny golden checkpoint, and for the RSA
# run the tokenizer (compressed) and AIME 2025.
#   usage: sh scripts/gpu-bundle.sh [OUT]   (default build/gpudev)
# Then on the GPU machine, from the repository root:
#   sh bench/gpu.sh build/gpudev
# BIN=path bundles that binary instead of build/rel/zeval-cuda (made
# here): tests/gpu/run.sh bundles the CPU emulation's to run bench/gpu.sh
# end to end without a GPU.
set -eu
cd "$(dirname "$0")/.."
OUT=${1:-build/gpudev}
if [ -z "${BIN:-}" ]; then
  make -s build/rel/zeval-cuda >/dev/null
  BIN=build/rel/zeval-cuda
fi
[ -x "$BIN" ] || { echo "gpu-bundle: $BIN is not an executable" >&2; exit 1; }
rm -rf "$OUT"
mkdir -p "$OUT/bin" "$OUT/lib" "$OUT/golden" "$OUT/tok" "$OUT/data"
# Host debug information off (the device code keeps its line table): the
# bundle travels within a 64 MiB limit, beside a carried run database.
strip --strip-debug -o "$OUT/bin/zeval" "$BIN"
# $OUT/zeval runs the binary with the bundled libraries; only that process
# sees them (python and the CUDA tools keep the machine's own).  They travel
# as lib.tar.xz (a third of their size), unpacked by the first call.
cat >"$OUT/zeval" <<'WRAP'
#!/bin/sh
d=$(dirname "$0")
untar() { # without xz, python3's tarfile reads it
  if command -v xz >/dev/null 2>&1; then tar -xJf "$1" -C "$2"; else
    python3 -c 'import sys, tarfile; tarfile.open(sys.argv[1]).extractall(sys.argv[2])' "$1" "$2"
  fi
}
if [ ! -d "$d/lib" ]; then
  rm -rf "$d/lib.$$" && mkdir "$d/lib.$$" && untar "$d/lib.tar.xz" "$d/lib.$$" &&
    { mv -T "$d/lib.$$" "$d/lib" 2>/dev/null || rm -rf "$d/lib.$$"; } ||
    { echo "$d/lib.tar.xz: could not unpack the bundled libraries" >&2; exit 1; }
fi
LD_LIBRARY_PATH="$d/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" exec "$d/bin/zeval" "$@"
WRAP
chmod +x "$OUT/zeval"
# Libraries: everything ldd resolves except glibc's own and the compiler's
# runtime (backward compatible: the GPU machine's newer ones run binaries
# built against Debian 12's, and the CUDA driver loads beside them).
ldd "$OUT/bin/zeval" | awk '$3 ~ /^\// {print $3}' | while read -r lib; do
  case "$(basename "$lib")" in
    libc.so.*|libm.so.*|libpthread.so.*|libdl.so.*|librt.so.*|libresolv.so.*|ld-linux*) ;;
    libstdc++.so.*|libgcc_s.so.*) ;;
    *) cp -L "$lib" "$OUT/lib/" ;;
  esac
done
tar -cJf "$OUT/lib.tar.xz" -C "$OUT/lib" .
rm -rf "$OUT/lib"
S=${ZEVAL_SHARED:-../shared}
G=$S/golden/zaya-tiny
cp "$G/config.json" "$G/model-bf16.safetensors" "$OUT/golden/"
T=$S/tokenizer/gemma3
gzip -9 -c "$T/tokenizer.json" >"$OUT/tok/tokenizer.json.gz"
gzip -9 -c "$T/tokenizer_config.json" >"$OUT/tok/tokenizer_config.json.gz"
cp "$S/datasets/math/aime_2025.jsonl" "$OUT/data/"
du -sh "$OUT"
