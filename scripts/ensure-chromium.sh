#!/usr/bin/env bash
# The browser tests (test/e2e/ui*.test.ts, test/browser/) drive Debian's Chromium through playwright-core; npm
# packages cannot download browsers here, so install the distribution's package when it is missing.
# Called by scripts/test.sh before e2e and browser tests; a no-op when chromium is installed.
set -euo pipefail
chromium_bin="${FINEFLOW_CHROMIUM:-/usr/bin/chromium}"
if [[ -x "$chromium_bin" ]]; then exit 0; fi
if [[ $(id -u) -ne 0 ]] || ! command -v apt-get >/dev/null 2>&1; then
  echo "ensure-chromium: $chromium_bin is missing; install Chromium (Debian: apt-get install -y chromium) or set FINEFLOW_CHROMIUM" >&2
  exit 0
fi
echo "ensure-chromium: installing Debian's chromium package for the browser tests"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq chromium >/dev/null
"$chromium_bin" --version 2>/dev/null | grep -o 'Chromium [0-9.]*' || true
