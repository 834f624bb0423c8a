/**
 * C18: the embedded database (PGlite) belongs to one process. While a spawned agent runs on it,
 * read commands go through the agent's API, `migrate` and a second agent refuse with one line
 * naming the lock, and an agent killed with SIGKILL leaves a folder that opens again.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  addJob,
  addRepository,
  addSchedule,
  embeddedDataDir,
  migrate,
  openPglite,
  pgliteLockPath,
  readPgliteLock,
  upsertDevice,
} from '../../src/db/index.js';
import { ProcessGroup, freePort, waitFor, writeAgentConfig, type AgentProcess } from '../helpers/agent-process.js';
import { freshPgliteDir } from '../helpers/databases.js';

const DEVICE = 'c18-dev';
const procs = new ProcessGroup();
const temps: string[] = [];

function tempDir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'rbackup2-c18-'));
  temps.push(d);
  return d;
}

afterAll(async () => {
  await procs.killAll();
  for (const d of temps) fs.rmSync(d, { recursive: true, force: true });
});

describe('C18 embedded database used by a running agent', () => {
  let dataDir = '';
  let config = '';
  let port = 0;
  let jobId = '';
  let agent: AgentProcess;
  const cli = (...args: string[]) => procs.runCli(['--config', config, ...args]);

  beforeAll(async () => {
    const dbDir = await freshPgliteDir();
    dataDir = path.dirname(dbDir);
    temps.push(dataDir);
    expect(embeddedDataDir(dataDir)).toBe(dbDir);
    const db = await openPglite(dbDir);
    try {
      await migrate(db);
      await upsertDevice(db, { id: DEVICE });
      // A real repository with one snapshot of the job (tag backup:<uuid>), made by restic directly.
      const repoDir = path.join(tempDir(), 'repo');
      const source = tempDir();
      fs.writeFileSync(path.join(source, 'a.txt'), 'c18\n');
      const repo = await addRepository(db, { name: 'c18-repo', url: repoDir, password: 'pw-c18' });
      const job = await addJob(db, {
        deviceId: DEVICE,
        name: 'c18-job',
        sourcePaths: ['/srv/c18'],
        repositoryId: repo.id,
      });
      const env = {
        PATH: process.env.PATH ?? '',
        HOME: os.tmpdir(),
        RESTIC_REPOSITORY: repoDir,
        RESTIC_PASSWORD: 'pw-c18',
      };
      execFileSync('restic', ['init'], { env, stdio: 'ignore', timeout: 60_000 });
      execFileSync('restic', ['backup', '--tag', `backup:${job.id}`, '--host', 'other-pc', source], {
        env,
        stdio: 'ignore',
        timeout: 60_000,
      });
      await addSchedule(db, { jobId: job.id, type: 'cron', cronExpression: '0 3 1 1 *', catchUp: false });
      jobId = job.id;
    } finally {
      await db.close();
    }
    port = await freePort();
    config = writeAgentConfig({ dir: tempDir(), deviceId: DEVICE, port, dataDir });
    agent = await procs.startAgentReady(config, port);
  }, 180_000);

  it('C18 job list and runs work through the agent API while it holds the database', async () => {
    expect(readPgliteLock(embeddedDataDir(dataDir))?.pid).toBe(agent.pid);
    const list = await cli('job', 'list');
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout).toMatch(
      new RegExp(`^${jobId}\\s+${DEVICE}\\s+c18-job\\s+true\\s+#\\d+ cron "0 3 1 1 \\*"`, 'm'),
    );
    const runs = await cli('runs');
    expect(runs.code, runs.stderr).toBe(0);
    expect(runs.stdout.split('\n')[0]).toMatch(/^ID\s+JOB\s+STATUS/);
    // snapshots goes through GET /jobs/{id}/snapshots of the agent, in the CLI's own shape.
    const snaps = await cli('snapshots', 'c18-job', '--json');
    expect(snaps.code, snaps.stderr).toBe(0);
    const listed = JSON.parse(snaps.stdout) as { snapshots: Record<string, unknown>[] };
    expect(listed.snapshots).toHaveLength(1);
    expect(Object.keys(listed.snapshots[0]!).sort()).toEqual(['hostname', 'id', 'paths', 'short_id', 'tags', 'time']);
    expect(listed.snapshots[0]).toMatchObject({ hostname: 'other-pc', tags: [`backup:${jobId}`] });
    // The agent is still the only holder and still serves.
    expect(readPgliteLock(embeddedDataDir(dataDir))?.pid).toBe(agent.pid);
  }, 120_000);

  it('C18 migrate refuses with one clear line naming the lock and its holder', async () => {
    const r = await cli('migrate');
    expect(r.code).toBe(1);
    const lines = r.stderr.trimEnd().split('\n');
    expect(lines, r.stderr).toHaveLength(1);
    expect(lines[0]).toContain(`in use by process ${agent.pid}`);
    expect(lines[0]).toContain(pgliteLockPath(embeddedDataDir(dataDir)));
    expect(r.stderr).not.toMatch(/\n\s+at /);
  }, 60_000);

  it('C18 a second agent on the same data folder refuses and the first keeps running', async () => {
    const port2 = await freePort();
    const config2 = writeAgentConfig({ dir: tempDir(), deviceId: DEVICE, port: port2, dataDir });
    const second = procs.startAgent(config2);
    const exit = await Promise.race([second.exited, new Promise<null>((r) => setTimeout(() => r(null), 60_000))]);
    expect(exit, second.stderr).toEqual({ code: 1, signal: null });
    const userLine = second.stderr.split('\n').filter((l) => l.startsWith('rbackup2: '));
    expect(userLine).toHaveLength(1);
    expect(userLine[0]).toContain(`in use by process ${agent.pid}`);
    expect(second.stderr).not.toMatch(/\n\s+at /);
    expect((await fetch(`http://127.0.0.1:${port}/health`)).ok).toBe(true);
    expect(readPgliteLock(embeddedDataDir(dataDir))?.pid).toBe(agent.pid);
  }, 90_000);

  it('C18 an agent killed with SIGKILL leaves a folder that reopens with its data', async () => {
    agent.killGroup();
    await agent.exited;
    // The stale lock of the dead process is still there; the next start takes it over.
    expect(readPgliteLock(embeddedDataDir(dataDir))?.pid).toBe(agent.pid);
    const again = await procs.startAgentReady(config, port);
    expect(readPgliteLock(embeddedDataDir(dataDir))?.pid).toBe(again.pid);
    // Same folder, not a fresh one moved in: the job is still there and nothing was moved aside.
    const list = await cli('job', 'list');
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout).toContain(jobId);
    expect(fs.readdirSync(dataDir).filter((n) => n.includes('.broken-'))).toEqual([]);
    const stopped = await again.stop('SIGTERM');
    expect(stopped.code, again.stderr.slice(-2000)).toBe(0);
    expect(fs.existsSync(pgliteLockPath(embeddedDataDir(dataDir)))).toBe(false);
    // With no agent running, the CLI opens the folder itself.
    const direct = await waitFor(
      'direct job list',
      async () => {
        const r = await cli('job', 'list');
        return r.code === 0 ? r : null;
      },
      60_000,
      500,
    );
    expect(direct.stdout).toContain(jobId);
  }, 240_000);
});
