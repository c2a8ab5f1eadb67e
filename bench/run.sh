#!/usr/bin/env bash
# `make bench`: the benchmarks of docs/performance.md. Benchmarks, not tests: nothing here fails
# on a time; it fails only when a result is wrong (per-rule counts differ from the peers').
#   1. CL2 matcher groups over ../shared/bench/gen_citylots2_like.py 100000 1 (bench/cl2)
#   2. rule-count scaling, 10 vs 10,000 generated patterns (bench/scale)
#   3. `kumomori detect` over a generated 1,000,000-event trail vs `gzip -dc` (bench/gen_trail.py)
#   4. `kumomori audit` over a generated organisation snapshot (bench/audit/run.sh)
#   5. rules (issue 5): the same trail with the pattern rules only vs the built-in pack + thresholds
#      + correlations + all of SigmaHQ's CloudTrail rules (target: at most 1.2x the time)
#   6. verify (issue 6): `kumomori verify` over a signed trail of KM_BENCH_VERIFY_MB MiB (default
#      1024) of uncompressed logs vs `gzip -dc LOGS | sha256sum` (target: at most 1.3x the time)
# Generated data and results go to bench/out/ (git-ignored); the summary is bench/out/summary.md.
# Environment: KM_BENCH_REPS (default 5), KM_BENCH_TRAIL_EVENTS (default 1000000),
# KM_BENCH_ONLY="cl2 scale trail" (a subset), KM_BENCH_SCALE_FAMILIES=1 (scaling per pattern
# family too), KM_BENCH_PEER_FIGURES (peer results to compare with;
# default bench/peer-figures.txt, recorded on this project's machine: see docs/performance.md).
set -u
cd "$(dirname "$0")/.."
out=bench/out
mkdir -p "$out"
reps=${KM_BENCH_REPS:-5}
only=${KM_BENCH_ONLY:-cl2 scale trail audit rules verify}
shared=${KUMOMORI_SHARED:-../shared}
status=0
runstat=build/bench/runstat

echo "machine: $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //'), $(nproc) CPUs," \
     "load $(cut -d' ' -f1-3 /proc/loadavg), $(uname -sr)" | tee "$out/machine.txt"
echo "commit: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)" | tee -a "$out/machine.txt"

# --- 1. CL2 ------------------------------------------------------------------------------
cl2_events="$out/cl2-100k.jsonl"
if [[ " $only " == *" cl2 "* || " $only " == *" scale "* ]]; then
    if [ ! -s "$cl2_events" ]; then
        if [ -f "$shared/bench/gen_citylots2_like.py" ]; then
            echo "== generating $cl2_events"
            python3 "$shared/bench/gen_citylots2_like.py" 100000 1 > "$cl2_events.tmp" && mv "$cl2_events.tmp" "$cl2_events"
        else
            echo "skipped: CL2 and scale benchmarks ($shared/bench/gen_citylots2_like.py not found)"
        fi
    fi
fi
if [[ " $only " == *" cl2 "* ]] && [ -s "$cl2_events" ]; then
    echo "== CL2 rule groups, $reps runs each (events/s: median, min, max; per-rule counts)"
    build/bench/cl2 --reps "$reps" --expect bench/cl2-peer-counts.txt "$cl2_events" | tee "$out/cl2.txt"
    [ "${PIPESTATUS[0]}" -eq 0 ] || { echo "CL2: counts differ from the peers' (see above)"; status=1; }
fi

# --- 2. scaling ------------------------------------------------------------------------------
if [[ " $only " == *" scale "* ]] && [ -s "$cl2_events" ]; then
    echo "== rule-count scaling: 10 vs 10,000 generated patterns over the same events"
    build/bench/scale --reps 5 "$cl2_events" 10 10000 | tee "$out/scale.txt"
    [ "${PIPESTATUS[0]}" -eq 0 ] || status=1
    if [ "${KM_BENCH_SCALE_FAMILIES:-0}" = 1 ]; then
        echo "-- the same, one pattern family at a time (0 exact, 4 prefix, 5 equals-ignore-case, 6 numeric,"
        echo "   7 wildcard, 8 anything-but, 9 suffix)"
        for f in 0 4 5 6 7 8 9; do
            echo "family $f $(build/bench/scale --reps 1 --families $f "$cl2_events" 10 10000 | grep '^SCALE ratio')"
        done | tee -a "$out/scale.txt"
    fi
fi

# --- 3. detect over a trail ------------------------------------------------------------------------
median_of() { sort -n | awk '{v[NR]=$1} END {print (NR%2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }
trail_ok=0
if [[ " $only " == *" trail "* || " $only " == *" rules "* ]]; then
    events=${KM_BENCH_TRAIL_EVENTS:-1000000}
    trail="$out/trail"
    echo "== generating a $events-event trail in $trail (kept between runs)"
    if ! python3 bench/gen_trail.py --events "$events" --out "$trail" --corpora "$shared/corpora" > "$out/trail-manifest.txt"; then
        echo "skipped: trail benchmark (gen_trail.py failed)"
    else
        cat "$out/trail-manifest.txt"
        # Page cache warm for every contender: read the files once first.
        find "$trail" -type f -print0 | xargs -0 cat > /dev/null
        trail_ok=1
    fi
fi
if [[ " $only " == *" trail "* ]] && [ $trail_ok = 1 ]; then
    (
        : > "$out/trail.txt"
        have_detect=0
        build/kumomori detect --help > /dev/null 2>&1 && have_detect=1
        [ $have_detect = 1 ] || echo "skipped: kumomori detect is not built yet (floor only)"
        # Interleaved (floor, -j1, -j2) x 3 so that a change in the machine's load hits all alike.
        echo "-- gzip -dc over the same files to /dev/null (the floor) and kumomori detect -j1/-j2 with the"
        echo "   full built-in pack, default text output to /dev/null; 3 rounds"
        for i in 1 2 3; do
            $runstat sh -c "find '$trail' -name '*.json.gz' -print0 | sort -z | xargs -0 gzip -dc > /dev/null" 2>&1 |
                sed 's/^/floor /' | tee -a "$out/trail.txt"
            [ $have_detect = 1 ] || continue
            for j in 1 2; do
                $runstat --child-stderr "$out/detect-j$j.stderr" build/kumomori detect -j$j "$trail" 2>&1 |
                    sed "s/^/detect-j$j /" | tee -a "$out/trail.txt"
            done
        done
        if [ $have_detect = 1 ]; then
            for j in 1 2; do tail -3 "$out/detect-j$j.stderr" | sed "s/^/   detect -j$j stderr: /"; done
        fi
    )
fi

# --- 5. rules: pattern rules only vs everything (issue 5) ------------------------------------------
if [[ " $only " == *" rules "* ]] && [ $trail_ok = 1 ] && [ -x build/kumomori ]; then
    sigma="$shared/corpora/cloudtrail/sigma"
    if [ ! -d "$sigma/rules" ]; then
        echo "skipped: rules benchmark ($sigma/rules not found)"
    else
        # the pattern rules of the built-in pack: every rule folder but the stateful one
        pat=()
        for d in rules/*/; do [ "$d" = rules/stateful/ ] || pat+=(--rules "$d"); done
        : > "$out/rules.txt"
        echo "-- kumomori detect -j1 -q over $trail: the pack's pattern rules only, then the built-in pack +"
        echo "   thresholds + correlations + SigmaHQ's rules/ and unsupported/; alternating, $reps rounds"
        for i in $(seq "$reps"); do
            $runstat --child-stderr "$out/rules-patterns.stderr" build/kumomori detect -j1 --no-builtin "${pat[@]}" "$trail" 2>&1 |
                sed 's/^/patterns /' | tee -a "$out/rules.txt"
            $runstat --child-stderr "$out/rules-all.stderr" build/kumomori detect -j1 --rules "$sigma/rules" \
                --rules "$sigma/unsupported" "$trail" 2>&1 | sed 's/^/all /' | tee -a "$out/rules.txt"
        done
        for k in patterns all; do grep -E 'files,|thresholds' "$out/rules-$k.stderr" | sed "s/^/   $k: /"; done
    fi
fi

# --- 6. verify: a signed trail vs gzip -dc | sha256sum (issue 6) -------------------------------------
if [[ " $only " == *" verify "* ]] && [ -x build/kumomori ]; then
    mb=${KM_BENCH_VERIFY_MB:-1024}
    vdir="$out/verify-trail-$mb"
    if [ ! -f "$vdir/keys.json" ]; then
        echo "== generating a signed trail with $mb MiB of uncompressed logs in $vdir (kept between runs)"
        python3 tests/gen_trail.py "$vdir" --bench-mb "$mb" > /dev/null || echo "skipped: verify benchmark (tests/gen_trail.py failed)"
    fi
    if [ -f "$vdir/keys.json" ]; then
        find "$vdir" -type f -print0 | xargs -0 cat > /dev/null
        : > "$out/verify.txt"
        echo "-- gzip -dc LOGS | sha256sum and kumomori verify over $vdir; alternating, $reps rounds"
        for i in $(seq "$reps"); do
            $runstat sh -c "find '$vdir' -path '*/CloudTrail/*' -name '*.json.gz' -print0 | sort -z | xargs -0 gzip -dc | sha256sum" 2>&1 |
                sed 's/^/floor /' | tee -a "$out/verify.txt"
            $runstat --child-stderr "$out/verify.stderr" build/kumomori verify "$vdir/kumomori-test-trail" \
                --public-keys "$vdir/keys.json" 2>&1 | sed 's/^/verify /' | tee -a "$out/verify.txt"
        done
        grep -c . "$out/verify.stderr" > /dev/null 2>&1 && sed 's/^/   verify stderr: /' "$out/verify.stderr" | head -3
    fi
fi

# --- 4. audit over an organisation snapshot -----------------------------------------------------
if [[ " $only " == *" audit "* ]]; then
    bash bench/audit/run.sh "$out"
fi

# --- summary ----------------------------------------------------------------------------------
python3 bench/summary.py "$out" "${KM_BENCH_PEER_FIGURES:-bench/peer-figures.txt}" | tee "$out/summary.md"
exit $status
