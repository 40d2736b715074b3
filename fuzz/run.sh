#!/usr/bin/env bash
# Builds the libFuzzer targets (fuzz/fuzz_*.c) with clang, AddressSanitizer and
# UndefinedBehaviorSanitizer in build/fuzz, then runs each for FUZZ_SECONDS
# seconds from its seed corpus (fuzz/corpus/<target>). Fails if any target
# finds a crash, a hang (over 10 s on one input), a leak or a broken check.
#
# Environment: FUZZ_SECONDS (default 60; 0 runs the seed corpora once, as a
# regression test), FUZZ_TARGETS (space-separated names, default all),
# FUZZ_BUILD (default build/fuzz), WARNINGS (the project's warning flags,
# passed in by the Makefile), MAKE.
#
# New inputs go to FUZZ_BUILD/corpus/<target>, never into the repository;
# findings to FUZZ_BUILD/artifacts/<target>-crash-..., logs to
# FUZZ_BUILD/logs/<target>.log. To reproduce: FUZZ_BUILD/bin/<target> FILE.
set -uo pipefail
cd "$(dirname "$0")/.."

seconds=${FUZZ_SECONDS:-60}
build=${FUZZ_BUILD:-build/fuzz}
make=${MAKE:-make}
warnings=${WARNINGS:--Wall -Wextra}
cc=$(command -v clang-14 || command -v clang) || {
    echo "fuzz: clang not found (scripts/install-fuzz-deps.sh installs it)" >&2
    exit 1
}
instrument="-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer"
link="-fsanitize=fuzzer,address,undefined"
opt="-O1 -g"

# The library, built by the project's Makefile with clang and instrumented.
# Objects built with other flags are thrown away first.
mkdir -p "$build"
flags="$cc $opt $instrument"
if [[ ! -f $build/.flags || $(cat "$build/.flags") != "$flags" ]]; then
    rm -rf "$build/obj" "$build/libbcr.a"
    echo "$flags" >"$build/.flags"
fi
$make --no-print-directory -s BUILD="$build" CC="$cc" WERROR=-Werror OPT="$opt" \
    EXTRA_CFLAGS="$instrument" "$build/libbcr.a" || exit 1

# The targets.
mkdir -p "$build/bin" "$build/logs" "$build/artifacts"
cflags="-std=c11 -D_DEFAULT_SOURCE $warnings -Werror $opt -Isrc -Ifuzz -Itests/support"
for support in fuzz/common.c fuzz/split.c tests/support/memsink.c; do
    name=$(basename "$support" .c)
    # shellcheck disable=SC2086
    $cc $cflags $instrument -c "$support" -o "$build/obj/fuzz_support_$name.o" || exit 1
done
if [[ -n ${FUZZ_TARGETS:-} ]]; then
    targets=($FUZZ_TARGETS)
else
    targets=()
    for src in fuzz/fuzz_*.c; do
        name=${src#fuzz/}
        targets+=("${name%.c}")
    done
fi
for t in "${targets[@]}"; do
    # shellcheck disable=SC2086
    $cc $cflags $instrument $link -o "$build/bin/$t" "fuzz/$t.c" \
        "$build/obj/fuzz_support_common.o" "$build/obj/fuzz_support_split.o" \
        "$build/obj/fuzz_support_memsink.o" "$build/libbcr.a" \
        -lcurl -lcrypto -ljansson -lm || exit 1
done

dict_for() {
    case $1 in
    fuzz_s3_error) echo fuzz/dict/xml.dict ;;
    fuzz_sigv4) echo "" ;;
    *) echo fuzz/dict/json.dict ;;
    esac
}

failed=()
for t in "${targets[@]}"; do
    mkdir -p "$build/corpus/$t" "fuzz/corpus/$t"
    args=(-timeout=10 -rss_limit_mb=2048 -print_final_stats=1
        "-artifact_prefix=$build/artifacts/$t-")
    dict=$(dict_for "$t")
    [[ -n $dict ]] && args+=("-dict=$dict")
    if ((seconds > 0)); then
        args+=("-max_total_time=$seconds" "$build/corpus/$t" "fuzz/corpus/$t")
    else
        args+=(-runs=0 "fuzz/corpus/$t")
    fi
    log=$build/logs/$t.log
    # Leaks are findings too; quiet UBSan/ASan reports still abort the run.
    ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} "$build/bin/$t" "${args[@]}" >"$log" 2>&1
    rc=$?
    execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1)
    corpus=$(find "$build/corpus/$t" -type f | wc -l)
    if ((rc == 0)); then
        printf 'fuzz: %-24s ok      %10s runs  %-10s corpus %s\n' "$t" "${execs:-?}" "${cov:-}" "$corpus"
    else
        printf 'fuzz: %-24s FAILED  (exit %d; see %s)\n' "$t" "$rc" "$log"
        grep -E 'ERROR:|FUZZ CHECK FAILED|SUMMARY|Test unit written|runtime error' "$log" | head -8 | sed 's/^/      /'
        failed+=("$t")
    fi
done
if ((${#failed[@]})); then
    echo "fuzz: ${#failed[@]} target(s) found a problem: ${failed[*]}"
    exit 1
fi
echo "fuzz: ${#targets[@]} targets, no findings"
