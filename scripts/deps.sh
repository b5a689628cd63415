#!/bin/sh
# Installs the Debian packages zeval needs to build and test.
set -eu
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update
$SUDO apt-get install -y --no-install-recommends \
    build-essential pkg-config ca-certificates \
    clang libclang-rt-14-dev \
    libcjson-dev libpcre2-dev libsqlite3-dev libcurl4-openssl-dev libseccomp-dev \
    libgmp-dev libmpfr-dev \
    python3 python3-jinja2 python3-sympy \
    zlib1g-dev curl sqlite3 xz-utils \
    chromium
# GPU backend checks of `make test` (tests/gpu/run.sh): hipcc and Debian's
# HIP 5.2 for the AMD build, clang-19 (+ lld, clang-offload-bundler) for the
# gfx942/gfx1100 compile checks; build-essential brings g++ for the CPU
# emulation.  nvcc comes with the machine's image (/usr/local/cuda): CUDA
# is not installed here.
$SUDO apt-get install -y --no-install-recommends \
    hipcc libamdhip64-dev rocm-device-libs clang-19 lld-19 clang-tools-19
# node and npm drive Chromium in the report test; a machine may already have
# them from another source (whose nodejs package conflicts with Debian's npm).
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    $SUDO apt-get install -y --no-install-recommends nodejs npm
fi
