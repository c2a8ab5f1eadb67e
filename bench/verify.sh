#!/usr/bin/env bash
# Benchmark of `kumomori verify` (issue 6): validating a trail of KM_BENCH_VERIFY_MB MiB
# (default 1024) of uncompressed CloudTrail logs must take at most 1.3 times as long as
# `gzip -dc` piped to `sha256sum` over the same log files. Best of 3 wall-clock runs each.
# The trail is generated once by tests/gen_trail.py --bench-mb and kept in bench/out/ (git-ignored),
# shared with part "verify" of `make bench` (bench/run.sh), which measures with runstat.
set -eu
cd "$(dirname "$0")/.."
MB=${KM_BENCH_VERIFY_MB:-1024}
RUNS=${KM_BENCH_RUNS:-3}
DIR=bench/out/verify-trail-$MB
KM=${KM:-build/kumomori}
if [ ! -f "$DIR/keys.json" ]; then
    echo "generating a trail with $MB MiB of logs in $DIR (once)..."
    python3 tests/gen_trail.py "$DIR" --bench-mb "$MB"
fi
mapfile -t LOGS < <(find "$DIR/kumomori-test-trail" -path '*/CloudTrail/*' -name '*.json.gz' | sort)
now() { date +%s.%N; }
best() { # best wall time of RUNS runs of "$@" (output discarded)
    local b="" t0 t1 d
    for _ in $(seq "$RUNS"); do
        t0=$(now); "$@" >/dev/null; t1=$(now)
        d=$(awk -v a="$t0" -v z="$t1" 'BEGIN { printf "%.3f", z - a }')
        if [ -z "$b" ] || awk -v d="$d" -v b="$b" 'BEGIN { exit !(d < b) }'; then b=$d; fi
    done
    echo "$b"
}
floor() { gzip -dc "${LOGS[@]}" | sha256sum; }
ours() { "$KM" verify "$DIR/kumomori-test-trail" --public-keys "$DIR/keys.json" || [ $? = 1 ]; }
cat "${LOGS[@]}" >/dev/null # warm the page cache for both
"$KM" verify "$DIR/kumomori-test-trail" --public-keys "$DIR/keys.json" | tail -3
f=$(best floor)
k=$(best ours)
ratio=$(awk -v k="$k" -v f="$f" 'BEGIN { printf "%.3f", k / f }')
printf 'verify: %d log files, %s MiB: gzip -dc | sha256sum %.2f s, kumomori verify %.2f s, ratio %.2f (goal <= 1.30)\n' \
    "${#LOGS[@]}" "$MB" "$f" "$k" "$ratio"
