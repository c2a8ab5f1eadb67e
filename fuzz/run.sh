#!/usr/bin/env bash
# Runs fuzz targets one after the other (the machine is shared: one process at a time), each for
# FUZZ_SECONDS seconds, or FUZZ_RUNS executions when that is set. Seeds are built at run time by
# fuzz/seeds.py into build/fuzz/seeds/<target>; what libFuzzer finds new goes to
# build/fuzz/corpus/<target>, crashes to build/fuzz/artifacts/<target>/. Each run appends a line
# to build/fuzz/stats.tsv (UTC date, target, seconds, executions, result, commit, seed, corpus);
# fuzz/totals.sh sums it. The commit is HEAD's, with "+" when the target's harness (fuzz/fuzz_<target>.c,
# fuzz/util.c, fuzz/fuzz.h) had uncommitted changes: such a run is not counted towards a total.
# A run libFuzzer ended because it was interrupted (SIGINT/SIGTERM: it prints "run interrupted"
# and exits 72) is recorded as "interrupted": not a finding, and totals.sh does not count its
# executions either (the run did not go the distance it was asked for, and nothing says the
# inputs up to the signal were all checked to the end).
# FUZZ_SEED=N passes -seed=N (libFuzzer's mutations are then the same from run to run).
# FUZZ_FRESH=1 starts from freshly made seeds alone (build/fuzz/fresh/<target>, emptied first),
# as CI does on its clean clone: with the same FUZZ_SEED and the same seeds, a local run at least
# as long as CI's goes through the inputs CI's run will (`make fuzz-smoke` sets both, and makes
# the seeds from the repository only, KUMOMORI_CORPORA=none, as CI may not have ../shared).
# ASan's quarantine (freed memory kept poisoned, so that a use after free is caught) is 32 MiB
# here instead of ASan's default 256 MiB, unless ASAN_OPTIONS sets quarantine_size_mb itself: the
# slow targets free 15 to 140 KB per execution on average (ASan's print_stats over 3,000
# executions each), so 32 MiB still holds what the last few hundred executions freed, while
# cycling 256 MiB through the quarantine left the allocator handing out cold, often unmapped
# memory: page faults and cache misses were 20 to 45% of seal's, gzip's and snap's time, and
# the smaller quarantine makes them 1.2 to 1.9 times faster (docs/security.md, "Cost per
# execution"). No class of error is turned off.
# usage: fuzz/run.sh TARGET...   (names without the fuzz_ prefix)
set -u
cd "$(dirname "$0")/.."
secs=${FUZZ_SECONDS:-300}
runs=${FUZZ_RUNS:-}
seed=${FUZZ_SEED:-}
fail=0
case ":${ASAN_OPTIONS:-}:" in
    *:quarantine_size_mb=*) ;;
    *) export ASAN_OPTIONS="quarantine_size_mb=32${ASAN_OPTIONS:+:$ASAN_OPTIONS}" ;;
esac
mkdir -p build/fuzz/logs
head=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
for t in "$@"; do
    bin=build/fuzz/fuzz_$t
    [ -x "$bin" ] || { echo "$bin: not built"; fail=1; continue; }
    seeds=build/fuzz/seeds/$t corpus=build/fuzz/corpus/$t art=build/fuzz/artifacts/$t kind=kept
    if [ -n "${FUZZ_FRESH:-}" ]; then
        corpus=build/fuzz/fresh/$t seeds=build/fuzz/fresh/$t-seeds kind=fresh
        rm -rf "$corpus" "$seeds"
    fi
    # libFuzzer rereads its corpus folder every second to pick up other processes' finds; that
    # makes a run depend on timing (measured: two runs with the same seed differed), so a run
    # meant to be replayed does not.
    reload=(); [ "$kind" = fresh ] && reload=(-reload=0)
    mkdir -p "$seeds" "$corpus" "$art"
    commit=$head
    [ -n "$(git status --porcelain -- "fuzz/fuzz_$t.c" fuzz/util.c fuzz/fuzz.h 2>/dev/null)" ] && commit="$head+"
    python3 fuzz/seeds.py "$t" "$seeds" >/dev/null || echo "$t: seed generation failed (running on the corpus only)"
    dict=fuzz/$t.dict
    [ -f "$dict" ] || dict=fuzz/json.dict
    # one log per run: two runs of one target at once (two cores) shared build/fuzz/logs/<target>.log,
    # and each then read its executions and seed from the other's lines (session 9)
    log=build/fuzz/logs/$t.$$.log
    limit=(-max_total_time="$secs")
    [ -n "$runs" ] && limit=(-runs="$runs")
    [ -n "$seed" ] && limit+=(-seed="$seed")
    limit+=("${reload[@]}")
    start=$(date +%s)
    echo "ASAN_OPTIONS=$ASAN_OPTIONS" >"$log"
    "$bin" "${limit[@]}" -dict="$dict" -max_len="${FUZZ_MAX_LEN:-8192}" -timeout=20 -rss_limit_mb=2048 \
        -print_final_stats=1 -artifact_prefix="$art/" "$corpus" "$seeds" >>"$log" 2>&1
    rc=$?
    took=$(( $(date +%s) - start ))
    execs=$(sed -nE 's/^stat::number_of_executed_units: *([0-9]+).*/\1/p' "$log" | tail -1)
    if [ $rc -eq 0 ]; then
        result=ok
    elif [ $rc -eq 72 ] && grep -q 'libFuzzer: run interrupted' "$log"; then
        result="interrupted (exit 72)"; fail=1
    else
        result="FOUND (exit $rc, see $log and $art/)"; fail=1
    fi
    used_seed=$(sed -nE 's/^INFO: Seed: ([0-9]+).*/\1/p' "$log" | head -1)
    printf '%s\t%s\t%ss\t%s executions\t%s\t%s\t%s\t%s\n' "$(date -u +%Y-%m-%dT%H:%MZ)" "$t" "$took" "${execs:-?}" \
        "$result" "$commit" "seed ${used_seed:-?}" "$kind" \
        | tee -a build/fuzz/stats.tsv
    # The report itself, not just its summary: CI keeps only what is printed.
    [ $rc -eq 0 ] || [ "${result%% *}" = interrupted ] || sed -n '/ERROR: \|property failed\|==ERROR\|deadly signal\|Timeout\|out-of-memory/,$p' "$log" | head -60
done
exit $fail
