#!/usr/bin/env bash
# Static checks with the configuration checked in (tools/check_banned.sh,
# tools/cppcheck-suppressions.txt, .clang-tidy and tests/.clang-tidy). Exit status 0 only when
# every check that ran is clean.
#
#   tools/lint.sh          (make lint, part of make test) the banned-function check, cppcheck and
#                          clang-tidy without its clang-analyzer-* checks: a few minutes.
#   tools/lint.sh --full   (make lint-full) the same, with clang-tidy running every check of
#                          .clang-tidy, the static analyzer (clang-analyzer-*) included, on every C
#                          file; fails on any finding and on any file clang-tidy cannot compile. It
#                          takes about 10 minutes of CPU (docs/security.md), too long for make test.
#
# LINT_ONLY=banned|cppcheck|clang-tidy runs one of the three; LINT_JOBS (default 2) clang-tidy
# processes run at a time. LINT_QUICK=1 is the old name of the default mode, LINT_FULL=1 of --full.
set -u
cd "$(dirname "$0")/.."
full=${LINT_FULL:-0}
for a in "$@"; do
    case $a in
    --full) full=1 ;;
    --quick) full=0 ;;
    *) echo "usage: tools/lint.sh [--full|--quick]" >&2; exit 2 ;;
    esac
done
only=${LINT_ONLY:-}
jobs=${LINT_JOBS:-2}
fail=0
ran=0
dirs=()
for d in src tests tools bench fuzz; do [ -d "$d" ] && dirs+=("$d"); done
incs=(-Iinclude -Isrc -Ibuild/gen)
if [ -z "$only" ] || [ "$only" = banned ]; then
    ran=$((ran + 1))
    bash tools/check_banned.sh || fail=$((fail + 1))
fi
if [ -z "$only" ] || [ "$only" = cppcheck ]; then
    ran=$((ran + 1))
    echo "== cppcheck $(cppcheck --version | sed 's/Cppcheck //')"
    # warning: real bugs (leaks, uninitialised use, bounds); portability: implementation-defined
    # behaviour. style and performance are left out on purpose (noise, not defects).
    if ! cppcheck -j2 --std=c11 -D_GNU_SOURCE "${incs[@]}" --enable=warning,portability --inline-suppr \
        --suppressions-list=tools/cppcheck-suppressions.txt --error-exitcode=1 --quiet \
        --template='{file}:{line}: {severity}: {id}: {message}' "${dirs[@]}"; then
        echo "cppcheck found problems (fix them, or suppress with a reason in tools/cppcheck-suppressions.txt)"
        fail=$((fail + 1))
    else
        echo "cppcheck: clean"
    fi
fi
if [ -z "$only" ] || [ "$only" = clang-tidy ]; then
    ran=$((ran + 1))
    echo "== $(clang-tidy --version | grep -m1 -o 'LLVM version [0-9.]*' | sed 's/LLVM/clang-tidy, LLVM/')"
    [ -f build/gen/builtin_rules.c ] || make -s build/gen/builtin_rules.c build/gen/builtin_checks.c >/dev/null
    files=$(find "${dirs[@]}" -name '*.c' -not -path 'fuzz/corpus/*' | sort)
    extra=""
    if [ "$full" = 1 ]; then
        echo "(full: every check of .clang-tidy, clang-analyzer-* included, $(echo "$files" | wc -l) files)"
    else
        extra="--checks=-clang-analyzer-*"
        echo "(quick: without clang-analyzer-*; tools/lint.sh --full runs them)"
    fi
    out=$(mktemp)
    # One clang-tidy per file, $jobs at a time. A file clang-tidy cannot process (a compile error,
    # a crash) is a failure too: its exit status is non-zero and it printed no finding.
    printf '%s\n' $files | EXTRA="$extra" xargs -P"$jobs" -n1 sh -c '
        o=$(clang-tidy --quiet $EXTRA "$1" -- -std=c17 -D_GNU_SOURCE -Iinclude -Isrc -Ibuild/gen 2>&1)
        rc=$?
        f=$(printf "%s\n" "$o" | grep -E "(warning|error):")
        if [ -n "$f" ]; then printf "%s\n" "$f"
        elif [ "$rc" -ne 0 ]; then echo "$1: error: clang-tidy exited $rc without a finding: $(printf "%s" "$o" | tail -3 | tr "\n" " ")"
        fi' sh | sed "s|^$(pwd)/||" | sort -u >"$out"
    n=$(wc -l <"$out")
    head -200 "$out"
    rm -f "$out"
    if [ "$n" -gt 0 ]; then
        echo "clang-tidy: $n findings (fix them; for a false positive make the intent clear in the code, or"
        echo "add NOLINTNEXTLINE(check) with the reason on the line above; or turn the check off in .clang-tidy)"
        fail=$((fail + 1))
    else
        echo "clang-tidy: clean"
    fi
fi
# The summary line tests/run.sh counts: one test per tool.
echo "$((ran - fail)) passed, $fail failed, 0 skipped"
[ "$fail" -eq 0 ]
