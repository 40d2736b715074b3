#!/usr/bin/env bash
# Runs every test binary (cmocka), then prints one closing line that sums up
# the binaries: "tests: N passed, N failed".
#
# Each binary runs under a time limit, TEST_TIMEOUT seconds (default 900: the
# slow integration tests under a sanitizer take minutes). A binary still
# running then is stopped with its whole process group, servers it started
# included (TERM, then KILL 10 s later), a line names it and the cmocka test
# case that was running:
#   "timeout: BIN ran past TEST_TIMEOUT=Ns in TEST"
# and it counts as failed. After every binary, whatever it left in its
# process group is killed, so nothing outlives the binary that started it.
# tests/integration/test_run_tests.c checks this.
set -uo pipefail
bin=$1
shift
export BCR_BIN=$PWD/$bin
limit=${TEST_TIMEOUT:-900}
if ! [[ $limit =~ ^[1-9][0-9]*$ ]]; then
    echo "run-tests.sh: TEST_TIMEOUT must be a number of seconds, not '$limit'" >&2
    exit 2
fi
log=$(mktemp)
trap 'rm -f "$log"' EXIT

# The cmocka test case of $log that started last and did not finish, or a
# description of where else the binary was.
running_test() {
    local last
    last=$(grep -aE '^\[ (RUN|      OK|  FAILED|  SKIPPED|  ERROR) +\]' "$log" | tail -n 1)
    case $last in
    '[ RUN '*) echo "${last#*] }" ;;
    '') echo "no test case (before the first one started)" ;;
    *) echo "no test case (a group fixture, after ${last#*] })" ;;
    esac
}

passed=0 failed=0 failures=()
for t in "$@"; do
    echo "== $t"
    # tee shows the output as it comes and keeps it; timeout puts itself and
    # the test in a process group of their own, led by timeout ($group).
    exec 3> >(tee "$log")
    tee_pid=$!
    start=$SECONDS
    timeout --kill-after=10 "$limit" "$t" >&3 2>&1 3>&- &
    group=$!
    wait "$group" 2>/dev/null # (not "Killed": the lines below say what happened)
    rc=$?
    kill -KILL -- "-$group" 2>/dev/null
    exec 3>&-
    wait "$tee_pid" # $log is complete once every writer is gone
    if ((rc == 124 || (rc == 137 && SECONDS - start >= limit))); then
        echo "timeout: $t ran past TEST_TIMEOUT=${limit}s in $(running_test)"
        rc=1
    elif ((rc > 128)); then
        echo "$t: ended by SIG$(kill -l $((rc - 128))) in $(running_test)"
    fi
    if ((rc == 0)); then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
        failures+=("$t")
    fi
done
((failed)) && printf 'failed: %s\n' "${failures[@]}"
echo "tests: $passed passed, $failed failed"
((failed == 0))
