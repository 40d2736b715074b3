#!/usr/bin/env bash
# Installs the build and test dependencies that are missing, from Debian's
# packages and (for the test servers) the npm registry with the committed
# lockfile. Does nothing when everything is there already.
set -euo pipefail
cd "$(dirname "$0")/.."

# package:probe pairs; the probe is a command, or a path (glob) of a file the
# package provides.
needs=(
    "gcc:gcc" "make:make" "pkg-config:pkg-config"
    "libcurl4-openssl-dev:/usr/include/*/curl/curl.h"
    "libssl-dev:/usr/include/openssl/evp.h"
    "libjansson-dev:/usr/include/jansson.h"
    "libc-ares-dev:/usr/include/ares.h" "dpkg-dev:dpkg-source"
    "libcmocka-dev:/usr/include/cmocka.h"
    "python3-botocore:/usr/lib/python3/dist-packages/botocore/auth.py"
    "zip:zip" "unzip:unzip" "valgrind:valgrind" "clang-format:clang-format" "cppcheck:cppcheck"
    "nodejs:node" "npm:npm" "python3-yaml:/usr/lib/python3/dist-packages/yaml/__init__.py"
    "ca-certificates:/etc/ssl/certs/ca-certificates.crt" "openssl:/usr/bin/openssl"
)

missing=()
for pair in "${needs[@]}"; do
    pkg=${pair%%:*} probe=${pair#*:}
    case $probe in
    /*) compgen -G "$probe" >/dev/null || missing+=("$pkg") ;;
    *) command -v "$probe" >/dev/null 2>&1 || missing+=("$pkg") ;;
    esac
done

scripts/apt-install.sh install-deps ${missing[@]+"${missing[@]}"}

# The S3 server and Lambda emulator used by the integration tests.
if [[ -f package-lock.json ]] && [[ ! -d node_modules || package-lock.json -nt node_modules/.package-lock.json ]]; then
    echo "install-deps: npm ci" >&2
    npm ci --no-audit --no-fund --loglevel=error >&2
fi
