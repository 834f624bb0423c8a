/**
 * C33: `rbackup2 backup JOB` (one real process) runs while the agent (a second real process)
 * starts and is asked to run the same job, both on the shared PostgreSQL server. The agent never
 * marks the live CLI run interrupted, and never starts a second restic for the job (the per-job
 * lock file in data_dir). A run whose owner is dead is still interrupted at start. Plus the lock
 * file itself: a dead owner's lock is taken over, a live one is not.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addJob, addRepository, migrate, openPostgres, upsertDevice, type Database } from '../../src/db/index.js';
import { acquireJobLock, jobLockPath } from '../../src/runs/job-lock.js';
import { currentOwner, ownerGone } from '../../src/runs/run-owner.js';
import { api, freePort, ProcessGroup, waitFor, writeAgentConfig } from '../helpers/agent-process.js';
import { createTempPgDatabase } from '../helpers/databases.js';

const DEVICE = 'c33-dev';
const PASSWORD = 'c33 pw';
const procs = new ProcessGroup();
let root = '';
let db: Database;
let dropDb: () => Promise<void> = async () => {};
let dbUrl = '';

/** A PID that certainly no longer runs (a finished child of ours). */
function deadPid(): number {
  return spawnSync('/bin/true').pid ?? 999_999;
}

beforeAll(async () => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'rbackup2-c33-'));
  const tmp = await createTempPgDatabase();
  dropDb = () => tmp.drop();
  dbUrl = tmp.url;
  db = await openPostgres({ connectionString: tmp.url, connectAttempts: 1 });
  await migrate(db);
}, 60_000);

afterAll(async () => {
  await procs.killAll();
  await db?.close();
  await dropDb().catch(() => undefined);
  if (root) fs.rmSync(root, { recursive: true, force: true });
});

describe('C33 one job, one restic, across processes', () => {
  it('C33 the per-job lock file: held by a live owner, taken over from a dead one, released by its owner only', () => {
    const dir = path.join(root, 'lock-unit');
    const me = currentOwner();
    const first = acquireJobLock(dir, 'job-1', me);
    expect(first.ok).toBe(true);
    const second = acquireJobLock(dir, 'job-1', { ...me, pid: me.pid });
    expect(second).toEqual({ ok: false, heldBy: me });
    if (first.ok) first.release();
    expect(fs.existsSync(jobLockPath(dir, 'job-1'))).toBe(false);
    const dead = { host: os.hostname(), pid: deadPid(), startedAt: new Date(Date.now() - 60_000).toISOString() };
    expect(ownerGone(dead)).toBe(true);
    expect(ownerGone({ ...dead, host: 'another-host' })).toBe(false);
    fs.writeFileSync(jobLockPath(dir, 'job-1'), JSON.stringify(dead));
    const taken = acquireJobLock(dir, 'job-1', me);
    expect(taken.ok).toBe(true);
    expect(JSON.parse(fs.readFileSync(jobLockPath(dir, 'job-1'), 'utf8'))).toEqual(me);
  });

  it('C33 a data folder where the lock file cannot be written runs the job anyway, saying why (never refuses every backup)', () => {
    const dir = path.join(root, 'lock-unwritable');
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'locks'), 'a file where the locks folder should be');
    const r = acquireJobLock(dir, 'job-1', currentOwner());
    expect(r.ok).toBe(true);
    expect(r.ok && r.unlockedBecause).toContain(jobLockPath(dir, 'job-1'));
    if (r.ok) expect(() => r.release()).not.toThrow();
  });

  it("C33 rbackup2 backup runs while the agent starts and is asked to run the same job: the CLI run stays live and succeeds, the agent starts no second restic, a dead owner's run is interrupted", async () => {
    await upsertDevice(db, { id: DEVICE });
    const repoDir = path.join(root, 'repo');
    execFileSync('/usr/bin/restic', ['init', '--repo', repoDir], {
      env: { PATH: '/usr/bin:/bin', RESTIC_PASSWORD: PASSWORD },
      stdio: 'ignore',
    });
    const repo = await addRepository(db, { name: 'local', url: repoDir, password: PASSWORD });
    const src = path.join(root, 'src');
    fs.mkdirSync(src);
    fs.writeFileSync(path.join(src, 'a.txt'), 'a');
    const job = await addJob(db, { deviceId: DEVICE, name: 'slow', sourcePaths: [src], repositoryId: repo.id });
    // restic through a wrapper that logs each backup's start and end and makes it last 8 s.
    const log = path.join(root, 'restic-backups.log');
    const wrapper = path.join(root, 'restic-slow.sh');
    fs.writeFileSync(
      wrapper,
      `#!/bin/sh\ncase " $* " in *" backup "*) echo "start $$" >> ${log}; sleep 8; /usr/bin/restic "$@"; rc=$?; echo "end $$" >> ${log}; exit $rc;; esac\nexec /usr/bin/restic "$@"\n`,
      { mode: 0o755 },
    );
    // A run left `running` by a process that is gone: it must still be interrupted at agent start.
    const orphan = await db.query<{ id: string }>(
      `INSERT INTO runs (job_id, device_id, start_time, status, triggered_by, owner_host, owner_pid, owner_started_at)
       VALUES ($1, $2, now() - interval '1 hour', 'running', 'schedule', $3, $4, now() - interval '1 hour') RETURNING id`,
      [job.id, DEVICE, os.hostname(), deadPid()],
    );
    const port = await freePort();
    const dataDir = path.join(root, 'data');
    const cfgDir = path.join(root, 'cfg');
    fs.mkdirSync(cfgDir);
    const config = writeAgentConfig({
      dir: cfgDir,
      deviceId: DEVICE,
      port,
      databaseUrl: dbUrl,
      dataDir,
      resticBinary: wrapper,
    });

    const cli = procs.runCli(['--config', config, 'backup', 'slow']);
    const live = await waitFor(
      'the CLI run recorded running',
      async () => {
        const { rows } = await db.query<{ id: string; owner_pid: number }>(
          "SELECT id, owner_pid FROM runs WHERE job_id = $1 AND status = 'running' AND id <> $2",
          [job.id, orphan.rows[0]!.id],
        );
        return rows[0] ?? null;
      },
      60_000,
    );
    expect(live.owner_pid).toBeGreaterThan(0);
    const agent = await procs.startAgentReady(config, port);
    const trigger = await api(port, 'POST', `/jobs/${job.id}/run`);
    expect(trigger.status).toBe(202);
    await agent.waitForLog('job already running in another process; not started', 30_000);
    const states = await db.query<{ id: string; status: string }>(
      'SELECT id, status FROM runs WHERE job_id = $1 ORDER BY id',
      [job.id],
    );
    expect(states.rows.find((r) => r.id === orphan.rows[0]!.id)?.status).toBe('interrupted');
    expect(states.rows.find((r) => r.id === live.id)?.status).toBe('running');
    const r = await cli;
    expect(r.code, r.stderr + r.stdout).toBe(0);
    const after = await db.query<{ status: string }>('SELECT status FROM runs WHERE id = $1', [live.id]);
    expect(after.rows[0]?.status).toBe('success');
    await agent.stop('SIGTERM', 60_000);
    // Never two backups of the job at once: starts and ends alternate.
    const lines = fs
      .readFileSync(log, 'utf8')
      .trim()
      .split('\n')
      .map((l) => l.split(' ')[0]);
    expect(lines).toEqual(['start', 'end']);
  }, 180_000);
});
