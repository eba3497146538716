#!/usr/bin/env bash
# Chromium for the browser tests (test/browser, `pnpm test:browser`): they drive Debian's chromium package through
# playwright-core, which downloads no browser of its own. Does nothing when Chromium is already there (/usr/bin/chromium,
# or the binary FOLDNET_CHROMIUM names); as root on Debian, installs it with apt-get; otherwise says how, and fails.
set -uo pipefail

chromium="${FOLDNET_CHROMIUM:-/usr/bin/chromium}"
[ -x "$chromium" ] && exit 0

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "setup: installing chromium with apt-get (for the browser tests)" >&2
  export DEBIAN_FRONTEND=noninteractive
  if apt-get update -qq >/dev/null && apt-get install -y -qq chromium >/dev/null && [ -x "$chromium" ]; then
    exit 0
  fi
  echo "setup: apt-get install -y chromium failed; the browser tests need Chromium at $chromium" >&2
  exit 1
fi
echo "setup: the browser tests need Chromium at $chromium: install it with \`sudo apt-get install -y chromium\` (Debian), or set FOLDNET_CHROMIUM to a Chromium binary" >&2
exit 1
