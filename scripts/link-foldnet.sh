#!/usr/bin/env bash
# Puts the `foldnet` command on PATH: a symbolic link DIR/foldnet (default ~/.local/bin) to this
# checkout's built CLI, packages/cli/dist/bin.js (run `pnpm run build` first; scripts/setup.sh --link
# does both). The link follows rebuilds. Safe to run again; it replaces only a link of its own name.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
dir="${1:-$HOME/.local/bin}"
bin="$root/packages/cli/dist/bin.js"

if [[ ! -f "$bin" ]]; then
  echo "link-foldnet: $bin is missing: run pnpm run build first" >&2
  exit 1
fi
if [[ -e "$dir/foldnet" && ! -L "$dir/foldnet" ]]; then
  echo "link-foldnet: $dir/foldnet exists and is not a link: left as it is" >&2
  exit 1
fi
mkdir -p "$dir"
chmod +x "$bin"
ln -sfn "$bin" "$dir/foldnet"
echo "link-foldnet: $dir/foldnet -> $bin" >&2
case ":$PATH:" in
  *":$dir:"*) ;;
  *) echo "link-foldnet: $dir is not on PATH; add it (e.g. export PATH=\"$dir:\$PATH\")" >&2 ;;
esac
