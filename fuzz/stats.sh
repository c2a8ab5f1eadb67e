#!/usr/bin/env bash
# Sums build/fuzz/stats.tsv (written by fuzz/run.sh) per target: runs, seconds, executions of the
# runs that found nothing, and how many runs found something. Markdown table on stdout.
# usage: fuzz/stats.sh [SINCE]   (SINCE: only runs that ended at or after this UTC time, e.g.
#                                 2026-11-26T00:20Z, to count only the code as fixed)
cd "$(dirname "$0")/.."
since=${1:-}
[ -f build/fuzz/stats.tsv ] || { echo "no build/fuzz/stats.tsv yet"; exit 1; }
awk -F'\t' -v since="$since" '
    since != "" && $1 < since { next }
    { t = $2; secs = $3; sub(/s$/, "", secs); n = $4; sub(/ executions$/, "", n)
      runs[t]++; time[t] += secs
      if ($5 == "ok") exec[t] += n; else found[t]++
      if (!(t in first)) first[t] = $1; last[t] = $1 }
    END {
      print "| target | runs | seconds | executions without a finding | runs that found something | from | to |"
      print "|---|---:|---:|---:|---:|---|---|"
      for (t in runs) printf "| `%s` | %d | %d | %d | %d | %s | %s |\n", t, runs[t], time[t], exec[t], found[t], first[t], last[t]
    }' build/fuzz/stats.tsv | { read -r h; read -r s; echo "$h"; echo "$s"; sort; }
