#!/usr/bin/env bash
# Sets up a fresh clone: pnpm 10 (from the npm registry; corepack is not needed), the locked
# dependencies, and a build of every package. Safe to run again.
#   --browser     also Chromium for the browser tests (scripts/setup-chromium.sh: apt-get as root, else it says how)
#   --link [DIR]  also put `foldnet` on PATH: a link DIR/foldnet (default ~/.local/bin) to the built
#                 CLI (scripts/link-foldnet.sh)
set -euo pipefail
cd "$(dirname "$0")/.."

browser=no
link=no
link_dir=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --browser) browser=yes ;;
    --link) link=yes; if [[ $# -gt 1 && "$2" != --* ]]; then link_dir="$2"; shift; fi ;;
    *) echo "setup: unknown argument $1 (known: --browser, --link [DIR])" >&2; exit 2 ;;
  esac
  shift
done

if [[ "$browser" == yes ]]; then
  bash scripts/setup-chromium.sh
fi

PNPM_VERSION=10.34.8
if ! command -v pnpm >/dev/null 2>&1 || [[ "$(pnpm -v 2>/dev/null)" != 10.* ]]; then
  echo "setup: installing pnpm@${PNPM_VERSION} with npm" >&2
  if ! npm install -g "pnpm@${PNPM_VERSION}" >/dev/null 2>&1; then
    # no permission for the global prefix: install into the user's own
    npm install -g --prefix "$HOME/.local" "pnpm@${PNPM_VERSION}" >/dev/null
    export PATH="$HOME/.local/bin:$PATH"
    echo "setup: pnpm is in $HOME/.local/bin; add it to PATH" >&2
  fi
fi

pnpm install --frozen-lockfile
pnpm run build
if [[ "$link" == yes ]]; then
  bash scripts/link-foldnet.sh ${link_dir:+"$link_dir"}
fi
