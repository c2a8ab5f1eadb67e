#!/usr/bin/env bash
# Data-driven end-to-end tests: each folder tests/cli/cases/NAME/ is one case with
#   cmd            a shell command line; $KM is the kumomori binary, $TOP the repo, $CORPORA the
#                  shared corpora, $CASE the case folder; it runs in a fresh temporary directory
#   exit           expected exit status (default 0)
#   stdout         expected standard output, exactly (optional)
#   stdout-has     lines that must each appear in standard output (optional)
#   stdout-lacks   lines that must not appear in standard output (optional)
#   stderr-has     lines that must each appear in standard error (optional)
#   needs-corpora  present: the case is skipped when the shared corpora are absent
# Usage: tests/cli/run.sh KUMOMORI_BINARY [FILTER]
# KM_VALGRIND=1 runs every kumomori of every case under valgrind (memcheck, --leak-check=full,
# --error-exitcode=99; the gcc build, not the sanitized one): a case fails when valgrind reports
# anything. KM_VALGRIND_SKIP lists case names (space-separated) not run then: those that measure
# time or kill the process at a chosen moment. KM_CASES="NAME NAME ..." runs only those cases.
set -u
KM=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
filter=${2:-}
TOP=$(cd "$(dirname "$0")/../.." && pwd)
vgdir=""
if [ "${KM_VALGRIND:-0}" = 1 ]; then
    command -v valgrind >/dev/null || { echo "KM_VALGRIND=1 but valgrind is not installed"; exit 1; }
    vgdir=$(mktemp -d)
    real=$KM
    KM=$vgdir/kumomori
    # A wrapper with the binary's name, so that cases may call $KM as usual; each process logs
    # into its own file (the cases' own stderr checks stay as they are).
    printf '#!/bin/sh\nexec valgrind -q --error-exitcode=99 --leak-check=full --show-leak-kinds=definite,indirect,possible --errors-for-leak-kinds=definite,indirect,possible --track-fds=no --log-file=%s/log.%%p "%s" "$@"\n' "$vgdir" "$real" >"$KM"
    chmod +x "$KM"
    # cases that run kumomori as another user (detect-bad-unreadable-folder runs it as nobody)
    # must reach the wrapper and write their logs: the folder is open to all, like /tmp
    chmod 1777 "$vgdir"
fi
CORPORA=${KUMOMORI_CORPORA:-$TOP/../shared/corpora}
export KM TOP CORPORA NO_COLOR=1
passed=0; failed=0; skipped=0
for dir in "$TOP"/tests/cli/cases/*/; do
    [ -d "$dir" ] || continue
    name=$(basename "$dir")
    [ -n "$filter" ] && [[ "$name" != *"$filter"* ]] && continue
    [ -n "${KM_CASES:-}" ] && [[ " $KM_CASES " != *" $name "* ]] && continue
    if [ -e "$dir/needs-corpora" ] && [ ! -d "$CORPORA" ]; then
        echo "skipped $name: shared corpora absent"; skipped=$((skipped + 1)); continue
    fi
    if [ -n "$vgdir" ] && [[ " ${KM_VALGRIND_SKIP:-} " == *" $name "* ]]; then
        echo "skipped $name: not run under valgrind (KM_VALGRIND_SKIP)"; skipped=$((skipped + 1)); continue
    fi
    work=$(mktemp -d)
    export CASE=${dir%/}
    (cd "$work" && timeout 300 bash -c "$(cat "$dir/cmd")" >"$work/.out" 2>"$work/.err" </dev/null)
    rc=$?
    want=0; [ -f "$dir/exit" ] && want=$(tr -d ' \n' <"$dir/exit")
    why=""
    [ "$rc" = "$want" ] || why="exit $rc, expected $want"
    if [ -z "$why" ] && [ -f "$dir/stdout" ] && ! cmp -s "$dir/stdout" "$work/.out"; then
        why="stdout differs: $(diff "$dir/stdout" "$work/.out" | head -10 | tr '\n' '|')"
    fi
    if [ -z "$why" ] && [ -f "$dir/stdout-has" ]; then
        while IFS= read -r line; do
            [ -z "$line" ] && continue
            grep -qF -- "$line" "$work/.out" || { why="stdout lacks: $line"; break; }
        done <"$dir/stdout-has"
    fi
    if [ -z "$why" ] && [ -f "$dir/stdout-lacks" ]; then
        while IFS= read -r line; do
            [ -z "$line" ] && continue
            grep -qF -- "$line" "$work/.out" && { why="stdout has: $line"; break; }
        done <"$dir/stdout-lacks"
    fi
    if [ -z "$why" ] && [ -f "$dir/stderr-has" ]; then
        while IFS= read -r line; do
            [ -z "$line" ] && continue
            grep -qF -- "$line" "$work/.err" || { why="stderr lacks: $line"; break; }
        done <"$dir/stderr-has"
    fi
    if [ -z "$why" ] && grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$work/.err"; then
        why="sanitizer report: $(grep -m1 -E 'Sanitizer|runtime error' "$work/.err")"
    fi
    if [ -n "$vgdir" ]; then
        for log in "$vgdir"/log.*; do
            [ -e "$log" ] || continue
            # a valgrind report is shown even when the case failed otherwise too
            if [ -s "$log" ]; then why="${why:+$why; }valgrind: $(grep -m3 -E '==[0-9]+== [A-Z]|definitely|indirectly|possibly|Invalid|uninitialised' "$log" | tr '\n' '|')"; fi
            rm -f "$log"
        done
    fi
    if [ -n "$why" ]; then
        echo "FAIL $name: $why"
        echo "   stderr: $(head -c 600 "$work/.err" | tr '\n' '|')"
        failed=$((failed + 1))
    else
        passed=$((passed + 1))
    fi
    rm -rf "$work"
done
[ -n "$vgdir" ] && rm -rf "$vgdir"
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
