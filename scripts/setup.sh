#!/usr/bin/env bash
# Sets up a fresh clone: pnpm 10 (from the npm registry; corepack is not needed), the locked
# dependencies, and a build of every package. Safe to run again.
#   --browser  also Chromium for the browser tests (scripts/setup-chromium.sh: apt-get as root, else it says how)
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ "${1:-}" == "--browser" ]]; then
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
