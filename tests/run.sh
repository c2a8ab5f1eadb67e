#!/usr/bin/env bash
# Runs every test suite and sums their counts. Last line: "N passed, N failed".
# Suites: unit tests (gcc build), unit tests (clang ASan+UBSan build), CLI cases with the
# normal binary, CLI cases with the sanitized binary, the CLI cases of the commands that start
# threads (detect, watch, audit, recoverability, verify) with the ThreadSanitizer build, the HTML
# report in headless Chromium, then
# (docs/security.md) the allocation-failure sweep (sampled), a subset of the CLI cases under
# valgrind and make lint.
# KM_SKIP_ASAN=1 skips the sanitized ones (ASan and TSan), KM_SKIP_SLOW=1 the last three (make test-fast).
set -u
cd "$(dirname "$0")/.."
top=$(pwd)
export KUMOMORI_TOP="$top"
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:exitcode=86"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
total_p=0; total_f=0; total_s=0
mkdir -p build/test-logs

run_suite() {
    local name=$1; shift
    local log="build/test-logs/$name.log"
    echo "== $name"
    "$@" >"$log" 2>&1
    local rc=$?
    grep -E '^(FAIL|skipped)' "$log" | head -50
    local last
    last=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$log" | tail -1)
    if [ -z "$last" ]; then
        echo "   suite $name crashed or printed no summary (exit $rc); see $log"
        tail -20 "$log"
        total_f=$((total_f + 1))
        return
    fi
    echo "   $last"
    local p f s
    p=$(echo "$last" | sed -E 's/^([0-9]+) passed.*/\1/')
    f=$(echo "$last" | sed -E 's/^[0-9]+ passed, ([0-9]+) failed.*/\1/')
    s=$(echo "$last" | sed -nE 's/.*, ([0-9]+) skipped.*/\1/p')
    total_p=$((total_p + p)); total_f=$((total_f + f)); total_s=$((total_s + ${s:-0}))
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
        echo "   suite $name exited $rc with no failed test; counted as a failure"
        total_f=$((total_f + 1))
    fi
}

run_suite unit build/tests/unit
if [ "${KM_SKIP_ASAN:-0}" != 1 ]; then
    run_suite unit-asan build/asan/tests/unit
fi
run_suite cli bash tests/cli/run.sh build/kumomori
if [ "${KM_SKIP_ASAN:-0}" != 1 ]; then
    run_suite cli-asan bash tests/cli/run.sh build/asan/kumomori
    # A data race makes the process exit 66 (the case then fails on its exit status) and prints
    # ThreadSanitizer's report, which the log keeps.
    run_suite cli-tsan env TSAN_OPTIONS="halt_on_error=1:exitcode=66" \
        KM_CASES="$(ls tests/cli/cases | grep -E '^(detect|watch|audit|recov|verify|threads)-' | tr '\n' ' ')" \
        bash tests/cli/run.sh build/tsan/kumomori
fi
# The HTML report in headless Chromium (skipped when Chromium is not installed).
run_suite browser bash tests/browser/report_chromium.sh build/kumomori
if [ "${KM_SKIP_SLOW:-0}" != 1 ]; then
    if [ "${KM_SKIP_ASAN:-0}" != 1 ]; then
        run_suite allocfail env KM_ALLOCFAIL_RUNS="${KM_ALLOCFAIL_RUNS:-25}" bash tests/allocfail/run.sh
    fi
    # The cases below cover every command and the bad-input paths; `make valgrind` runs them all.
    run_suite cli-valgrind env KM_VALGRIND=1 KM_CASES="$(cat tests/valgrind-cases.txt | grep -v '^#' | tr '\n' ' ')" \
        bash tests/cli/run.sh build/kumomori
    run_suite lint bash tools/lint.sh
fi
echo "$total_p passed, $total_f failed, $total_s skipped"
[ "$total_f" -eq 0 ]
