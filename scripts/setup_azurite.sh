#!/usr/bin/env bash
# Install Azurite (the Azure Storage emulator, an npm package) into .venv/azurite, idempotently.
# The tests start it themselves (tests/data/azurite.py) on a free loopback port.
# Needs node >= 18 and npm (apt-get install nodejs npm on Debian 12).
set -euo pipefail
cd "$(dirname "$0")/.."

prefix=.venv/azurite
if [ -x "$prefix/node_modules/.bin/azurite-blob" ]; then
  echo "setup_azurite: ready ($prefix)"
  exit 0
fi
if ! command -v npm >/dev/null; then
  echo "setup_azurite: installing nodejs and npm"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq nodejs npm >/dev/null
fi
mkdir -p "$prefix"
echo "setup_azurite: installing azurite@3 into $prefix"
log="$prefix/npm-install.log"
if ! npm install --prefix "$prefix" --no-audit --no-fund --loglevel=error azurite@3 >"$log" 2>&1; then
  tail -n 30 "$log"
  echo "setup_azurite: npm install failed; the full log is in $log" >&2
  exit 1
fi
"$prefix/node_modules/.bin/azurite-blob" --help >/dev/null
echo "setup_azurite: ready ($prefix)"
