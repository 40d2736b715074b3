#!/usr/bin/env bash
# Installs what `make fuzz` needs and lacks: clang with libFuzzer and the
# sanitizer runtimes (Debian 12: clang 14). Separate from install-deps.sh,
# which the ordinary build and tests use; this one is only for fuzzing.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v clang-14 >/dev/null 2>&1 || command -v clang >/dev/null 2>&1 || missing+=(clang-14)
compgen -G "/usr/lib/llvm-*/lib/clang/*/lib/linux/libclang_rt.fuzzer-x86_64.a" >/dev/null ||
    missing+=(libclang-rt-14-dev)
scripts/apt-install.sh install-fuzz-deps "${missing[@]}"
