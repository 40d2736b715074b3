#!/usr/bin/env bash
# The architecture, in one place: the layers of src/, lowest first. A module
# (a .c/.h pair, named by its path below src/ without the extension) may
# include modules of its own layer and of the layers above it in this list,
# never one further down: layers only point down. Every module must be listed,
# so a new file is placed deliberately. Run by `make check-layers` (CI).
set -euo pipefail
cd "$(dirname "$0")/../src"

layers=(
    "version simd textw utf8 crc32c"     # base: text, bytes, checksums
    "jsonw"                              # base: small JSON texts
    "error"                              # base: typed errors (as JSON, for replies)
    "buf sink uuid util worker log"      # base: bounded memory, threads, logging
    "interrupt"                          # base: SIGTERM and SIGINT, noticed by every loop
    "handoff"                            # base: the double-buffered writer of both stores
    "settings"                           # base: every flag and environment variable, one table
    "json json_scan json_decode http"    # the streaming JSON scanner, its string decoder; HTTP headers
    "build_info"                         # what the program is made of (--version; libcurl's from http)
    "s3/sigv4 s3/sigv4_canonical s3/credentials" # S3 protocol pieces: signing, what is signed
    "store"                              # the object-store interface
    "s3/config s3/operation s3/error_doc" # S3 configuration; the operation table; error documents, worded as the store's
    "store_dir store_fd s3/client"       # the directory and stdout stores; the S3 transfer engine
    "s3/get s3/put"                      # S3 requests, one file per kind
    "s3/store_s3"                        # the S3 store: constructor and vtable
    "event manifest output"              # the step's documents
    "batches"                            # Outputs validated off the main thread, written in order
    "result_reader"                      # result files into the output
    "step"                               # the step: (event, store) -> results.json
    "options runtime_api"                # what the shells are told; the Lambda Runtime API client
    "emf cli lambda"                     # the shells
    "main"
)

# A module's private header (NAME_private.h: its internals) sits in the
# module's layer and may be included only by the modules listed here.
declare -A private_users=(
    [s3/client]="s3/client s3/get" # the request engine; the streaming GetObject drives exchanges
)

declare -A level
for i in "${!layers[@]}"; do
    for m in ${layers[$i]}; do level[$m]=$i; done
done

status=0
while IFS= read -r file; do
    mod=${file%.*}
    mod=${mod%_private}
    if [[ -z ${level[$mod]+x} ]]; then
        echo "check-layers: src/$file: module '$mod' has no layer (add it to scripts/check-layers.sh)" >&2
        status=1
        continue
    fi
    while IFS= read -r inc; do
        # Includes are written relative to src/ ("s3/client.h") or, inside
        # a subdirectory, to the including file's own directory.
        target=${inc%.h}
        private=
        if [[ $target == *_private ]]; then
            target=${target%_private}
            private=1
        fi
        if [[ -z ${level[$target]+x} && $mod == */* ]]; then target=${mod%/*}/$target; fi
        if [[ -n $private && " ${private_users[$target]-} " != *" $mod "* ]]; then
            echo "check-layers: src/$file includes \"$inc\", private to ${private_users[$target]:-$target} (scripts/check-layers.sh)" >&2
            status=1
            continue
        fi
        if [[ -z ${level[$target]+x} ]]; then
            echo "check-layers: src/$file includes \"$inc\", which is no module of src/" >&2
            status=1
        elif ((level[$target] > level[$mod])); then
            echo "check-layers: src/$file ($mod, layer $((level[$mod] + 1))) includes \"$inc\" from layer $((level[$target] + 1)), above it" >&2
            status=1
        fi
    done < <(sed -n 's/^#include "\([^"]*\)".*/\1/p' "$file")
done < <(find . -name '*.[ch]' -printf '%P\n' | sort)

# The environment, too, is read in named places only (docs/architecture.md):
# getenv in settings.c alone, whose table names every variable, and the
# table's readers (settings_env, settings_env_integer) called only by the
# shells and the configuration modules below.
env_readers="settings main cli lambda options s3/config"
while IFS=: read -r file line _; do
    echo "check-layers: src/$file:$line calls getenv: read the environment with settings_env (settings.h)" >&2
    status=1
done < <(grep -rnE '\b(secure_)?getenv *\(' --include='*.[ch]' . | sed 's|^\./||' | grep -v '^settings\.c:')
while IFS=: read -r file line _; do
    mod=${file%.*}
    if [[ " $env_readers " != *" $mod "* ]]; then
        echo "check-layers: src/$file:$line reads the environment; only $env_readers do (pass the value down)" >&2
        status=1
    fi
done < <(grep -rnE '\bsettings_env(_integer)?\(' --include='*.c' . | sed 's|^\./||')

((status == 0)) && echo "check-layers: every include of src/ points down (${#layers[@]} layers); only $env_readers read the environment"
exit $status
