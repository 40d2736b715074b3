#!/usr/bin/env bash
# scripts/apt-install.sh WHO PACKAGE...: installs Debian packages that a make
# target found missing. WHO names that target in the messages. Needs root.
set -euo pipefail
who=$1
shift
(($#)) || exit 0
if [[ $(id -u) != 0 ]]; then
    echo "$who: missing packages: $* (run as root, or apt-get install them)" >&2
    exit 1
fi
echo "$who: installing $*" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "$@" >/dev/null
