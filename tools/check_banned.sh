#!/usr/bin/env bash
# Banned-function check (make lint): fails when C code in src/ tests/ tools/ bench/ fuzz/ calls a
# function that cannot be bounded or that hides a conversion error: strcpy, sprintf, vsprintf,
# strcat, atoi, atol, atoll, gets, or a scanf-family conversion %s / %[ without a width.
# Use snprintf, km_buf, memcpy with a checked length, strtol/strtoul with an end pointer.
# Comments are not exempt on purpose: a mention in a comment is rare and easy to reword.
set -u
cd "$(dirname "$0")/.."
dirs=()
for d in src tests tools bench fuzz; do [ -d "$d" ] && dirs+=("$d"); done
files=$(find "${dirs[@]}" -type f \( -name '*.c' -o -name '*.h' \) | sort)
bad=0
# \b does not separate "snprintf" from "sprintf" (n is a word character), so these only match the
# banned names themselves.
if grep -nHE '(^|[^A-Za-z0-9_])(strcpy|sprintf|vsprintf|strcat|atoi|atol|atoll|gets)[[:space:]]*\(' $files; then
    bad=1
fi
if grep -nHE '(^|[^A-Za-z0-9_])v?f?sscanf[[:space:]]*\(|(^|[^A-Za-z0-9_])v?f?scanf[[:space:]]*\(' $files |
    grep -E '%(l|h|ll|m)?(s|\[)'; then
    bad=1
fi
if [ "$bad" = 1 ]; then
    echo "banned functions found (see tools/check_banned.sh for what to use instead)" >&2
    exit 1
fi
echo "banned-function check: $(echo "$files" | wc -l) files clean"
