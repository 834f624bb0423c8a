#!/usr/bin/env bash
# The Linux package (release/rbackup2-<version>-linux-x64.tar.gz) runs the quick-start demo on a
# machine without Node.js: PATH holds only restic and the few tools the launcher uses (sh,
# dirname, readlink) and the script's own tools (cp, grep, ...), never a node. Checks: `rbackup2 --version`, then `rbackup2 demo` backs up
# the package's doc/ folder with Debian's restic and records a success, `runs` lists it, SIGTERM
# stops the agent cleanly. Env: RB2_SMOKE_TGZ=path uses a built archive instead of
# `npm run package:linux`. Last line: the summary.
set -euo pipefail
cd "$(dirname "$0")/.."
t0=$(date +%s)
command -v restic >/dev/null || { echo "FAIL: restic is needed (apt-get install restic)"; exit 1; }
tgz=${RB2_SMOKE_TGZ:-}
if [ -z "$tgz" ]; then
  npm run --silent package:linux >/dev/null
  tgz=$(ls -t release/rbackup2-*-linux-x64.tar.gz | head -n1)
fi
tgz=$(readlink -f "$tgz")
W=$(mktemp -d /tmp/rb2-linuxpkg.XXXXXX)
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$W"' EXIT
tar xzf "$tgz" -C "$W"
pkg=$(echo "$W"/rbackup2-*-linux-x64)
mkdir "$W/path"
for t in sh dirname readlink restic cp mkdir grep tail seq cat sleep date stat basename rm; do ln -s "$(command -v $t)" "$W/path/$t"; done
export PATH=$W/path
if command -v node >/dev/null 2>&1; then echo "FAIL: node is still in PATH"; exit 1; fi
fail() { echo "FAIL: $*"; tail -n 20 "$W/demo.err" 2>/dev/null; echo "linux-package-smoke: FAILED: $*"; exit 1; }
mkdir "$W/run" && cd "$W/run"
cp "$pkg/config.example.yaml" config.yaml
"$pkg/rbackup2" --version >"$W/version.txt" || fail "rbackup2 --version"
echo "  ok: rbackup2 --version: $(cat "$W/version.txt") (bundled $("$pkg/bin/node" --version), no node in PATH)"
"$pkg/rbackup2" demo --interval 3600 >"$W/demo.out" 2>"$W/demo.err" &
pid=$!
for _ in $(seq 1 120); do
  grep -q '"status":"success"\|backup finished.*success\|status.*success' "$W/demo.err" "$W/demo.out" 2>/dev/null && break
  kill -0 "$pid" 2>/dev/null || fail "rbackup2 demo exited"
  sleep 0.5
done
kill -TERM "$pid"
code=0
wait "$pid" || code=$?
pid=
[ "$code" = 0 ] || fail "the demo agent exited $code after SIGTERM"
echo "  ok: rbackup2 demo ran and stopped cleanly on SIGTERM"
"$pkg/rbackup2" runs >"$W/runs.txt" 2>&1 || fail "runs: $(cat "$W/runs.txt")"
grep -q success "$W/runs.txt" || fail "no successful demo run: $(cat "$W/runs.txt")"
echo "  ok: runs lists the demo job's successful backup"
echo "linux-package-smoke: PASS in $(($(date +%s) - t0))s ($(basename "$tgz"), $(($(stat -c %s "$tgz") / 1048576)) MiB)"
