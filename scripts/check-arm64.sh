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

scripts/install-cross-deps.sh arm64

"$make" --no-print-directory BUILD="$build" "$build/simd/json_paths" \
    "$build/simd/json_paths_scalar" "$build/simd/json_paths_arm64"
"$build/simd/json_paths"
"$build/simd/json_paths_scalar"
# Its loader and C library: libc6:arm64 (multiarch), under /.
qemu-aarch64 -L / "$build/simd/json_paths_arm64"
