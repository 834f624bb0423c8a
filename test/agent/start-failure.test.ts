/**
 * An agent whose start fails after its scheduler has started (the API's address is taken) stops
 * what it started before it exits: a catch-up backup already running is cancelled (restic gets
 * SIGINT) and recorded, and the process exits with the one-line error. Before, startAgent threw
 * with the backup still running; the command closed the log and the backup's next log line killed
 * the process ("SonicBoom destroyed", seen in CI), leaving restic to run on alone.
 *
 * restic is a STAND-IN (a shell script, named so) whose backup writes its pid and waits for
 * SIGINT: a real backup cannot be held running on demand. A preload injected with NODE_OPTIONS
 * (fault injection; the agent's code is unchanged) holds the API's listen until that backup runs,
 * so the failure always comes while it runs, as it did on the loaded CI machine.
 */
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { pidAliveOnThisHost as alive } from '../../src/process-alive.js';
import { freePort, ProcessGroup, writeAgentConfig } from '../helpers/agent-process.js';
import { createTempPgDatabase } from '../helpers/databases.js';

const procs = new ProcessGroup();
const roots: string[] = [];
afterAll(async () => {
  await procs.killAll();
  for (const r of roots) fs.rmSync(r, { recursive: true, force: true });
});

describe.each(['postgres', 'pglite'] as const)('the agent start fails after its scheduler started [%s]', (kind) => {
  it('its running catch-up backup is cancelled and recorded, and the process exits 1 with the reason', async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), `rbackup2-start-failure-${kind}-`));
    roots.push(root);
    const pidFile = path.join(root, 'backup.pid');
    const sigintFile = path.join(root, 'backup.sigint');
    const standIn = path.join(root, 'restic-standin.sh');
    fs.writeFileSync(
      standIn,
      `#!/bin/sh
# A STAND-IN for restic (test/agent/start-failure.test.ts), not restic.
case "$1" in
  version) echo "restic 0.14.0 compiled with go1.19.8 on linux/amd64"; exit 0 ;;
  cat) echo '{"version":2,"id":"${'e'.repeat(64)}","chunker_polynomial":"25b468838dcb75"}'; exit 0 ;;
  list) exit 0 ;;
esac
trap 'echo interrupted > "${sigintFile}"; exit 130' INT
echo '{"message_type":"status","percent_done":0,"total_files":1,"files_done":0,"total_bytes":1,"bytes_done":0}'
echo $$ > "${pidFile}"
sleep 300 & wait
`,
      { mode: 0o755 },
    );
    // The address the agent wants is taken by someone else.
    const port = await freePort();
    const squatter = net.createServer();
    await new Promise<void>((resolve) => squatter.listen(port, '127.0.0.1', resolve));
    const preload = path.join(root, 'listen-after-backup-started.cjs');
    fs.writeFileSync(
      preload,
      `const fs = require('node:fs');
const net = require('node:net');
const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function (...args) {
  const port = typeof args[0] === 'object' && args[0] !== null ? args[0].port : args[0];
  if (Number(port) !== ${port}) return listen.apply(this, args);
  const t0 = Date.now();
  const wait = setInterval(() => {
    if (!fs.existsSync(${JSON.stringify(pidFile)}) && Date.now() - t0 < 30000) return;
    clearInterval(wait);
    listen.apply(this, args);
  }, 20);
  return this;
};
`,
    );
    let dropDb = async (): Promise<void> => {};
    let databaseUrl: string | undefined;
    if (kind === 'postgres') {
      const tmp = await createTempPgDatabase();
      databaseUrl = tmp.url;
      dropDb = () => tmp.drop();
    }
    try {
      const dataDir = path.join(root, 'data');
      const config = writeAgentConfig({
        dir: root,
        deviceId: `start-failure-${kind}`,
        port,
        dataDir,
        resticBinary: standIn,
        shutdownTimeoutSeconds: 2,
        ...(databaseUrl ? { databaseUrl } : {}),
      });
      const src = path.join(root, 'src');
      fs.mkdirSync(src);
      fs.writeFileSync(path.join(root, 'pw'), 'start failure pw\n', { mode: 0o600 });
      for (const args of [
        ['migrate'],
        ['repo', 'add', 'r', '--url', path.join(root, 'repo'), '--password-file', path.join(root, 'pw')],
        // An interval schedule never run is due at start: the scheduler starts its backup at once.
        ['job', 'add', 'docs', '--path', src, '--repo', 'r', '--interval', '3600'],
      ]) {
        const r = await procs.runCli(['--config', config, ...args]);
        expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(0);
      }

      const agent = procs.startAgent(config, ['run'], { env: { NODE_OPTIONS: `--require ${preload}` } });
      const exit = await agent.exited;
      const output = `${agent.stderr.slice(-3000)}`;
      expect(exit.code, output).toBe(1);
      expect(output).not.toMatch(/SonicBoom|destroyed/);
      expect(output).toMatch(new RegExp(`EADDRINUSE|${port}`));
      const resticPid = Number(fs.readFileSync(pidFile, 'utf8'));
      expect(fs.existsSync(sigintFile), 'restic got SIGINT').toBe(true);
      expect(alive(resticPid), 'restic is gone').toBe(false);
      // The run was recorded, and recorded as ended: the table shows it cancelled, nothing running.
      const runs = await procs.runCli(['--config', config, 'runs']);
      expect(runs.code, runs.stderr).toBe(0);
      const rows = runs.stdout.trim().split('\n').slice(1);
      expect(rows, runs.stdout).toHaveLength(1);
      expect(rows[0]).toMatch(/\bdocs\b.*\bcancelled\b/);
    } finally {
      squatter.close();
      await dropDb().catch(() => undefined);
    }
  }, 120_000);
});
