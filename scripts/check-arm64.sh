#!/usr/bin/env bash
# scripts/check-arm64.sh [BUILD]: what `make check-arm64` runs. Checks the JSON
# scanner's SIMD fast paths (tests/simd/json_paths.c) natively (SSE2), with
# SIMD disabled, and as the arm64 build (NEON): cross-compiled with Debian's
# gcc-aarch64-linux-gnu and run under qemu-user, installed first if missing.
# On an arm64 machine the native run is already the NEON one.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
make=${MAKE:-make}

if [[ $(uname -m) == aarch64 ]]; then
    "$make" --no-print-directory BUILD="$build" "$build/simd/json_paths" \
        "$build/simd/json_paths_scalar"
    "$build/simd/json_paths"
    "$build/simd/json_paths_scalar"
    exit
fi

missing=()
command -v aarch64-linux-gnu-gcc >/dev/null 2>&1 ||
    missing+=(gcc-aarch64-linux-gnu libc6-dev-arm64-cross)
command -v qemu-aarch64 >/dev/null 2>&1 || missing+=(qemu-user)
scripts/apt-install.sh check-arm64 ${missing[@]+"${missing[@]}"}

"$make" --no-print-directory BUILD="$build" "$build/simd/json_paths" \
    "$build/simd/json_paths_scalar" "$build/simd/json_paths_arm64"
"$build/simd/json_paths"
"$build/simd/json_paths_scalar"
qemu-aarch64 -L /usr/aarch64-linux-gnu "$build/simd/json_paths_arm64"
