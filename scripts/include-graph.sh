#!/usr/bin/env bash
# Prints the include graph of src/ as a graphviz digraph: one node per module
# (a .c/.h pair), one edge per `#include "..."` between modules, and modules
# ranked by their layer in scripts/check-layers.sh, the highest at the top.
# `make docs` draws it into docs/architecture.svg.
set -euo pipefail
cd "$(dirname "$0")/.."
mapfile -t layers < <(sed -n '/^layers=(/,/^)/{s/^ *"\([^"]*\)".*/\1/p}' scripts/check-layers.sh)
declare -A known
for l in "${layers[@]}"; do for m in $l; do known[$m]=1; done; done

echo 'digraph src {'
echo '    rankdir=TB; node [shape=box, fontname="monospace", fontsize=10]; edge [color="#666666"];'
for ((i = ${#layers[@]} - 1; i >= 0; i--)); do
    printf '    { rank=same;'
    for m in ${layers[$i]}; do printf ' "%s";' "$m"; done
    echo ' }'
done
cd src
declare -A seen
while IFS= read -r file; do
    mod=${file%.*}
    mod=${mod%_private} # a module's private header is part of it
    while IFS= read -r inc; do
        target=${inc%.h}
        target=${target%_private}
        if [[ -z ${known[$target]+x} && $mod == */* ]]; then target=${mod%/*}/$target; fi
        [[ -n ${known[$target]+x} && $target != "$mod" ]] || continue
        edge="\"$mod\" -> \"$target\""
        [[ -n ${seen[$edge]+x} ]] && continue
        seen[$edge]=1
        echo "    $edge;"
    done < <(sed -n 's/^#include "\([^"]*\)".*/\1/p' "$file")
done < <(find . -name '*.[ch]' -printf '%P\n' | sort)
echo '}'
