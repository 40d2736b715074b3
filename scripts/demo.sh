#!/usr/bin/env bash
# Runs the step on the sample export in sample/ (a directory store, no
# credentials): a copy goes to build/demo-store so the repository stays clean.
set -euo pipefail
bin=${1:-build/backend-checks-results}
cd "$(dirname "$0")/.."
store=build/demo-store
rm -rf "$store"
mkdir -p "$store"
cp -R sample/store/. "$store"/

echo "\$ $bin --store $store sample/event.json"
reply=$("$bin" --store "$store" sample/event.json)
echo "$reply"
key=$(sed -e 's/.*"key": "\([^"]*\)".*/\1/' <<<"$reply")
bucket=$(sed -e 's/.*"bucket": "\([^"]*\)".*/\1/' <<<"$reply")
out="$store/$bucket/$key"
echo
echo "results.json went to s3://$bucket/$key, in the directory store: $out"
echo "($(wc -c <"$out") bytes; it begins:)"
head -c 400 "$out"
echo " ..."
