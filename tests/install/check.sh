#!/usr/bin/env bash
# Installs the library from a build folder into a temporary prefix, then
# builds tests/install/consumer.c against it as another project would: with
# pkg-config and with CMake's find_package (shared and static). Every program
# must run, and must find the client bundle where the install put it
# (PREFIX/share/socketio/client), beside the shared library or the program,
# from a working directory with nothing in it: no source-tree path, no
# node_modules. With the bundle moved away it is not served unless
# SIO_CLIENT_DIR says where it went.
set -euo pipefail
build="$1"; src="$(cd "$(dirname "$0")" && pwd)"
prefix=$(mktemp -d); work=$(mktemp -d)
trap 'rm -rf "$prefix" "$work"' EXIT
cmake --install "$build" --prefix "$prefix" > /dev/null
extra="${SIO_CONSUMER_CFLAGS:-}"
export PKG_CONFIG_PATH="$prefix/lib/pkgconfig:$prefix/lib/x86_64-linux-gnu/pkgconfig"
export LD_LIBRARY_PATH="$prefix/lib:$prefix/lib/x86_64-linux-gnu"
unset SIO_CLIENT_DIR
cc $extra -o "$work/consumer-pc" "$src/consumer.c" $(pkg-config --cflags --libs socketio) $(pkg-config --libs libuv jansson)
"$work/consumer-pc"
CFLAGS="$extra" LDFLAGS="$extra" cmake -S "$src" -B "$work/cm" -DCMAKE_PREFIX_PATH="$prefix" > /dev/null
cmake --build "$work/cm" > /dev/null
"$work/cm/consumer-cmake"

bundle="$prefix/share/socketio/client"
min="$bundle/socket.io.min.js"
[ -f "$min" ] || { echo "install: $min was not installed"; exit 1; }
mkdir -p "$prefix/bin" "$work/empty"
cp "$work/cm/consumer-static" "$prefix/bin/"
cd "$work/empty"
"$work/consumer-pc" fetch "$min"            # beside the shared library (PREFIX/lib)
"$work/cm/consumer-cmake" fetch "$min"
"$prefix/bin/consumer-static" fetch "$min"  # beside the program (PREFIX/bin)
mv "$prefix/share/socketio" "$work/moved"
if [ -e "${SIO_INSTALL_CLIENT_DIR:-/nonexistent}/socket.io.js" ]; then
  echo "install: skipping the not-found case: a bundle is installed at $SIO_INSTALL_CLIENT_DIR"
else
  "$work/consumer-pc" fetch -
  "$prefix/bin/consumer-static" fetch -
fi
SIO_CLIENT_DIR="$work/moved/client" "$work/consumer-pc" fetch "$work/moved/client/socket.io.min.js"
echo "1 passed, 0 failed"
