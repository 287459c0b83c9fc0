#!/usr/bin/env bash
# Installs what a target needs, and nothing when all is there:
#   bootstrap.sh [--dry-run] build|docs|test      (default: build)
#   build  Debian packages of scripts/deps-debian.txt; npm's dependencies only
#          (npm ci --omit=dev: the socket.io-client bundle the library serves)
#   docs   scripts/deps-debian-docs.txt (doxygen, Sphinx)
#   test   all three lists (deps-debian-test.txt: clang, Chromium,
#          python3-socketio, ...) and npm's dev dependencies too (npm ci):
#          the real clients the tests drive
# apt-get update runs only when a package is missing; npm ci only when
# node_modules lacks a package the target needs or is older than the lock
# file. --dry-run prints what would be installed and installs nothing.
set -euo pipefail
cd "$(dirname "$0")/.."

dry=0
if [ "${1:-}" = --dry-run ]; then dry=1; shift; fi
target="${1:-build}"
case "$target" in
  build) lists=(scripts/deps-debian.txt) ;;
  docs) lists=(scripts/deps-debian-docs.txt) ;;
  test) lists=(scripts/deps-debian.txt scripts/deps-debian-docs.txt scripts/deps-debian-test.txt) ;;
  *) echo "usage: $0 [--dry-run] build|docs|test" >&2; exit 2 ;;
esac

SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
run() {
  if [ $dry = 1 ]; then echo "bootstrap: would run: $*"; else "$@"; fi
}

missing=()
while read -r pkg; do
  case "$pkg" in ''|'#'*) continue ;; esac
  case " ${missing[*]} " in *" $pkg "*) continue ;; esac
  status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
  if [ "$status" != "install ok installed" ]; then
    # nodejs may come from elsewhere than Debian's package (a newer build in /usr/bin).
    if [ "$pkg" = nodejs ] && command -v node >/dev/null && command -v npm >/dev/null; then continue; fi
    missing+=("$pkg")
  fi
done < <(cat "${lists[@]}")

if [ ${#missing[@]} -gt 0 ]; then
  echo "bootstrap ($target): installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  run $SUDO apt-get update -q
  run $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

[ "$target" = docs ] && exit 0

if ! command -v npm >/dev/null; then
  run $SUDO apt-get install -y -q --no-install-recommends npm
fi

# npm: the dependencies for build, the dev dependencies too for test.
has_npm_packages() { # kind: dependencies | devDependencies
  node -e 'const fs = require("fs"), p = require("./package.json");
    process.exit(Object.keys(p[process.argv[1]] || {}).every(
      (n) => fs.existsSync("node_modules/" + n + "/package.json")) ? 0 : 1)' "$1"
}
if [ -f package-lock.json ]; then
  stale=0
  if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    stale=1
  fi
  dev_there=0
  [ -d node_modules ] && has_npm_packages devDependencies && dev_there=1
  if [ "$target" = test ]; then
    if [ $stale = 1 ] || [ $dev_there = 0 ] || ! has_npm_packages dependencies; then
      echo "bootstrap ($target): npm ci"
      run npm ci --no-audit --no-fund --loglevel=error
    fi
  elif [ $stale = 1 ] || ! has_npm_packages dependencies; then
    # a tree that has the dev dependencies keeps them (make test ran here)
    if [ $dev_there = 1 ]; then
      echo "bootstrap ($target): npm ci"
      run npm ci --no-audit --no-fund --loglevel=error
    else
      echo "bootstrap ($target): npm ci --omit=dev"
      run npm ci --omit=dev --no-audit --no-fund --loglevel=error
    fi
  fi
fi
