#!/usr/bin/env bash
# Builds the lean libcurl that `make package` links statically, once, into
# OUT (default build/curl): OUT/include, OUT/lib/libcurl.a and OUT/stamp.
#
#   scripts/build-curl.sh [OUT]
#
# Why: Debian's libcurl links LDAP, RTMP, SSH, Kerberos, PSL, IDN, zstd,
# brotli and nghttp2, which bring 26 more shared libraries (gnutls, p11-kit,
# ...) that Lambda must unpack, load and relocate at every cold start. The
# program needs HTTP/1.1 over OpenSSL only.
#
# The source is Debian's own: `apt-get source curl=VERSION` at the version of
# the installed libcurl4-openssl-dev, so the headers the program compiles
# against and the library it links are the same release with the same
# (security) patches. apt checks the source against the signed Sources index;
# dpkg-source unpacks it and applies Debian's patches. When Debian updates
# curl (apt-get upgrade brings a new libcurl4-openssl-dev), the stamp no
# longer matches and the next `make package` rebuilds; nothing to edit.
# Takes about 30 s on two cores; CI caches OUT with the build directory.
# Needs root once, to add the deb-src entry for the suites already configured.
# With CROSS=TRIPLET- (CROSS=aarch64-linux-gnu-) and CC, it is cross-built for
# that architecture, against its static libraries (multiarch), as `make
# package ARCH=...` asks.
set -euo pipefail
cd "$(dirname "$0")/.."

out=${1:-build/curl}
cross=${CROSS:-}
version=$(dpkg-query -W -f='${Version}' libcurl4-openssl-dev 2>/dev/null) ||
    { echo "build-curl: libcurl4-openssl-dev is not installed (make deps)" >&2; exit 1; }
target=${cross%-}
target=${target:-$(uname -m)}
# A new Debian version or a change to this script rebuilds.
stamp="curl $version $target $(sha256sum "$0" | cut -c1-16)"
if [[ -f $out/stamp && $(<"$out/stamp") == "$stamp" && -f $out/lib/libcurl.a ]]; then
    exit 0
fi

for tool in dpkg-source make cc; do
    command -v "$tool" >/dev/null || scripts/apt-install.sh build-curl dpkg-dev
done

# apt-get source needs a deb-src entry: the same URIs and suites as the
# configured deb822 binary entries, written once.
src_list=/etc/apt/sources.list.d/bcr-deb-src.sources
if ! apt-get source --print-uris -qq "curl=$version" >/dev/null 2>&1; then
    if [[ $(id -u) != 0 ]]; then
        echo "build-curl: no deb-src entry for curl $version (run once as root)" >&2
        exit 1
    fi
    echo "build-curl: adding $src_list" >&2
    sed -n '/^Types:.*\bdeb\b/,/^$/{s/^Types:.*/Types: deb-src/;p}' \
        /etc/apt/sources.list.d/debian.sources >"$src_list"
    apt-get update -qq
fi

started=$(date +%s)
work=$out.src
rm -rf "$work" "$out"
mkdir -p "$work"
(cd "$work" && apt-get source -qq --only-source "curl=$version" >/dev/null 2>&1) ||
    { echo "build-curl: apt-get source curl=$version failed" >&2; exit 1; }
src=$(find "$work" -mindepth 1 -maxdepth 1 -type d -name 'curl-*' | head -n 1)
[[ -n $src ]] || { echo "build-curl: no source tree in $work" >&2; exit 1; }

prefix=$(mkdir -p "$out" && cd "$out" && pwd)
# Only what the program uses: HTTP/1.1 (and a proxy) over OpenSSL. Names are
# resolved with c-ares, which reads /etc/hosts and /etc/resolv.conf itself:
# glibc's getaddrinfo would go through NSS, which a static program cannot load
# modules for. No default CA directory: the program names its trust store
# (src/s3_config.c: the system's hashed directory, else a bundle).
(
    cd "$src"
    cross_args=()
    if [[ -n $cross ]]; then
        # pkg-config reads the target's .pc files (OpenSSL's, c-ares's).
        export CC=${CC:-${cross}gcc} PKG_CONFIG_LIBDIR=/usr/lib/$target/pkgconfig:/usr/share/pkgconfig
        cross_args=(--host="$target" --build="$(dpkg-architecture -qDEB_BUILD_GNU_TYPE)")
    fi
    ./configure -q --prefix="$prefix" ${cross_args[@]+"${cross_args[@]}"} --disable-shared --enable-static --with-pic \
        --with-openssl --with-ca-bundle=/etc/ssl/certs/ca-certificates.crt --without-ca-path \
        --enable-ares --enable-ipv6 \
        --disable-ftp --disable-file --disable-ldap --disable-ldaps --disable-rtsp \
        --disable-dict --disable-telnet --disable-tftp --disable-pop3 --disable-imap \
        --disable-smb --disable-smtp --disable-gopher --disable-mqtt --disable-manual \
        --disable-ntlm --disable-ntlm-wb \
        --disable-alt-svc --disable-hsts --disable-cookies --disable-netrc --disable-doh \
        --disable-unix-sockets --disable-tls-srp --disable-mime \
        --disable-libcurl-option --disable-dependency-tracking \
        --without-zlib --without-brotli --without-zstd --without-libpsl --without-libidn2 \
        --without-nghttp2 --without-nghttp3 --without-ngtcp2 --without-libssh2 \
        --without-libssh --without-librtmp --without-gssapi --without-libgsasl \
        --without-hyper >/dev/null
    make -s -j"$(nproc)" -C lib >/dev/null
    make -s -C lib install >/dev/null
    make -s -C include install >/dev/null
)
rm -rf "$work"
echo "$stamp" >"$out/stamp"
echo "build-curl: libcurl $version for $target built in $(($(date +%s) - started)) s" >&2
