/**
 * Issue 18 "What it must show", end to end: two spawned agents (two devices, each with its own
 * PostgreSQL device role) back up into ONE restic 0.14 repository on the shared PostgreSQL server,
 * with prune every minute (cron `0 * * * * *`, global setting) and a 5-second interval job each.
 * - device A's job has `keep_last: 2`; its history also holds a Relica-era snapshot of another
 *   host and paths, and the job is renamed and its source paths changed while the agents run:
 *   after the forget exactly 2 of A's snapshots are left (the newest two), none of B's is removed;
 * - no backup fails because of prune's lock; prune runs and backup runs never overlap (the runs'
 *   start/end times); one device prunes per turn;
 * - a prune killed with its agent (power cut) leaves a stale restic lock; the restarted agent's
 *   next prune clears it (plain `restic unlock`) and succeeds.
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
  migrate,
  openPostgres,
  setSetting,
  upsertDevice,
  type Database,
} from '../../src/db/index.js';
import { ProcessGroup, freePort, waitFor, writeAgentConfig, type AgentProcess } from '../helpers/agent-process.js';
import { createTempPgDatabase } from '../helpers/databases.js';
import { deviceLoginUrl, dropDeviceRoles } from '../helpers/device-role.js';
import { RESTIC, initRepo, snapshots, writeFiles, type TestRepo } from '../e2e/harness.js';

const PASSWORD = 'fleet prune pw';
const procs = new ProcessGroup();
let root = '';
let db: Database;
let dropDb: () => Promise<void> = async () => {};
let repo: TestRepo;
let jobA = '';
let jobB = '';
let srcA1 = '';
let srcA2 = '';
let srcOld = '';
const cfg: Record<'A' | 'B', { config: string; port: number; agent: AgentProcess | null }> = {
  A: { config: '', port: 0, agent: null },
  B: { config: '', port: 0, agent: null },
};

interface Run {
  id: number;
  job_id: string | null;
  device_id: string;
  operation: string;
  status: string;
  start_time: Date;
  end_time: Date | null;
  error_message: string | null;
  restic_output: string | null;
  metadata: Record<string, unknown>;
}

async function runs(): Promise<Run[]> {
  return (
    await db.query<Run>(
      'SELECT id, job_id, device_id, operation, status, start_time, end_time, error_message, restic_output, metadata FROM runs ORDER BY start_time, id',
    )
  ).rows;
}

/**
 * What the two agents did, for a wait that timed out (CI under load once saw no second prune turn
 * in 300 s, and the cause could not be seen afterwards): every run in order, and each agent's last
 * log lines.
 */
async function whatHappened(): Promise<string> {
  const all = await runs();
  const t0 = all[0]?.start_time.getTime() ?? 0;
  const rows = all.map(
    (r) =>
      `  ${r.device_id} ${r.operation.padEnd(7)} ${r.status.padEnd(9)} +${((r.start_time.getTime() - t0) / 1000).toFixed(1)}s` +
      ` .. ${r.end_time ? `+${((r.end_time.getTime() - t0) / 1000).toFixed(1)}s` : 'running'}` +
      `${r.error_message ? ` ${r.error_message.slice(0, 160)}` : ''}`,
  );
  const logs = (['A', 'B'] as const).map(
    (n) =>
      `agent ${n}, last log lines:\n${(cfg[n].agent?.lines ?? [])
        .slice(-25)
        .map((l) => `  ${l.raw.slice(0, 300)}`)
        .join('\n')}`,
  );
  return [`runs (${rows.length}):`, ...rows.slice(-60), ...logs].join('\n');
}

/** waitFor, naming what happened when it times out. */
async function waitExplained<T>(what: string, fn: () => Promise<T | null>, ms: number): Promise<T> {
  try {
    return await waitFor(what, fn, ms);
  } catch (err) {
    throw new Error(`${(err as Error).message}\n${await whatHappened()}`);
  }
}

/** A snapshot made by restic itself (Relica-era history, another device's snapshot). */
function resticBackup(src: string, host: string, tags: string[]): void {
  execFileSync(RESTIC, ['backup', '--json', '--host', host, ...tags.flatMap((t) => ['--tag', t]), src], {
    env: resticEnv(),
    stdio: 'ignore',
  });
}

/** The environment for running restic by hand on the shared repository. */
function resticEnv(): NodeJS.ProcessEnv {
  return {
    PATH: '/usr/bin:/bin',
    RESTIC_REPOSITORY: repo.dir,
    RESTIC_PASSWORD: PASSWORD,
    RESTIC_CACHE_DIR: repo.cacheDir,
  };
}

const byTag = (tag: string) => snapshots(repo).filter((s) => s.tags?.includes(tag));

/**
 * Removes the lock files restic cannot read (`restic cat lock ID --no-lock` fails) from `dir`;
 * true when a readable lock is left.
 */
function dropUnreadableLocks(dir: string): boolean {
  let readable = 0;
  for (const id of fs.readdirSync(dir)) {
    try {
      execFileSync(RESTIC, ['cat', 'lock', id, '--no-lock'], {
        env: resticEnv(),
        stdio: 'ignore',
      });
      readable++;
    } catch {
      fs.rmSync(path.join(dir, id), { force: true });
    }
  }
  return readable > 0;
}

beforeAll(async () => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'rbackup2-fleet-prune-'));
  const tmp = await createTempPgDatabase();
  dropDb = async () => {
    await tmp.drop();
    await dropDeviceRoles(tmp.name);
  };
  db = await openPostgres({ connectionString: tmp.url, connectAttempts: 1 });
  await migrate(db);
  repo = initRepo(path.join(root, 'repo'), PASSWORD, path.join(root, 'test-cache'));
  const shared = await addRepository(db, { name: 'shared', url: repo.dir, password: PASSWORD });
  srcA1 = path.join(root, 'src-a1');
  srcA2 = path.join(root, 'src-a2');
  srcOld = path.join(root, 'relica-era');
  writeFiles(srcA1, 10);
  writeFiles(srcA2, 10);
  writeFiles(srcOld, 5);
  writeFiles(path.join(root, 'src-b'), 10);
  for (const d of ['dev-a', 'dev-b']) await upsertDevice(db, { id: d });
  jobA = (await addJob(db, { deviceId: 'dev-a', name: 'docs', sourcePaths: [srcA1], repositoryId: shared.id })).id;
  jobB = (
    await addJob(db, {
      deviceId: 'dev-b',
      name: 'photos',
      sourcePaths: [path.join(root, 'src-b')],
      repositoryId: shared.id,
    })
  ).id;
  await db.query(`UPDATE backup_jobs SET retention = '{"keep_last": 2}' WHERE id = $1`, [jobA]);
  // History made before rbackup2: a Relica-era snapshot of A's job from another host and paths,
  // one of A's job under an older name, and one of B's job.
  resticBackup(srcOld, 'relica-era-pc', [`backup:${jobA}`, 'backup_name=device1/Dokumenty']);
  resticBackup(srcA1, 'old-host', [`backup:${jobA}`, 'backup_name=docs-before']);
  resticBackup(path.join(root, 'src-b'), 'b-host', [`backup:${jobB}`, 'backup_name=photos']);
  for (const [k, v] of Object.entries({
    prune_schedule: '0 * * * * *',
    check_schedule: 'off',
    lease_seconds: '10',
    lease_wait_seconds: '300',
    missed_run_grace_seconds: '0',
  }))
    await setSetting(db, { deviceId: null, key: k, value: v });
  await addSchedule(db, { jobId: jobA, type: 'interval', intervalSeconds: 5 });
  await addSchedule(db, { jobId: jobB, type: 'interval', intervalSeconds: 5 });
  for (const [name, device] of [
    ['A', 'dev-a'],
    ['B', 'dev-b'],
  ] as const) {
    const dir = path.join(root, `agent-${name}`);
    fs.mkdirSync(dir);
    const url = await deviceLoginUrl(procs, path.join(root, `admin-${name}`), tmp.url, device);
    cfg[name].port = await freePort();
    cfg[name].config = writeAgentConfig({
      dir,
      deviceId: device,
      port: cfg[name].port,
      databaseUrl: url,
      dataDir: path.join(dir, 'data'),
      shutdownTimeoutSeconds: 5,
    });
  }
}, 180_000);

afterAll(async () => {
  await procs.killAll();
  await db?.close();
  await dropDb().catch(() => undefined);
  if (root) fs.rmSync(root, { recursive: true, force: true });
});

function overlaps(a: Run, b: Run): boolean {
  const aEnd = (a.end_time ?? new Date()).getTime();
  const bEnd = (b.end_time ?? new Date()).getTime();
  return a.start_time.getTime() < bEnd && b.start_time.getTime() < aEnd;
}

describe('two devices on one repository, prune every minute [postgres, real restic 0.14]', () => {
  it('backups of both devices, forget of A (renamed, paths changed) and prune never overlap and never fail on a lock', async () => {
    cfg.A.agent = await procs.startAgentReady(cfg.A.config, cfg.A.port);
    cfg.B.agent = await procs.startAgentReady(cfg.B.config, cfg.B.port);
    // One prune turn with the job as it was, then rename the job and change its paths.
    await waitExplained(
      'a successful prune',
      async () => ((await runs()).some((r) => r.operation === 'prune' && r.status === 'success') ? true : null),
      // The first turn starts at the next minute and waits for both devices' backups to leave the
      // repository; on the loaded 2-core CI machine that took over 100 s once (session 4).
      200_000,
    );
    const renamedAt = new Date();
    await db.query(`UPDATE backup_jobs SET name = 'docs-renamed', source_paths = ARRAY[$2] WHERE id = $1`, [
      jobA,
      srcA2,
    ]);
    await waitExplained(
      'a second prune turn, and a forget after two backups of the renamed job',
      async () => {
        const all = await runs();
        const prunes = all.filter((r) => r.operation === 'prune' && r.status === 'success');
        const after = all.filter((r) => r.job_id === jobA && r.start_time > renamedAt && r.status === 'success');
        const backups = after.filter((r) => r.operation === 'backup').length;
        const forgets = after.filter((r) => r.operation === 'forget').length;
        return prunes.length >= 2 && prunes.at(-1)!.start_time > renamedAt && backups >= 3 && forgets >= 2
          ? true
          : null;
      },
      300_000, // the shared 2-core machine under load makes each 5-second backup take longer
    );
    cfg.A.agent.signal('SIGTERM');
    cfg.B.agent.signal('SIGTERM');
    await Promise.all([cfg.A.agent.exited, cfg.B.agent.exited]);

    const all = await runs();
    const backups = all.filter((r) => r.operation === 'backup');
    const exclusive = all.filter((r) => r.operation === 'prune' || r.operation === 'forget');
    const prunes = all.filter((r) => r.operation === 'prune');
    expect(backups.filter((r) => r.job_id === jobA).length).toBeGreaterThanOrEqual(4);
    expect(backups.filter((r) => r.job_id === jobB).length).toBeGreaterThanOrEqual(4);
    // No backup failed (prune's lock or anything else); a SIGTERM may cancel the last one.
    expect(backups.filter((r) => r.status !== 'success' && r.status !== 'cancelled')).toEqual([]);
    expect(exclusive.filter((r) => r.status !== 'success' && r.status !== 'cancelled')).toEqual([]);
    expect(prunes.filter((r) => r.status === 'success').length).toBeGreaterThanOrEqual(2);
    // Never two prunes in one turn (one device per turn), whichever device was first.
    const turns = prunes.map((r) => Math.floor(r.start_time.getTime() / 60_000));
    expect(new Set(turns).size).toBe(turns.length);
    // Prune and forget (exclusive) never overlap a backup of either device, nor each other.
    const clashes: string[] = [];
    for (const x of exclusive) {
      for (const b of backups) if (overlaps(x, b)) clashes.push(`${x.operation} ${x.id} / backup ${b.id}`);
      for (const y of exclusive) if (y.id < x.id && overlaps(x, y)) clashes.push(`${x.operation} ${x.id} / ${y.id}`);
    }
    expect(clashes).toEqual([]);
    expect(fs.readdirSync(path.join(repo.dir, 'locks'))).toEqual([]);

    // The dry run (no lock) then a final forget through the CLI: exactly 2 of A's snapshots stay.
    const admin = path.join(root, 'admin-A', 'admin.yaml');
    const dry = await procs.runCli(['--config', admin, 'forget', jobA, '--dry-run', '--json']);
    expect(dry.code, dry.stderr).toBe(0);
    const plan = JSON.parse(dry.stdout) as { keep: { id: string }[]; remove: { id: string }[] };
    expect(plan.keep.length).toBe(2);
    const before = byTag(`backup:${jobA}`);
    expect(plan.keep.length + plan.remove.length).toBe(before.length);
    const real = await procs.runCli(['--config', admin, 'forget', jobA, '--json']);
    expect(real.code, real.stderr + real.stdout).toBe(0);
    const left = byTag(`backup:${jobA}`);
    expect(left.length).toBe(2);
    const newest = [...before].sort((a, b) => (a.time < b.time ? 1 : -1)).slice(0, 2);
    expect(left.map((s) => s.id).sort()).toEqual(newest.map((s) => s.id).sort());
    expect(left.map((s) => s.id).sort()).toEqual(plan.keep.map((s) => s.id).sort());
    // Only the renamed job's new paths are left: old host, old name and old paths were one group.
    for (const s of left) expect(s.paths).toEqual([srcA2]);
    expect(snapshots(repo).some((s) => s.paths.includes(srcOld))).toBe(false);
    // None of B's snapshots was removed: the seeded one plus one per successful backup of B.
    const bSuccess = backups.filter((r) => r.job_id === jobB && r.status === 'success').length;
    expect(byTag(`backup:${jobB}`).length).toBe(1 + bSuccess);
    // The forget runs name the repository by restic's id (migration 011), like the prunes.
    const ids = await db.query<{ id: string | null }>(
      "SELECT DISTINCT restic_repository_id AS id FROM runs WHERE operation IN ('forget', 'prune')",
    );
    expect(ids.rows.map((r) => r.id)).toHaveLength(1);
    expect(ids.rows[0]?.id).toMatch(/^[0-9a-f]{64}$/);
  }, 600_000);

  it('a prune killed with its agent leaves a stale lock; the next prune clears it and succeeds', async () => {
    const locksDir = path.join(repo.dir, 'locks');
    let killedAt = 0;
    let kills = 0; // prunes killed, each recorded interrupted (a retried kill counts too)
    for (let attempt = 0; attempt < 4 && killedAt === 0; attempt++) {
      const agent = await procs.startAgentReady(cfg.A.config, cfg.A.port);
      const from = agent.lines.length;
      await agent.waitForLog((l) => l.json?.msg === 'prune started (exclusive lease held)', 90_000, from);
      // Kill agent and restic together (a power cut) once prune's lock is in the repository.
      const t0 = Date.now();
      while (Date.now() - t0 < 15_000) {
        const pids = fs
          .readdirSync('/proc')
          .filter((p) => /^\d+$/.test(p))
          .filter((p) => {
            try {
              return fs.readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0').includes('prune');
            } catch {
              return false;
            }
          });
        // A lock file with content: restic creates the file, then writes it; a kill in between
        // leaves an empty file, which is not the stale lock this test is about (see below).
        const written = fs.readdirSync(locksDir).some((f) => fs.statSync(path.join(locksDir, f)).size > 0);
        if (pids.length > 0 && written) {
          // The agent first: it must not see restic end and record the prune itself.
          process.kill(agent.pid, 'SIGKILL');
          for (const p of pids) process.kill(Number(p), 'SIGKILL');
          killedAt = Date.now();
          kills++;
          break;
        }
        if (pids.length === 0 && Date.now() - t0 > 3000) break; // prune already over: next turn
        await new Promise((r) => setTimeout(r, 10));
      }
      if (killedAt === 0) {
        agent.signal('SIGTERM');
        await agent.exited;
      } else await agent.exited;
      // restic 0.14 ignores a lock file it cannot read (empty or cut short by the kill) and
      // `restic unlock` never removes one, so such a file would leave nothing for the next prune
      // to clear (the CI run of 2026-12-02 07:00 met this). Only a readable lock counts as caught;
      // an unreadable one is removed here and the kill is tried again.
      if (killedAt !== 0 && !dropUnreadableLocks(locksDir)) killedAt = 0;
    }
    expect(killedAt, 'caught a prune holding its lock').toBeGreaterThan(0);
    expect(fs.readdirSync(locksDir).length).toBeGreaterThan(0);
    // No backup of A before the next prune (a backup would clear the stale lock itself, C06):
    // the prune meets the lock.
    await db.query('UPDATE schedules SET enabled = false WHERE job_id = $1', [jobA]);
    const agent = await procs.startAgentReady(cfg.A.config, cfg.A.port);
    const next = await waitFor(
      'a successful prune after the kill',
      async () =>
        (await runs()).find(
          (r) => r.operation === 'prune' && r.status === 'success' && r.start_time.getTime() > killedAt,
        ) ?? null,
      150_000,
    );
    // Cleared by plain `restic unlock` under the exclusive lease (the prune's own retry), or by an
    // earlier run of this agent that met it first (a backup's stale-lock handling, C06): say which.
    const cleared = (await runs()).filter(
      (r) =>
        r.start_time.getTime() > killedAt &&
        /Removed 1 stale lock\(s\)/.test(`${r.restic_output ?? ''} ${JSON.stringify(r.metadata)}`),
    );
    expect(cleared.map((r) => r.operation)).toHaveLength(1);
    expect(cleared[0]!.start_time.getTime()).toBeLessThanOrEqual(next.start_time.getTime());
    const killed = (await runs()).filter(
      (r) => r.operation === 'prune' && r.start_time.getTime() < killedAt && r.status === 'interrupted',
    );
    expect(killed.length).toBe(kills);
    agent.signal('SIGTERM');
    await agent.exited;
    expect(fs.readdirSync(locksDir)).toEqual([]);
  }, 500_000);
});
