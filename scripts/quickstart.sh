#!/usr/bin/env bash
# One command from a clean clone to a running agent on the embedded database with a demo job:
# installs restic (Debian/Ubuntu) if missing, installs the npm packages, builds, then starts
# `rbackup2 demo` (creates a local restic repository and a demo job, and runs the agent).
# Any arguments are passed to `rbackup2 demo`, e.g. `--source ~/Documents`.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v restic >/dev/null; then
  as_root=()
  [ "$(id -u)" -eq 0 ] || as_root=(sudo)
  "${as_root[@]}" apt-get update -qq
  "${as_root[@]}" apt-get install -y -qq restic
fi
npm ci --no-audit --no-fund
npm run build
exec node dist/main.js demo "$@"
