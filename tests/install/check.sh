#!/usr/bin/env bash
# Installs the library from a build folder into a temporary prefix, then
# builds tests/install/consumer.c against it twice, as another project would:
# with pkg-config and with CMake's find_package. Both programs must run.
set -euo pipefail
build="$1"; src="$(cd "$(dirname "$0")" && pwd)"
prefix=$(mktemp -d); work=$(mktemp -d)
trap 'rm -rf "$prefix" "$work"' EXIT
cmake --install "$build" --prefix "$prefix" > /dev/null
extra="${SIO_CONSUMER_CFLAGS:-}"
export PKG_CONFIG_PATH="$prefix/lib/pkgconfig:$prefix/lib/x86_64-linux-gnu/pkgconfig"
export LD_LIBRARY_PATH="$prefix/lib:$prefix/lib/x86_64-linux-gnu"
cc $extra -o "$work/consumer-pc" "$src/consumer.c" $(pkg-config --cflags --libs socketio) $(pkg-config --libs libuv jansson)
"$work/consumer-pc"
CFLAGS="$extra" LDFLAGS="$extra" cmake -S "$src" -B "$work/cm" -DCMAKE_PREFIX_PATH="$prefix" > /dev/null
cmake --build "$work/cm" > /dev/null
"$work/cm/consumer-cmake"
echo "1 passed, 0 failed"
