#!/usr/bin/env bash
# tests/build/gcc_release.sh - the project builds warning-free (-Werror) with
# gcc at -O2, besides the clang debug build that runs the tests: gcc's
# optimizer finds warnings that clang and unoptimized builds do not (e.g.
# -Wuse-after-free across inlined calls), and `make build` uses gcc.
#   bash tests/build/gcc_release.sh SOURCE_DIR
set -euo pipefail
src=$1
command -v gcc >/dev/null || { echo "gcc_release: gcc not found" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
CC=gcc cmake -S "$src" -B "$work" -DCMAKE_BUILD_TYPE=Release -DSIO_TESTS=ON -DSIO_WERROR=ON > "$work/configure.log" 2>&1 ||
  { cat "$work/configure.log" >&2; exit 1; }
if ! cmake --build "$work" -j "$(nproc)" > "$work/build.log" 2>&1; then
  grep -E "error|warning" "$work/build.log" | head -40 >&2
  echo "gcc_release: the gcc -O2 -Werror build failed" >&2
  exit 1
fi
echo "gcc_release: gcc -O2 -Werror build clean"
