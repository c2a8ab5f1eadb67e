#!/usr/bin/env bash
# `make demo`: kumomori on the example account (examples/README.md tells the story).
# Exits 0 when every step ran as expected (detect exiting 1 means "alerts found", which is the
# point here); any other status from kumomori fails the demo.
set -u
cd "$(dirname "$0")/.."
KM=${KM:-build/kumomori}
TRAIL=examples/trail
[ -x "$KM" ] || { echo "demo: $KM is missing; run 'make' first" >&2; exit 2; }

bold=""; off=""
if [ -t 1 ] && [ -z "${NO_COLOR:-}" ]; then bold=$'\033[1m'; off=$'\033[0m'; fi
step() { printf '\n%s== %s%s\n\n' "$bold" "$1" "$off"; }
expect() { # expect STATUS... -- COMMAND...: run it, fail the demo on any other exit status
    local ok=() ; while [ "$1" != "--" ]; do ok+=("$1"); shift; done; shift
    "$@"; local rc=$?
    for s in "${ok[@]}"; do [ "$rc" = "$s" ] && return 0; done
    echo "demo: '$*' exited $rc" >&2; exit 1
}

step "The example account: kumo-shop (CloudFront, ALB, ECS, RDS, S3, IAM, CloudWatch), three days of CloudTrail"
echo "$(find "$TRAIL" -name '*.json.gz' | wc -l) delivery files under $TRAIL/AWSLogs/381492765028/CloudTrail/"
echo "A developer's access key leaks; on 2025-03-12 at 15:38 UTC someone starts using it."

step "1. The built-in rule pack runs its own examples (kumomori rules test)"
"$KM" rules test >build/demo-rules-test.txt 2>&1
rc=$?
grep '^FAIL' build/demo-rules-test.txt
tail -1 build/demo-rules-test.txt
[ "$rc" -le 1 ] || { echo "demo: kumomori rules test exited $rc" >&2; exit 1; }

step "2. kumomori detect --min-severity high $TRAIL   (what to act on first)"
expect 1 -- "$KM" detect --min-severity high "$TRAIL"

step "3. Every alert, counted per rule (kumomori detect --format jsonl $TRAIL)"
"$KM" detect -q --format jsonl "$TRAIL" >build/demo-alerts.jsonl
rc=$?
[ "$rc" = 1 ] || { echo "demo: detect exited $rc" >&2; exit 1; }
python3 - build/demo-alerts.jsonl <<'EOF'
import collections, json, sys
order = {"critical": 0, "high": 1, "medium": 2, "low": 3, "info": 4}
count, sev, first = collections.Counter(), {}, {}
attacker = 0
for line in open(sys.argv[1]):
    a = json.loads(line)
    count[a["ruleId"]] += 1
    sev[a["ruleId"]] = a["severity"]
    first.setdefault(a["ruleId"], a["eventTime"])
    attacker += a.get("sourceIPAddress") == "192.0.2.147"
for rid in sorted(count, key=lambda r: (order[sev[r]], first[r])):
    print(f"  {sev[rid]:<8} {count[rid]:>4}  {rid:<42} first {first[rid]}")
total = sum(count.values())
print(f"\n  {total} alerts from {len(count)} rules; {attacker} on the intruder's calls (192.0.2.147), "
      f"{total - attacker} on the account's everyday activity (low and info: context, not incidents)")
EOF

step "4. The strategy's own EventBridge rule, as written (examples/strategy/iam-policy-change.json)"
echo "   kumomori match on an IAM PutUserPolicy event as EventBridge delivers it (source aws.iam):"
expect 0 -- "$KM" match examples/strategy/iam-policy-change.json examples/strategy/put-user-policy.events.jsonl
echo "   The pattern asks for source aws.cloudtrail, but IAM API calls arrive with source aws.iam, so in"
echo "   EventBridge it never fires. With the source corrected (iam-policy-change.fixed.json):"
expect 1 -- "$KM" match examples/strategy/iam-policy-change.fixed.json examples/strategy/put-user-policy.events.jsonl
echo "   kumomori's built-in KM-IAM-USER-INLINE-POLICY-CHANGED is that corrected rule."

step "5. kumomori audit examples/snapshot   (the same organisation's configuration, collected that morning)"
"$KM" audit examples/snapshot > build/demo-audit.txt 2>/dev/null
rc=$?
[ "$rc" = 1 ] || { echo "demo: audit exited $rc" >&2; exit 1; }
sed -n '1,10p' build/demo-audit.txt
echo "  ... among the findings, the gaps the intruder went through that evening:"
grep -E "dev-tanaka \(|developers \(|381492765028: SCP|never fires|kumo-vault \(" build/demo-audit.txt | sort -u | cut -c1-200
echo "  (the whole report: build/demo-audit.txt; every check: docs/audit.md)"

step "6. kumomori recoverability examples/snapshot   (can one stolen credential destroy the data and every backup?)"
"$KM" recoverability examples/snapshot > build/demo-recoverability.txt 2>/dev/null
rc=$?
[ "$rc" -le 1 ] || { echo "demo: recoverability exited $rc" >&2; exit 1; }
sed -n '1,2p' build/demo-recoverability.txt
grep -E "^  [A-Z_]+ +AWS::" build/demo-recoverability.txt | sed -E 's/ \(arn:[^,]*, / (/' | cut -c1-120
grep -m1 -E "can destroy all:" build/demo-recoverability.txt | cut -c1-160
echo "  (every copy, path and statement: build/demo-recoverability.txt; docs/recoverability.md)"

step "7. kumomori report: the audit and the alerts as one HTML page (self-contained, works offline)"
mkdir -p build/demo
"$KM" audit --format json examples/snapshot >build/demo/audit.json 2>/dev/null
rc=$?
[ "$rc" = 1 ] || { echo "demo: audit --format json exited $rc" >&2; exit 1; }
cp build/demo-alerts.jsonl build/demo/alerts.jsonl
expect 0 -- "$KM" report --audit build/demo/audit.json --detect build/demo/alerts.jsonl --out build/demo/report.html
echo "  the report: build/demo/report.html   (open file://$(pwd)/build/demo/report.html in a browser;"
echo "  add #scenario=S6&severity=critical,high to the address to see only what threatens the backups)"

step "Next"
echo "  $KM detect $TRAIL                 # every alert, grouped by scenario"
echo "  $KM detect --format sarif $TRAIL  # for code-scanning tools"
echo "  $KM audit --format sarif examples/snapshot   # the posture report for code-scanning tools"
echo "  $KM rules list                    # the $("$KM" rules list --format json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))') built-in rules"
echo "  the HTML report of the example account: build/demo/report.html"
exit 0
