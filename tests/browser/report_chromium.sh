#!/usr/bin/env bash
# The report in a real browser: headless Chromium (Debian's chromium package) opens the page
# written for tests/data/report/ with a filter in the address (#scenario=S6&severity=HIGH), runs
# its script, and the rendered DOM must hold the expected elements with the filter applied (rows
# of other scenarios and severities carry `hidden`, the counters say so). The screenshot is kept
# in build/test-artifacts/report.png and must be a real 1366x900 PNG with content.
# Says "skipped" (and counts it so) when Chromium is not installed.
# Usage: tests/browser/report_chromium.sh KUMOMORI_BINARY
set -u
KM=${1:-build/kumomori}
TOP=$(cd "$(dirname "$0")/../.." && pwd)
KM=$(cd "$(dirname "$KM")" && pwd)/$(basename "$KM")
ART=$TOP/build/test-artifacts
passed=0; failed=0; skipped=0

CHROME=""
for c in chromium chromium-browser google-chrome; do
    if command -v "$c" >/dev/null 2>&1; then CHROME=$(command -v "$c"); break; fi
done
if [ -z "$CHROME" ]; then
    echo "skipped report-chromium: chromium is not installed (apt-get install chromium)"
    echo "0 passed, 0 failed, 1 skipped"
    exit 0
fi

mkdir -p "$ART"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
ok() { passed=$((passed + 1)); }
bad() { echo "FAIL report-chromium: $*"; failed=$((failed + 1)); }

"$KM" report -q --audit "$TOP/tests/data/report/audit-recov.json" --detect "$TOP/tests/data/report/alerts-small.jsonl" \
    --out "$ART/report.html" 2>"$work/report.err"
rc=$?
[ "$rc" = 2 ] || bad "kumomori report exited $rc (expected 2: two alert lines are bad on purpose)"

start=$(date +%s)
# One run gives both the DOM after the script ran and the screenshot. No sandbox: tests may run
# as root in a container; the page is our own file and the CSP forbids any network access.
DBUS_SESSION_BUS_ADDRESS=disabled: timeout 120 "$CHROME" --headless --no-sandbox --disable-gpu \
    --disable-dev-shm-usage --no-first-run --no-default-browser-check --disable-extensions \
    --disable-background-networking --user-data-dir="$work/profile" \
    --virtual-time-budget=3000 --window-size=1366,900 --hide-scrollbars \
    --screenshot="$ART/report.png" --dump-dom \
    "file://$ART/report.html#scenario=S6&severity=HIGH" >"$ART/report-dom.html" 2>"$work/chrome.err"
crc=$?
secs=$(( $(date +%s) - start ))
echo "chromium: exit $crc in ${secs} s ($CHROME)"
if [ "$crc" != 0 ] || [ ! -s "$ART/report-dom.html" ]; then
    bad "chromium exited $crc: $(grep -v -e dbus -e 'ERROR:.*bus' "$work/chrome.err" | tail -3 | tr '\n' '|')"
else
    python3 "$TOP/tests/tools/report_facts.py" "$ART/report-dom.html" >"$work/facts.txt"
    # by hand, from tests/data/report/audit-recov.json and alerts-small.jsonl: the one S6 finding of
    # severity high is KMA-CW-ALARM-KMS-KEY-DISABLE; the one S6 high alert KM-BACKUP-MASS-SNAPSHOT-DELETION
    while IFS= read -r want; do
        [ -z "$want" ] && continue
        if grep -qxF -- "$want" "$work/facts.txt"; then ok; else bad "rendered DOM lacks: $want"; fi
    done <<'EOF'
id report-header: yes
id heatmap: yes
id fixes: yes
id recoverability: yes
id findings: yes
id timeline: yes
id alerts: yes
id alerts-skipped: yes
heat S6 EXPOSED score=10 fail=3 unknown=0 pass=1 na=0
fix 1 KMA-BACKUP-VAULT-LOCK closes=2 critical S6
verdicts: AT_RISK=1 NOT_BACKED_UP=0 UNKNOWN=1 RECOVERABLE=1
findings: 9 rows, 8 hidden
finding FAIL high KMA-CW-ALARM-KMS-KEY-DISABLE [S6 S7]
finding FAIL critical KMA-BACKUP-VAULT-LOCK [S6] hidden
finding FAIL critical KMA-ORG-SCP-MFA [S2] hidden
finding PASS medium KMA-S3-VERSIONING [S6] hidden
findings shown: 1 of 9 shown
alert rows: 5, 4 hidden
alerts shown: 1 of 5 shown
lanes: S1=1 S2=1 S3=0 S4=1 S5=0 S6=1 S7=1
scripts: 1, with src: 0
external references: 0
EOF
    # the script ran (the CSP let it): it shows the filter form and ticks only S6 and high
    if grep -q '<form id="filters">' "$ART/report-dom.html"; then ok; else bad "the filter form is still hidden: the script did not run"; fi
    if grep -q 'name="scenario" value="S6" checked' "$ART/report-dom.html" &&
       ! grep -q 'name="scenario" value="S1" checked' "$ART/report-dom.html" &&
       grep -q 'name="severity" value="high" checked' "$ART/report-dom.html"; then ok
    else bad "the check boxes do not follow #scenario=S6&severity=HIGH"; fi
fi

# the screenshot: a PNG of the window's size with real content (a blank page compresses to a few KiB)
if python3 - "$ART/report.png" <<'EOF'
import struct, sys, zlib
data = open(sys.argv[1], "rb").read()
assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
w, h = struct.unpack(">II", data[16:24])
assert (w, h) == (1366, 900), "size %dx%d" % (w, h)
assert len(data) > 30000, "only %d bytes: blank?" % len(data)
idat, pos = b"", 8
while pos < len(data):
    n, kind = struct.unpack(">I4s", data[pos:pos + 8])
    if kind == b"IDAT":
        idat += data[pos + 8:pos + 8 + n]
    pos += 12 + n
raw = zlib.decompress(idat)
# distinct byte values over the image's rows: many colours, not one background
assert len(set(raw[::97])) > 40, "too few distinct values"
print("screenshot %dx%d, %d bytes" % (w, h, len(data)))
EOF
then ok; else bad "screenshot $ART/report.png is not a non-trivial 1366x900 PNG"; fi

echo "artifacts: $ART/report.html, $ART/report-dom.html, $ART/report.png"
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
