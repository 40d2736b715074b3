#!/usr/bin/env bash
# Builds the AWS Lambda package: a zip for the provided.al2023 (or
# provided.al2) runtime, for the program's architecture (this machine's, or
# the one `make package ARCH=...` cross-built), that runs on a machine with
# none of this one's libraries.
#
#   scripts/package.sh [PROGRAM] [ZIP]     (defaults: build/lean/backend-checks-results,
#                                           build/function.zip)
#
# A statically linked PROGRAM (what `make package` builds) is the whole zip:
#   bootstrap                     the program, stripped, with what it is made of
#                                 in its ELF section .bcr_deps (JSON)
#   sbom.cdx.json                 the same as a CycloneDX SBOM (scripts/sbom.py)
# so a cold start execs one file and loads nothing. The SBOM is also written
# beside the zip (build/function.cdx.json). CC is the compiler that linked the
# program (the SBOM records the libraries where it finds them), CROSS its
# binutils' prefix, LEAN_CURL the lean libcurl. A dynamically linked one
# (the sanitizer build) is laid out as aws-lambda-cpp's packager does:
#   bootstrap                     a static launcher (scripts/bootstrap.c)
#   bin/backend-checks-results    the program, stripped
#   lib/                          every shared library ldd lists for it, and the
#                                 dynamic loader, copied from this machine
# The launcher runs lib/LOADER --library-path lib bin/backend-checks-results, so
# the package uses its own libc and libraries wherever it is unpacked.
# Also writes ZIP without .zip + .architecture (build/function.architecture):
# the Lambda architecture name (x86_64 or arm64) the package is for.
# Entries are sorted and dated SOURCE_DATE_EPOCH (default: the last commit), so
# the same inputs give the same zip and Terraform sees no change.
set -euo pipefail
cd "$(dirname "$0")/.."

program=${1:-build/lean/backend-checks-results}
zip_path=${2:-build/function.zip}
cc=${CC:-cc}
cross=${CROSS:-}
lean_curl=${LEAN_CURL:-build/curl}
out_dir=$(dirname "$zip_path")
base=${zip_path%.zip}
# build/package for function.zip, build/package-arm64 for function-arm64.zip
name=$(basename "$base")
stage=$out_dir/package${name#function}

die() {
    echo "package: $*" >&2
    exit 1
}

for tool in readelf ldd zip "${cross}strip" "${cross}objcopy"; do
    command -v "$tool" >/dev/null || die "$tool is needed (scripts/install-deps.sh installs it)"
done
[[ -x $program ]] || die "$program is missing: run make first"

machine=$(readelf -h "$program" | sed -n 's/^ *Machine: *//p')
case $machine in
*X86-64*) arch=x86_64 ;;
AArch64) arch=arm64 ;;
*) die "Lambda runs x86_64 and arm64 only, not $machine" ;;
esac

epoch=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || echo 315532800)}
rm -rf "$stage"
mkdir -p "$stage"
interp=$(readelf -l "$program" | sed -n 's/.*Requesting program interpreter: \(.*\)]$/\1/p')
libs=0
if [[ -z $interp ]]; then
    SOURCE_DATE_EPOCH=$epoch scripts/sbom.py --cc "$cc" --arch "$arch" --curl-stamp "$lean_curl/stamp" \
        --sbom "$stage/sbom.cdx.json" --section "$stage/deps.json"
    # Not loaded (no SHF_ALLOC): in the file for readers, not in memory.
    "${cross}objcopy" --add-section .bcr_deps="$stage/deps.json" \
        --set-section-flags .bcr_deps=readonly "$program" "$stage/program"
    "${cross}strip" --strip-all -o "$stage/bootstrap" "$stage/program"
    rm "$stage/program" "$stage/deps.json"
    cp "$stage/sbom.cdx.json" "$base.cdx.json"
    chmod 0755 "$stage/bootstrap"
    chmod 0644 "$stage/sbom.cdx.json"
    what="static, SBOM $base.cdx.json"
else
    [[ -e $interp ]] || die "cannot find the dynamic loader of $program"
    loader=$(basename "$interp")
    mkdir -p "$stage/bin" "$stage/lib"
    strip --strip-all -o "$stage/bin/backend-checks-results" "$program"

    # "name => /path (addr)" for each library, "/path (addr)" for the loader and
    # "linux-vdso.so.1 (addr)" for the kernel's, which is not a file.
    while read -r name arrow path _; do
        if [[ $arrow == "=>" ]]; then
            [[ $path == /* ]] || die "ldd cannot find $name for $program"
            cp -L "$path" "$stage/lib/$name"
            libs=$((libs + 1))
        fi
    done < <(ldd "$program")
    cp -L "$interp" "$stage/lib/$loader"

    "$cc" -std=c11 -O2 -static -Wall -Wextra -Werror -DBCR_LOADER="\"$loader\"" \
        -o "$stage/bootstrap" scripts/bootstrap.c
    strip --strip-all "$stage/bootstrap"

    chmod 0755 "$stage/bootstrap" "$stage/bin/backend-checks-results" "$stage/lib/$loader"
    chmod 0644 "$stage"/lib/*.so.*
    chmod 0755 "$stage/lib/$loader"
    what="$libs libraries + $loader"
fi
find "$stage" -exec touch -h -d "@$epoch" {} +

rm -f "$zip_path"
zip_abs=$(cd "$out_dir" && pwd)/$(basename "$zip_path")
# zip stores local times: TZ=UTC makes the bytes the same in every time zone.
(cd "$stage" && find . -type f | LC_ALL=C sort | sed 's|^\./||' | TZ=UTC zip -X -q -9 -D "$zip_abs" -@)
echo "$arch" >"$base.architecture"
echo "package: $zip_path ($(du -k "$zip_path" | cut -f1) KiB, $what, $arch)"
