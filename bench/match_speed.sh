#!/usr/bin/env bash
# Builds bench/match_speed.c against build/libkumomori.a and runs it on synthetic citylots2-like
# events with the CL2 rule groups of aws/event-ruler (bench/cl2-rules.json).
#   bench/match_speed.sh [N_EVENTS] [match_speed options...]      e.g. bench/match_speed.sh 100000 -g EXACT
set -eu
cd "$(dirname "$0")/.."
n=${1:-100000}; shift || true
make -s build/libkumomori.a
mkdir -p build/bench
cc -std=c17 -D_GNU_SOURCE -O2 -g -Iinclude -Isrc -o build/bench/match_speed bench/match_speed.c build/libkumomori.a -lz -lcrypto -lyaml -lpcre2-8 -lpthread -lm
ev=build/bench/citylots2-$n.jsonl
[ -s "$ev" ] || python3 "${KUMOMORI_BENCH_GEN:-../shared/bench/gen_citylots2_like.py}" "$n" 1 > "$ev"
exec build/bench/match_speed "$@" bench/cl2-rules.json "$ev"
