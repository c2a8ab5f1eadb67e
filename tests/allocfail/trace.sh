#!/usr/bin/env bash
# Where allocation N fails: tests/allocfail/trace.sh N KUMOMORI-ARGS... (runs in the current
# folder; prints the symbolised call stack of the failed allocation, then the run's own output).
n=$1; shift
bin=$(cd "$(dirname "$0")/../.." && pwd)/build/asan/kumomori-allocfail
KM_ALLOCFAIL_TRACE=1 KM_ALLOCFAIL_N=$n ASAN_OPTIONS=detect_leaks=1 "$bin" "$@" 2>/tmp/km-allocfail-trace.$$ >/dev/null
echo "exit $?"
grep -o '(+0x[0-9a-f]*)' /tmp/km-allocfail-trace.$$ | tr -d '()+' | addr2line -f -p -e "$bin" | sed 's|/work/[^ ]*/src/|src/|' | grep -v 'wrap.c' | head -12
grep -v '^build\|^/lib\|^/usr\|(+0x' /tmp/km-allocfail-trace.$$ | head -40
rm -f /tmp/km-allocfail-trace.$$
