#!/usr/bin/env bash
# Every symbol a module of src/ exports names the module it lives in, so a
# reader of any call knows which header to open: a module's exports begin
# with its name and an underscore (json_decode_string in json_decode); those
# of the S3 client's modules may begin with s3_ instead (sigv4_ for the
# signature's). Reads the
# objects `make` built (BUILD, default build). Run by `make check-layers` (CI).
set -euo pipefail
cd "$(dirname "$0")/.."
obj=${BUILD:-build}/obj
status=0
for o in $(find "$obj" -name '*.o' ! -path "$obj/support/*" | sort); do
    mod=${o#"$obj"/}
    mod=${mod%.o}
    base=${mod##*/}
    case $mod in
        s3/sigv4*) family=sigv4_ ;;
        s3/*) family=s3_ ;;
        *) family= ;;
    esac
    while read -r sym; do
        [[ $sym == "${base}_"* || ($family && $sym == "$family"*) || $sym == main ]] && continue
        echo "check-names: $mod exports $sym, which does not begin with ${base}_${family:+ or $family}" >&2
        status=1
    done < <(nm --defined-only -g "$o" | awk '$2 ~ /^[TDBR]$/ {print $3}')
done
((status == 0)) && echo "check-names: every export of src/ names its module"
exit $status
