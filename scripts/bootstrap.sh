#!/usr/bin/env bash
# Installs what the build and the tests need, and nothing when all is there:
# Debian packages from scripts/deps-debian.txt (apt-get update only when one is
# missing) and npm packages from the committed package-lock.json (npm ci only
# when node_modules is missing or older than the lock file).
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
while read -r pkg; do
  case "$pkg" in ''|'#'*) continue ;; esac
  status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
  if [ "$status" != "install ok installed" ]; then
    # nodejs may come from elsewhere than Debian's package (a newer build in /usr/bin).
    if [ "$pkg" = nodejs ] && command -v node >/dev/null && command -v npm >/dev/null; then continue; fi
    missing+=("$pkg")
  fi
done < scripts/deps-debian.txt

if [ ${#missing[@]} -gt 0 ]; then
  echo "bootstrap: installing ${missing[*]}"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -q
  $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

if ! command -v npm >/dev/null; then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get install -y -q --no-install-recommends npm
fi

if [ -f package-lock.json ]; then
  if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    echo "bootstrap: npm ci"
    npm ci --no-audit --no-fund --loglevel=error
  fi
fi
