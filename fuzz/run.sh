#!/usr/bin/env bash
# Runs fuzz targets one after the other (the machine is shared: one process at a time), each for
# FUZZ_SECONDS seconds, or FUZZ_RUNS executions when that is set. Seeds are built at run time by
# fuzz/seeds.py into build/fuzz/seeds/<target>; what libFuzzer finds new goes to
# build/fuzz/corpus/<target>, crashes to build/fuzz/artifacts/<target>/. Each run appends a line
# to build/fuzz/stats.tsv (UTC date, target, seconds, executions, result).
# usage: fuzz/run.sh TARGET...   (names without the fuzz_ prefix)
set -u
cd "$(dirname "$0")/.."
secs=${FUZZ_SECONDS:-300}
runs=${FUZZ_RUNS:-}
fail=0
mkdir -p build/fuzz/logs
for t in "$@"; do
    bin=build/fuzz/fuzz_$t
    [ -x "$bin" ] || { echo "$bin: not built"; fail=1; continue; }
    seeds=build/fuzz/seeds/$t corpus=build/fuzz/corpus/$t art=build/fuzz/artifacts/$t
    mkdir -p "$seeds" "$corpus" "$art"
    python3 fuzz/seeds.py "$t" "$seeds" >/dev/null || echo "$t: seed generation failed (running on the corpus only)"
    dict=fuzz/$t.dict
    [ -f "$dict" ] || dict=fuzz/json.dict
    log=build/fuzz/logs/$t.log
    limit=(-max_total_time="$secs")
    [ -n "$runs" ] && limit=(-runs="$runs")
    start=$(date +%s)
    "$bin" "${limit[@]}" -dict="$dict" -max_len="${FUZZ_MAX_LEN:-8192}" -timeout=20 -rss_limit_mb=2048 \
        -print_final_stats=1 -artifact_prefix="$art/" "$corpus" "$seeds" >"$log" 2>&1
    rc=$?
    took=$(( $(date +%s) - start ))
    execs=$(sed -nE 's/^stat::number_of_executed_units: *([0-9]+).*/\1/p' "$log" | tail -1)
    if [ $rc -eq 0 ]; then result=ok; else result="FOUND (exit $rc, see $log and $art/)"; fail=1; fi
    printf '%s\t%s\t%ss\t%s executions\t%s\n' "$(date -u +%Y-%m-%dT%H:%MZ)" "$t" "$took" "${execs:-?}" "$result" \
        | tee -a build/fuzz/stats.tsv
    # The report itself, not just its summary: CI keeps only what is printed.
    [ $rc -eq 0 ] || sed -n '/ERROR: \|property failed\|==ERROR\|deadly signal\|Timeout\|out-of-memory/,$p' "$log" | head -60
done
exit $fail
