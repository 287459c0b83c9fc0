#!/usr/bin/env bash
# Builds the documentation into OUT (default build/docs):
#   OUT/doxygen/xml   the public headers' comments, read by breathe
#   OUT/html          the site
#   OUT/man           man pages of the programs (section 1)
# Every warning is an error: doxygen's (an undocumented public symbol, a
# @param naming no parameter) and Sphinx's (-W: a broken reference, a missing
# include, a public symbol missing from the API reference).
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
out=$(realpath -m "${1:-$src/build/docs}")
mkdir -p "$out"

# The Python samples are not compiled by CMake: check that they at least parse.
for py in "$src"/docs/samples/*.py; do
  python3 -c 'import sys; compile(open(sys.argv[1]).read(), sys.argv[1], "exec")' "$py"
done

export SIO_SOURCE_DIR="$src" SIO_DOXYGEN_OUT="$out/doxygen"
rm -rf "$out/doxygen"
doxygen "$src/docs/Doxyfile"

export SIO_DOXYGEN_XML="$out/doxygen/xml"
# -E: a fresh environment, so every page is read and every warning shows; the
# man builder then reuses that environment (nothing changed in between).
sphinx-build -E -W --keep-going -q -b html -d "$out/doctrees" "$src/docs" "$out/html"
sphinx-build -W --keep-going -q -b man -d "$out/doctrees" "$src/docs" "$out/man"
echo "docs: $out/html/index.html and $out/man/"
