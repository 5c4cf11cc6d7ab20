#!/usr/bin/env bash
# Makes sure Debian's chromium is installed at /usr/bin/chromium for the headless browser tests
# (graphql/ui). Idempotent and quiet: does nothing when it is there; otherwise installs the Debian
# package with apt-get (as root, or through sudo when available). Exits non-zero with one clear
# line when it cannot.
set -euo pipefail

CHROMIUM=${CHROMIUM_PATH:-/usr/bin/chromium}

if [[ -x "$CHROMIUM" ]]; then
  exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "chromium.sh: $CHROMIUM is missing and apt-get is not available; install Chromium and set CHROMIUM_PATH" >&2
  exit 1
fi

if [[ $(id -u) -eq 0 ]]; then
  SUDO=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  SUDO=(sudo -n)
else
  echo "chromium.sh: $CHROMIUM is missing; run as root or with passwordless sudo: apt-get install chromium" >&2
  exit 1
fi

log=$(mktemp)
trap 'rm -f "$log"' EXIT
export DEBIAN_FRONTEND=noninteractive
if ! { "${SUDO[@]}" apt-get update -qq && "${SUDO[@]}" apt-get install -y -qq --no-install-recommends chromium; } >"$log" 2>&1; then
  echo "chromium.sh: apt-get could not install chromium; its last lines:" >&2
  tail -n 15 "$log" >&2
  exit 1
fi

if [[ ! -x "$CHROMIUM" ]]; then
  echo "chromium.sh: the chromium package installed but $CHROMIUM is still missing; set CHROMIUM_PATH" >&2
  exit 1
fi
