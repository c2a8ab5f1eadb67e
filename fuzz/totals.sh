#!/usr/bin/env bash
# Executions per target that count towards the issue's goal (10 million without a finding):
# the runs in build/fuzz/stats.tsv (written by fuzz/run.sh) and fuzz/stats/*.tsv (earlier machines'
# runs, committed) made with the target's current
# harness, i.e. after the last commit that changed fuzz/fuzz_<target>.c, fuzz/util.c or
# fuzz/fuzz.h. A run counts when it found nothing and its recorded commit contains that change
# (older lines without a commit column: when they ended after the change's minute); a run made
# with uncommitted harness changes ("+") never counts. A run recorded as "interrupted" (libFuzzer
# stopped by SIGINT/SIGTERM, exit 72: fuzz/run.sh) is neither: its executions are not counted and
# it is not a run that found something. Prints a Markdown table, then each target
# still below the goal with the time it would need at its measured rate.
# usage: fuzz/totals.sh [GOAL]   (GOAL defaults to 10000000)
set -u
cd "$(dirname "$0")/.."
goal=${1:-10000000}
# This machine's runs (build/fuzz/stats.tsv) and the runs of earlier machines that were committed
# (fuzz/stats/*.tsv: build/fuzz/ is not kept from one session's machine to the next); a line in both
# counts once.
stats=$(mktemp)
trap 'rm -f "$stats"' EXIT
cat build/fuzz/stats.tsv fuzz/stats/*.tsv 2>/dev/null | sort -u > "$stats"
[ -s "$stats" ] || { echo "no build/fuzz/stats.tsv or fuzz/stats/*.tsv yet (fuzz/run.sh writes the first)"; exit 1; }
targets=$(ls fuzz/fuzz_*.c | sed -E 's#fuzz/fuzz_(.*)\.c#\1#')
echo "| target | harness since | counted runs | executions | seconds | executions/s | runs that found something | first run | last run |"
echo "|---|---|---:|---:|---:|---:|---:|---|---|"
below=""
for t in $targets; do
    hc=$(git log -1 --format=%H -- "fuzz/fuzz_$t.c" fuzz/util.c fuzz/fuzz.h)
    hmin=$(TZ=UTC git log -1 --date=format-local:%Y-%m-%dT%H:%MZ --format=%cd "$hc")
    # one line per run: counted? (1/0), found? (1/0), seconds, executions, date
    line=$(awk -F'\t' -v t="$t" '$2 == t' "$stats" | while IFS=$'\t' read -r date tt secs execs result commit seed kind; do
        secs=${secs%s}; execs=${execs% executions}
        counted=0
        if [ -n "${commit:-}" ]; then
            case "$commit" in
                *+) ;;
                *) git merge-base --is-ancestor "$hc" "$commit" 2>/dev/null && counted=1 ;;
            esac
        elif [[ "$date" > "$hmin" ]]; then
            counted=1
        fi
        found=0
        case "$result" in
            ok) ;;
            interrupted*) counted=0 ;;
            *) found=1 ;;
        esac
        echo "$counted $found $secs $execs $date"
    done | awk '$1 == 1 { if ($2 == 0) { runs++; ex += $4; s += $3 } else found++
                           if (first == "") first = $5; last = $5 }
                END { printf "%d %d %d %d %s %s\n", runs, ex, s, found, first == "" ? "-" : first, last == "" ? "-" : last }')
    read -r runs ex s found first last <<<"$line"
    rate=0; [ "$s" -gt 0 ] && rate=$(( ex / s ))
    printf '| `%s` | %s (%s) | %d | %d | %d | %d | %d | %s | %s |\n' "$t" "${hc:0:7}" "$hmin" "$runs" "$ex" "$s" "$rate" "$found" "$first" "$last"
    if [ "$ex" -lt "$goal" ]; then
        if [ "$rate" -gt 0 ]; then need=$(( (goal - ex) / rate )); else need=-1; fi
        below+="$t: $ex of $goal"
        if [ "$need" -ge 0 ]; then below+=" (about $(( need / 3600 )) h $(( need % 3600 / 60 )) min more at $rate/s)"; fi
        below+=$'\n'
    fi
done
echo
if [ -n "$below" ]; then printf 'Below %d executions:\n%s' "$goal" "$below"; else echo "Every target has at least $goal executions."; fi
