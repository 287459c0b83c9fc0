#!/usr/bin/env bash
# tests/format/check.sh - every C source and header of the repository is as
# clang-format (with the repository's .clang-format) would write it.
# Prints the files that differ and exits 1 if any does; `make format` fixes them.
set -euo pipefail
cd "$(dirname "$0")/../.."
command -v clang-format >/dev/null || { echo "format: clang-format is not installed" >&2; exit 1; }
files=$(git ls-files '*.c' '*.h' 2>/dev/null || find src include tests tools examples -name '*.[ch]')
bad=0
n=0
for f in $files; do
  n=$((n + 1))
  if ! clang-format --dry-run -Werror "$f" >/dev/null 2>&1; then
    echo "format: $f differs from clang-format's output (run make format)"
    bad=$((bad + 1))
  fi
done
echo "format: $n files checked, $bad to reformat"
[ "$bad" -eq 0 ]
