#!/usr/bin/env bash
# bench/run.sh BUILD [bench.py args...]: what `make bench` runs; bench/run.sh BUILD --prod
# [prod.py args...]: what `make bench-prod` runs. Installs what the benchmark
# needs (Debian's python3-boto3 for the reference, gnuplot-nox for the plot), builds the small
# tools, then runs bench/bench.py. Data goes under BUILD/bench-data and is removed after
# the run; the table, results.tsv and the plot go to BUILD/bench-out.
set -euo pipefail
cd "$(dirname "$0")/.."
build=$1
shift

python=/usr/bin/python3
[[ -x $python ]] || python=$(command -v python3)
missing=()
"$python" -c 'import boto3' 2>/dev/null || missing+=(python3-boto3)
command -v gnuplot >/dev/null 2>&1 || missing+=(gnuplot-nox)
command -v curl >/dev/null 2>&1 || missing+=(curl)
scripts/apt-install.sh bench ${missing[@]+"${missing[@]}"}

cc=${CC:-cc}
mkdir -p "$build/bench-tools"
for tool in copyfloor measure multipartfloor; do
    "$cc" -std=c11 -O2 -Wall -Wextra -o "$build/bench-tools/$tool" "bench/$tool.c"
done
# The floor is linked as the package is (static, one file): no function starts faster.
"$cc" -std=c11 -O2 -Wall -Wextra -static -s -o "$build/bench-tools/lambda_floor" bench/lambda_floor.c

if [[ ${1-} == --prod ]]; then
    shift
    # The request floor speaks TLS with the package's own lean static libcurl and OpenSSL.
    lean=${LEAN_CURL:-$build/curl}
    "$cc" -std=c11 -O2 -Wall -Wextra -static -I"$lean/include" -o "$build/bench-tools/requestfloor" \
        bench/requestfloor.c "$lean/lib/libcurl.a" -lcares -lssl -lcrypto -pthread
    exec "$python" bench/prod.py --bin "$build/lean/backend-checks-results" \
        --requestfloor "$PWD/$build/bench-tools/requestfloor" --measure "$build/bench-tools/measure" \
        --package "$build/function.zip" --data "$build/bench-data" --out "$build/bench-out" "$@"
fi
exec "$python" bench/bench.py --bin "$build/backend-checks-results" \
    --copyfloor "$build/bench-tools/copyfloor" --measure "$build/bench-tools/measure" \
    --multipartfloor "$build/bench-tools/multipartfloor" \
    --lambda-floor "$PWD/$build/bench-tools/lambda_floor" \
    --data "$build/bench-data" --out "$build/bench-out" "$@"
