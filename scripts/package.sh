#!/usr/bin/env bash
# Builds the AWS Lambda package: a zip for the provided.al2023 (or
# provided.al2) runtime, on this machine's architecture, that runs on a
# machine with none of this one's libraries.
#
#   scripts/package.sh [PROGRAM] [ZIP]     (defaults: build/lean/backend-checks-results,
#                                           build/function.zip)
#
# A statically linked PROGRAM (what `make package` builds) is the whole zip:
#   bootstrap                     the program, stripped
# so a cold start execs one file and loads nothing. A dynamically linked one
# (the sanitizer build) is laid out as aws-lambda-cpp's packager does:
#   bootstrap                     a static launcher (scripts/bootstrap.c)
#   bin/backend-checks-results    the program, stripped
#   lib/                          every shared library ldd lists for it, and the
#                                 dynamic loader, copied from this machine
# The launcher runs lib/LOADER --library-path lib bin/backend-checks-results, so
# the package uses its own libc and libraries wherever it is unpacked.
# Also writes ZIP's directory/function.architecture: the Lambda architecture
# name (x86_64 or arm64) the package is for.
# Entries are sorted and dated SOURCE_DATE_EPOCH (default: the last commit), so
# the same inputs give the same zip and Terraform sees no change.
set -euo pipefail
cd "$(dirname "$0")/.."

program=${1:-build/lean/backend-checks-results}
zip_path=${2:-build/function.zip}
cc=${CC:-cc}
out_dir=$(dirname "$zip_path")
stage=$out_dir/package

die() {
    echo "package: $*" >&2
    exit 1
}

for tool in readelf ldd zip strip; do
    command -v "$tool" >/dev/null || die "$tool is needed (scripts/install-deps.sh installs it)"
done
[[ -x $program ]] || die "$program is missing: run make first"

case $(uname -m) in
x86_64) arch=x86_64 ;;
aarch64) arch=arm64 ;;
*) die "Lambda runs x86_64 and arm64 only, not $(uname -m)" ;;
esac

rm -rf "$stage"
mkdir -p "$stage"
interp=$(readelf -l "$program" | sed -n 's/.*Requesting program interpreter: \(.*\)]$/\1/p')
libs=0
if [[ -z $interp ]]; then
    strip --strip-all -o "$stage/bootstrap" "$program"
    chmod 0755 "$stage/bootstrap"
    what="static"
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
epoch=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || echo 315532800)}
find "$stage" -exec touch -h -d "@$epoch" {} +

rm -f "$zip_path"
zip_abs=$(cd "$out_dir" && pwd)/$(basename "$zip_path")
# zip stores local times: TZ=UTC makes the bytes the same in every time zone.
(cd "$stage" && find . -type f | LC_ALL=C sort | sed 's|^\./||' | TZ=UTC zip -X -q -9 -D "$zip_abs" -@)
echo "$arch" >"$out_dir/function.architecture"
echo "package: $zip_path ($(du -k "$zip_path" | cut -f1) KiB, $what, $arch)"
