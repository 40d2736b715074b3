#!/usr/bin/env bash
# scripts/install-cross-deps.sh ARCH: installs what building the Lambda package
# for the other architecture needs (`make package ARCH=arm64` on x86-64, or
# ARCH=x86_64 on arm64), and running it under qemu-user: Debian's cross
# compiler, the architecture added to dpkg (multiarch), and for it the C
# library and the -dev packages of scripts/static-libs. The C library is
# libc6-dev:ARCH, not the cross toolchain's libc6-dev-ARCH-cross: that one is
# built once per Debian release (glibc 2.36-8 in Debian 12) and misses the
# security updates that libc6-dev gets. Does nothing for the machine's own
# architecture, or when everything is there already. Needs root to install.
set -euo pipefail
cd "$(dirname "$0")/.."

arch=${1:?usage: install-cross-deps.sh x86_64|arm64}
case $arch in
x86_64) deb_arch=amd64 triplet=x86_64-linux-gnu qemu=qemu-x86_64 ;;
arm64) deb_arch=arm64 triplet=aarch64-linux-gnu qemu=qemu-aarch64 ;;
*) echo "install-cross-deps: Lambda runs x86_64 and arm64 only, not $arch" >&2; exit 1 ;;
esac
[[ $deb_arch == "$(dpkg --print-architecture)" ]] && exit 0

missing=()
command -v "$triplet-gcc" >/dev/null 2>&1 || missing+=("gcc-$triplet")
command -v "$qemu" >/dev/null 2>&1 || missing+=(qemu-user)
for pkg in libc6-dev $(awk '!/^#/ && NF {print $2}' scripts/static-libs); do
    [[ $(dpkg-query -W -f='${db:Status-Abbrev}' "$pkg:$deb_arch" 2>/dev/null) == ii* ]] ||
        missing+=("$pkg:$deb_arch")
done
((${#missing[@]})) || exit 0

if ! dpkg --print-foreign-architectures | grep -qx "$deb_arch"; then
    if [[ $(id -u) != 0 ]]; then
        echo "install-cross-deps: dpkg lacks architecture $deb_arch (run as root)" >&2
        exit 1
    fi
    echo "install-cross-deps: dpkg --add-architecture $deb_arch" >&2
    dpkg --add-architecture "$deb_arch"
fi
scripts/apt-install.sh install-cross-deps "${missing[@]}"
