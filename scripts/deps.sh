#!/bin/sh
# Installs the Debian packages zeval needs to build and test.
set -eu
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update
$SUDO apt-get install -y --no-install-recommends \
    build-essential pkg-config ca-certificates \
    libcjson-dev libpcre2-dev libsqlite3-dev libcurl4-openssl-dev libseccomp-dev
