#!/usr/bin/env bash
# tests/api/check.sh CC - the public refcounted types (ws_frame, eio_msg,
# http_body) are distinct: mixed_types.c compiles when every call gets its own
# type, and each call given another's fails with an incompatible-pointer error.
set -euo pipefail
cc=${1:-cc}
cd "$(dirname "$0")/../.."
flags=(-std=gnu17 -fsyntax-only -Werror=incompatible-pointer-types -Iinclude)
"$cc" "${flags[@]}" -DSIO_MIX=0 tests/api/mixed_types.c
echo "api: the right types compile"
bad=0
for i in 1 2 3 4; do
  if out=$("$cc" "${flags[@]}" -DSIO_MIX=$i tests/api/mixed_types.c 2>&1); then
    echo "api: case $i (see mixed_types.c) compiled: the types are not distinct"
    bad=1
  elif ! grep -q "incompatible pointer type" <<<"$out"; then
    echo "api: case $i failed for another reason:"
    echo "$out"
    bad=1
  else
    echo "api: case $i refused: $(grep -m1 -o "incompatible pointer type[^[]*" <<<"$out")"
  fi
done
exit $bad
