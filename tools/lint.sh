#!/usr/bin/env bash
# make lint: the banned-function check, cppcheck and clang-tidy over the C sources, all with the
# configuration checked in (tools/check_banned.sh, tools/cppcheck-suppressions.txt, .clang-tidy).
# Exit status 0 only when all three are clean. LINT_ONLY=banned|cppcheck|clang-tidy runs one.
# LINT_QUICK=1 (make test) leaves out clang-tidy's clang-analyzer-* checks, which take most of its
# time (docs/security.md has both timings); `make lint` runs everything.
set -u
cd "$(dirname "$0")/.."
only=${LINT_ONLY:-}
fail=0
dirs=()
for d in src tests tools bench fuzz; do [ -d "$d" ] && dirs+=("$d"); done
incs=(-Iinclude -Isrc -Ibuild/gen)
if [ -z "$only" ] || [ "$only" = banned ]; then
    bash tools/check_banned.sh || fail=$((fail + 1))
fi
if [ -z "$only" ] || [ "$only" = cppcheck ]; then
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
    echo "== $(clang-tidy --version | grep -m1 -o 'LLVM version [0-9.]*' | sed 's/LLVM/clang-tidy, LLVM/')"
    [ -f build/gen/builtin_rules.c ] || make -s build/gen/builtin_rules.c build/gen/builtin_checks.c >/dev/null
    files=$(find "${dirs[@]}" -name '*.c' -not -path 'fuzz/corpus/*' | sort)
    # One process per file, two at a time; the configuration is .clang-tidy.
    extra=""
    [ "${LINT_QUICK:-0}" = 1 ] && extra="--checks=-clang-analyzer-*" && echo "(quick: without clang-analyzer-*)"
    if ! printf '%s\n' $files | EXTRA="$extra" xargs -P2 -n6 sh -c 'clang-tidy --quiet $EXTRA "$@" -- -std=c17 -D_GNU_SOURCE -Iinclude -Isrc -Ibuild/gen 2>/dev/null' sh \
        | grep -E '(warning|error):' | sort -u | tee /tmp/km-clang-tidy.$$ | head -100; then :; fi
    n=$(wc -l </tmp/km-clang-tidy.$$)
    rm -f /tmp/km-clang-tidy.$$
    if [ "$n" -gt 0 ]; then
        echo "clang-tidy: $n findings (fix them, or turn the check off in .clang-tidy with a reason)"
        fail=$((fail + 1))
    else
        echo "clang-tidy: clean"
    fi
fi
# The summary line tests/run.sh counts: one test per tool.
ran=0
[ -z "$only" ] && ran=3 || ran=1
echo "$((ran - fail)) passed, $fail failed, 0 skipped"
[ "$fail" -eq 0 ]
