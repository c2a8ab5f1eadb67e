#!/usr/bin/env bash
# The audit benchmark of docs/performance.md (section "kumomori audit"): a generated organisation
# snapshot (50,000 IAM roles, 20,000 S3 buckets with their nine per-bucket answers each, 5,000
# security groups, 2,000 RDS instances; 10 accounts, 10 regions; about 182,000 files, 146 MB) is
# audited with every check, text report to /dev/null, three times with the default two threads,
# once with one and once without S6 (the recoverability analysis). The snapshot is generated
# once into OUT/audit-org (kept between runs).
# usage: bench/audit/run.sh [OUT]      (default bench/out; runs from anywhere)
set -u
cd "$(dirname "$0")/../.."
out=${1:-bench/out}
snap="$out/audit-org"
mkdir -p "$out"
[ -x build/kumomori ] || { echo "skipped: audit benchmark (build/kumomori is not built)"; exit 0; }
if [ ! -f "$snap/.complete" ]; then
    echo "== generating $snap"
    rm -rf "$snap"
    python3 bench/audit/gen_org_snapshot.py "$snap" && touch "$snap/.complete" || { echo "skipped: generator failed"; exit 0; }
fi
echo "== kumomori audit over $(find "$snap/" -type f -name '*.json' | wc -l) files, $(du -sb "$snap/" | cut -f1) bytes"
# Page cache warm, as for every benchmark here: read the files once first.
find "$snap/" -type f -name '*.json' -print0 | xargs -0 cat > /dev/null
stat_cmd() {
    if [ -x build/bench/runstat ]; then build/bench/runstat "$@"
    else /usr/bin/time -f "wall_s %e user_s %U sys_s %S maxrss_kib %M exit %x" "$@" > /dev/null; fi
}
: > "$out/audit.txt"
for i in 1 2 3; do
    stat_cmd build/kumomori audit --format text -o /dev/null "$snap" 2>&1 | tail -1 | sed 's/^/audit-2threads /' | tee -a "$out/audit.txt"
done
KUMOMORI_THREADS=1 stat_cmd build/kumomori audit --format text -o /dev/null "$snap" 2>&1 | tail -1 | sed 's/^/audit-1thread /' | tee -a "$out/audit.txt"
# The same without S6's recoverability analysis (its share of the time, docs/performance.md).
stat_cmd build/kumomori audit --scenario S1,S2,S3,S4,S5,S7 --format text -o /dev/null "$snap" 2>&1 | tail -1 | sed 's/^/audit-without-S6 /' | tee -a "$out/audit.txt"
build/kumomori audit --format text "$snap" 2>/dev/null | head -2 | sed 's/^/   /'
