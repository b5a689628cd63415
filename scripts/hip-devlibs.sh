#!/bin/sh
# Makes a ROCm device-library directory with which Debian 12's clang-19 can
# compile HIP for gfx942 (MI300X) and RDNA3/4 (gfx110x, gfx120x): Debian's
# rocm-device-libs 5.2 bitcode, plus a synthesized oclc_isa_version_*.bc
# for each ISA that 5.2 predates (spec/hip-toolchain.md, "clang-19 route").
# For compile checks only: real AMD machines build with their own ROCm.
#   usage: scripts/hip-devlibs.sh DIR   (prints DIR/amdgcn/bitcode, the
#          --rocm-device-lib-path to use; exits 1 with a reason if it cannot)
# Env: CLANG19 (clang-19; clang++-19 does as well), ROCM_BITCODE (Debian's bitcode directory).
set -eu
dir=${1:?usage: scripts/hip-devlibs.sh DIR}
clang=${CLANG19:-clang-19}
src=${ROCM_BITCODE:-/usr/lib/x86_64-linux-gnu/amdgcn/bitcode}
out=$dir/amdgcn/bitcode
# ISA name : __oclc_ISA_version value
isas="942:9402 1100:11000 1101:11001 1102:11002 1200:12000 1201:12001"

if [ -f "$out/.complete" ]; then
    echo "$out"
    exit 0
fi
if [ ! -f "$src/ockl.bc" ]; then
    echo "hip-devlibs: no ROCm device libraries in $src (apt-get install rocm-device-libs)" >&2
    exit 1
fi
command -v "$clang" >/dev/null 2>&1 || {
    echo "hip-devlibs: $clang not found (apt-get install clang-19)" >&2
    exit 1
}
# Built beside the target and renamed, so concurrent runs never see half a
# directory.
mkdir -p "$dir/amdgcn"
tmp=$(mktemp -d "$dir/amdgcn/.tmp.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
ln -s "$src"/*.bc "$tmp/"
for v in $isas; do
    isa=${v%%:*} num=${v##*:}
    rm -f "$tmp/oclc_isa_version_$isa.bc"   # never write through a link into $src
    printf 'target triple = "amdgcn-amd-amdhsa"\n@__oclc_ISA_version = linkonce_odr protected local_unnamed_addr addrspace(4) constant i32 %s, align 4\n' "$num" |
        "$clang" --target=amdgcn-amd-amdhsa -nogpulib -c -emit-llvm -x ir - \
            -o "$tmp/oclc_isa_version_$isa.bc"
done
touch "$tmp/.complete"
if ! mv -T "$tmp" "$out" 2>/dev/null; then
    [ -f "$out/.complete" ] || { echo "hip-devlibs: cannot create $out" >&2; exit 1; }
fi
echo "$out"
