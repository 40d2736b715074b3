#!/usr/bin/env bash
# README.md's table of settings is written from the one table in src/settings.c
# by PROGRAM (scripts/settings-markdown.c), between the two marker lines below.
#   readme-settings.sh PROGRAM README      rewrites it (`make readme-settings`)
#   readme-settings.sh --check PROGRAM README   fails if it differs (`make lint`)
set -euo pipefail
check=false
if [[ ${1:-} == --check ]]; then check=true; shift; fi
prog=$1 readme=$2
begin='<!-- settings: written by `make readme-settings` from src/settings.c -->'
end='<!-- end of settings -->'

if [[ $(grep -cxF -- "$begin" "$readme") != 1 || $(grep -cxF -- "$end" "$readme") != 1 ]]; then
    echo "readme-settings: $readme needs the lines '$begin' and '$end', once each" >&2
    exit 1
fi
table=$(mktemp) new=$(mktemp)
trap 'rm -f "$table" "$new"' EXIT
"$prog" >"$table"
awk -v begin="$begin" -v end="$end" -v table="$table" '
    $0 == begin { print; while ((getline line < table) > 0) print line; skip = 1; next }
    $0 == end { skip = 0 }
    !skip { print }' "$readme" >"$new"

if $check; then
    if ! diff -u "$readme" "$new" >&2; then
        echo "readme-settings: the table of settings in $readme differs from src/settings.c (above);" \
             "run 'make readme-settings'" >&2
        exit 1
    fi
    echo "readme-settings: $readme's table of settings is src/settings.c's"
else
    cat "$new" >"$readme"
fi
