#!/usr/bin/env bash
# tests/abi/check.sh LIB - the shared library exports exactly the public API:
# every symbol it defines for the dynamic linker is a function declared
# SIO_EXTERN in include/, and every such function is there. (The library is
# built with -fvisibility=hidden; internal names stay internal.)
set -euo pipefail
lib=$1
cd "$(dirname "$0")/../.."
exported=$(nm -D --defined-only "$lib" | awk '$2 ~ /^[TDBRW]$/ {print $3}' | grep -v '^_' | sort -u)
declared=$(cat include/socketio.h include/socketio/*.h | tr '\n' ' ' |
  grep -oE 'SIO_EXTERN [^(;{]*\(' | sed -E 's/\($//; s/.*[^A-Za-z0-9_]([A-Za-z_][A-Za-z0-9_]*)$/\1/' |
  grep -v '^_' | sort -u)
extra=$(comm -23 <(echo "$exported") <(echo "$declared"))
missing=$(comm -13 <(echo "$exported") <(echo "$declared"))
for s in $extra; do echo "abi: $s is exported but not declared SIO_EXTERN in include/"; done
for s in $missing; do echo "abi: $s is declared SIO_EXTERN but the library does not export it"; done
echo "abi: $(echo "$exported" | wc -l) exported, $(echo "$declared" | wc -l) declared"
[ -z "$extra" ] && [ -z "$missing" ]
