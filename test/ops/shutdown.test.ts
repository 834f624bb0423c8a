/**
 * C07/C24 graceful shutdown of the real binary (`node dist/main.js run`, as systemd runs it):
 * SIGTERM during a long backup with client.shutdown_timeout_seconds: 2 ends with the run
 * `cancelled`, no lock left in the repository, exit code 0, within the timeout plus 10 s; a second
 * signal cancels at once (shutdown_timeout_seconds: 120 there, so waiting would be obvious).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addJob, addRepository, migrate, openPostgres, upsertDevice, type Database } from '../../src/db/index.js';
import { createTempPgDatabase } from '../helpers/databases.js';
import { freePort, waitFor } from '../helpers/wait.js';
import { authHeader } from '../helpers/agent-auth.js';

const repoRoot = path.resolve(import.meta.dirname, '../..');
const PASSWORD = 'shutdown test';
const DEVICE = 'shutdown-test-device';

describe('C07 graceful shutdown of `rbackup2 run`', () => {
  let tmp = '';
  let repoDir = '';
  let jobId = '';
  let pgdb: Awaited<ReturnType<typeof createTempPgDatabase>>;
  let admin: Database;
  const children: ChildProcess[] = [];

  /** Start the agent with a config of its own; resolves once its API answers. */
  const startAgentProcess = async (shutdownTimeout: number) => {
    const port = await freePort();
    const dataDir = path.join(tmp, `data-${port}`);
    const cfg = path.join(tmp, `config-${port}.yaml`);
    fs.writeFileSync(
      cfg,
      `device:\n  id: ${DEVICE}\ndatabase:\n  url: "${pgdb.url}"\nclient:\n  http_bind: "127.0.0.1:${port}"\n  data_dir: "${dataDir}"\n  log_file: "${path.join(dataDir, 'agent.log')}"\n  shutdown_timeout_seconds: ${shutdownTimeout}\n`,
    );
    const env: NodeJS.ProcessEnv = {};
    for (const [k, v] of Object.entries(process.env)) if (!/^(RBACKUP2_|RESTIC_)/.test(k)) env[k] = v;
    const child = spawn(process.execPath, [path.join(repoRoot, 'dist', 'main.js'), '--config', cfg, 'run'], {
      cwd: tmp,
      env,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    children.push(child);
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-200_000);
    });
    const exited = new Promise<{ code: number | null; at: number }>((resolve) =>
      child.once('exit', (code) => resolve({ code, at: performance.now() })),
    );
    await waitFor('condition', async () => {
      if (child.exitCode !== null) throw new Error(`agent exited early: ${stderr}`);
      return fetch(`http://127.0.0.1:${port}/health`).then(
        (r) => r.ok,
        () => false,
      );
    });
    return { child, port, exited, stderr: () => stderr };
  };

  /** Trigger the slow job and wait until restic is busy (the run row exists, plus a moment). */
  const startSlowRun = async (port: number): Promise<number> => {
    const res = await fetch(`http://127.0.0.1:${port}/jobs/${jobId}/run`, {
      method: 'POST',
      headers: { ...authHeader(path.join(tmp, `data-${port}`)), 'content-type': 'application/json' },
      body: '{}',
    });
    expect(res.status).toBe(202);
    const id = await waitFor(
      'condition',
      async () =>
        (await admin.query<{ id: number }>("SELECT id FROM runs WHERE job_id = $1 AND status = 'running'", [jobId]))
          .rows[0]?.id,
    );
    await new Promise((r) => setTimeout(r, 1000));
    return Number(id);
  };

  const runStatus = async (id: number) =>
    (
      await admin.query<{ status: string; error_message: string | null }>(
        'SELECT status, error_message FROM runs WHERE id = $1',
        [id],
      )
    ).rows[0];
  const locks = () =>
    execFileSync('restic', ['--repo', repoDir, 'list', 'locks', '--no-lock'], {
      env: { ...process.env, RESTIC_PASSWORD: PASSWORD },
    })
      .toString()
      .trim();

  beforeAll(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rbackup2-shutdown-'));
    repoDir = path.join(tmp, 'repo');
    execFileSync('restic', ['init', '--repo', repoDir], {
      env: { ...process.env, RESTIC_PASSWORD: PASSWORD },
      stdio: 'pipe',
    });
    // Random data restic cannot deduplicate: ~1.5 s per 160 MB here when the machine is idle.
    const big = path.join(tmp, 'big');
    fs.mkdirSync(big);
    for (let f = 0; f < 4; f++) {
      const fd = fs.openSync(path.join(big, `r${f}.bin`), 'w');
      for (let i = 0; i < 40; i++) fs.writeSync(fd, randomBytes(4 * 1024 * 1024));
      fs.closeSync(fd);
    }
    pgdb = await createTempPgDatabase();
    admin = await openPostgres({ connectionString: pgdb.url, connectAttempts: 1 });
    await migrate(admin);
    await upsertDevice(admin, { id: DEVICE });
    const repo = await addRepository(admin, { name: 'shutdown repo', url: repoDir, password: PASSWORD });
    jobId = (await addJob(admin, { deviceId: DEVICE, name: 'Slow', sourcePaths: [big], repositoryId: repo.id })).id;
  }, 180_000);

  afterAll(async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    await admin?.close();
    await pgdb?.drop();
    fs.rmSync(tmp, { recursive: true, force: true });
  }, 60_000);

  it('C07 SIGTERM with shutdown_timeout_seconds 2: run cancelled, no lock, exit 0 within timeout + 10 s', async () => {
    const a = await startAgentProcess(2);
    const runId = await startSlowRun(a.port);
    const t0 = performance.now();
    a.child.kill('SIGTERM');
    const { code, at } = await a.exited;
    const seconds = (at - t0) / 1000;
    console.info(`C07 SIGTERM -> exit after ${seconds.toFixed(1)} s (shutdown_timeout_seconds 2)`);
    expect(code, a.stderr().slice(-3000)).toBe(0);
    expect(seconds).toBeLessThan(12);
    expect(seconds).toBeGreaterThan(1.5); // the backup was given its grace period first
    expect((await runStatus(runId))?.status).toBe('cancelled');
    expect(locks()).toBe('');
    expect(a.stderr()).toContain('shutdown timeout reached');
  }, 120_000);

  it('C07 a second signal cancels at once', async () => {
    const a = await startAgentProcess(120);
    const runId = await startSlowRun(a.port);
    a.child.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 500));
    expect(a.child.exitCode).toBeNull(); // still waiting for the backup
    const t0 = performance.now();
    a.child.kill('SIGTERM');
    const { code, at } = await a.exited;
    const seconds = (at - t0) / 1000;
    console.info(`C07 second SIGTERM -> exit after ${seconds.toFixed(1)} s (shutdown_timeout_seconds 120)`);
    expect(code, a.stderr().slice(-3000)).toBe(0);
    expect(seconds).toBeLessThan(15);
    expect((await runStatus(runId))?.status).toBe('cancelled');
    expect(locks()).toBe('');
  }, 120_000);
});
