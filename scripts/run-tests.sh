#!/usr/bin/env bash
# Runs every test binary (cmocka), then prints one closing line that sums up
# the binaries: "tests: N passed, N failed".
set -uo pipefail
bin=$1
shift
export BCR_BIN=$PWD/$bin
passed=0 failed=0 failures=()
for t in "$@"; do
    echo "== $t"
    if "$t"; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
        failures+=("$t")
    fi
done
((failed)) && printf 'failed: %s\n' "${failures[@]}"
echo "tests: $passed passed, $failed failed"
((failed == 0))
