/**
 * Issues 13 and 21: `rbackup2 backup JOB` starts restic from the last-known-good config copy
 * (config-cache.json) while the database opens (src/backup/early-backup.ts,
 * src/cli/early-backup-start.ts), and the run takes that restic over only when the job read from
 * the database gives the very same command. Real restic 0.14 (through a wrapper script that
 * records each call and then execs /usr/bin/restic: not a stand-in), the real binary, on
 * PostgreSQL and on the embedded PGlite.
 */
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addJob, addRepository, migrate, openPostgres, upsertDevice, type Database } from '../../src/db/index.js';
import { embeddedDataDir, openPglite } from '../../src/db/open.js';
import { pidAliveOnThisHost as alive } from '../../src/process-alive.js';
import { jobLockPath } from '../../src/runs/job-lock.js';
import { freePort, MAIN_JS, ProcessGroup, writeAgentConfig } from '../helpers/agent-process.js';
import { createTempPgDatabase } from '../helpers/databases.js';
import { waitFor } from '../helpers/wait.js';

const PASSWORD = 'early start pw';

interface Call {
  pid: number;
  ppid: number;
  atMs: number;
  args: string[];
}

describe.each(['postgres', 'pglite'] as const)('early restic start of `rbackup2 backup` on %s', (kind) => {
  const procs = new ProcessGroup();
  let root = '';
  let dataDir = '';
  let config = '';
  let pgUrl = '';
  let dropDb: () => Promise<void> = async () => {};
  let calls = '';
  const jobs: Record<string, string> = {};

  const withDb = async <T>(fn: (db: Database) => Promise<T>): Promise<T> => {
    const db =
      kind === 'postgres'
        ? await openPostgres({ connectionString: pgUrl, connectAttempts: 1 })
        : await openPglite(embeddedDataDir(dataDir));
    try {
      return await fn(db);
    } finally {
      await db.close();
    }
  };
  const resticEnv = (repo: string) => ({
    PATH: '/usr/bin:/bin',
    RESTIC_REPOSITORY: repo,
    RESTIC_PASSWORD: PASSWORD,
    RESTIC_CACHE_DIR: path.join(root, 'test-cache'),
  });
  const backupCalls = (): Call[] =>
    (fs.existsSync(calls) ? fs.readFileSync(calls, 'utf8') : '')
      .split('\n')
      .filter((l) => l.trim())
      .map((l) => {
        const [pid, ppid, at, ...args] = l.split(' ');
        return { pid: Number(pid), ppid: Number(ppid), atMs: Number(at), args };
      })
      .filter((c) => c.args[0] === 'backup');
  const cli = (...args: string[]) => procs.runCli(['--config', config, ...args]);
  const runsOf = (jobId: string) =>
    withDb(async (db) => {
      const { rows } = await db.query<{ id: number; status: string; snapshot_id: string | null; start_time: Date }>(
        `SELECT id, status, snapshot_id, start_time FROM runs WHERE job_id = $1 AND operation = 'backup' ORDER BY id`,
        [jobId],
      );
      return rows;
    });
  const snapshotsOf = (jobId: string, repo: string): unknown[] =>
    spawnSyncJson(
      '/usr/bin/restic',
      ['snapshots', '--json', '--no-lock', '--tag', `backup:${jobId}`],
      resticEnv(repo),
    ) as unknown[];

  beforeAll(async () => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), `rbackup2-early-${kind}-`));
    dataDir = path.join(root, 'data');
    calls = path.join(root, 'restic-calls.log');
    const wrapper = path.join(root, 'restic-wrapper.sh');
    // Real restic behind a recording wrapper: exec keeps the pid, so signals reach restic itself.
    // With the file slow-start present it waits 3 s first (a slow machine's restic start).
    fs.writeFileSync(
      wrapper,
      `#!/bin/sh\necho "$$ $PPID $(date +%s%3N) $*" >> "${calls}"\n[ -f "${root}/slow-start" ] && sleep 3\nexec /usr/bin/restic "$@"\n`,
      { mode: 0o755 },
    );
    if (kind === 'postgres') {
      const tmp = await createTempPgDatabase();
      pgUrl = tmp.url;
      dropDb = () => tmp.drop();
    }
    for (const name of ['steady', 'changing']) {
      fs.mkdirSync(path.join(root, `src-${name}`), { recursive: true });
      const init = spawnSync('/usr/bin/restic', ['init'], { env: resticEnv(path.join(root, `repo-${name}`)) });
      expect(init.status, String(init.stderr)).toBe(0);
    }
    fs.writeFileSync(path.join(root, 'src-steady', 'a.txt'), 'hello\n');
    await withDb(async (db) => {
      await migrate(db);
      await upsertDevice(db, { id: 'early-dev' });
      for (const name of ['steady', 'changing']) {
        const repo = await addRepository(db, { name, url: path.join(root, `repo-${name}`), password: PASSWORD });
        jobs[name] = (
          await addJob(db, {
            deviceId: 'early-dev',
            name,
            sourcePaths: [path.join(root, `src-${name}`)],
            repositoryId: repo.id,
            // The cached copy of 'changing' will upload at 1 KiB/s: its early restic cannot finish.
            ...(name === 'changing' ? { resticArgs: ['--limit-upload', '1'] } : {}),
          })
        ).id;
      }
    });
    config = writeAgentConfig({
      dir: root,
      deviceId: 'early-dev',
      port: await freePort(),
      dataDir,
      resticBinary: wrapper,
      ...(kind === 'postgres' ? { databaseUrl: pgUrl } : {}),
    });
  }, 120_000);

  afterAll(async () => {
    await procs.killAll();
    await dropDb().catch(() => undefined);
    if (root) fs.rmSync(root, { recursive: true, force: true });
  });

  /**
   * An open transaction holding backup_jobs (PostgreSQL): a command cannot read its job until
   * `release` (COMMIT); `close` ends it in any case.
   */
  const holdJobs = async () => {
    const blocker = await openPostgres({ connectionString: pgUrl, connectAttempts: 1 });
    await blocker.query('BEGIN');
    await blocker.query('LOCK TABLE backup_jobs IN ACCESS EXCLUSIVE MODE');
    return {
      release: () => blocker.query('COMMIT'),
      close: async () => {
        await blocker.query('ROLLBACK').catch(() => undefined);
        await blocker.close();
      },
    };
  };

  /** `rbackup2 backup JOB` in the background, with its output and exit code. */
  const spawnBackup = (job: string) => {
    const child = spawn(process.execPath, [MAIN_JS, '--config', config, 'backup', job], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    return { child, exited, output: () => out };
  };

  it('Ctrl-C just after restic started, the database answering meanwhile: no run is recorded and restic, the job lock and the repository lock are gone', async () => {
    const first = await cli('backup', 'steady'); // the copy exists (the first test may not have run)
    expect(first.code, first.stderr).toBe(0);
    const runsBefore = (await runsOf(jobs.steady!)).length;
    fs.rmSync(calls, { force: true });
    fs.writeFileSync(path.join(root, 'slow-start'), '');
    try {
      const cmd = spawnBackup('steady');
      const call = await waitFor('the early restic', () => backupCalls()[0] ?? null, 30_000, 20);
      cmd.child.kill('SIGINT');
      expect(await cmd.exited, cmd.output()).toBe(130);
      expect(alive(call.pid), 'restic stopped with the command').toBe(false);
      expect(backupCalls(), 'no second restic').toHaveLength(1);
      expect(fs.existsSync(jobLockPath(dataDir, jobs.steady!)), 'the job lock is released').toBe(false);
      expect(fs.readdirSync(path.join(root, 'repo-steady', 'locks')), 'no repository lock').toEqual([]);
      // Give a run the command might still have recorded the time to show up: none may.
      await new Promise((r) => setTimeout(r, 3000));
      expect((await runsOf(jobs.steady!)).length, 'no run was recorded').toBe(runsBefore);
    } finally {
      fs.rmSync(path.join(root, 'slow-start'), { force: true });
    }
  }, 120_000);

  it('the first backup keeps the config copy; the next one runs the restic started from it: one restic process, the run starting when it did', async () => {
    const snapshotsBefore = snapshotsOf(jobs.steady!, path.join(root, 'repo-steady')).length;
    const first = await cli('backup', 'steady');
    expect(first.code, first.stderr).toBe(0);
    const cache = path.join(dataDir, 'config-cache.json');
    expect(fs.statSync(cache).mode & 0o777).toBe(0o600); // it holds repository passwords
    fs.rmSync(calls, { force: true });

    const second = await cli('backup', 'steady', '--json');
    expect(second.code, second.stderr).toBe(0);
    const result = JSON.parse(second.stdout) as { runId: number; status: string; snapshotId: string };
    expect(result.status).toBe('success');
    const started = backupCalls();
    expect(started, 'one restic backup process').toHaveLength(1);
    const runs = await runsOf(jobs.steady!);
    const run = runs.find((r) => r.id === result.runId)!;
    expect(run).toMatchObject({ status: 'success', snapshot_id: result.snapshotId });
    // The run starts when its restic did (taken just before the spawn), not when it was recorded.
    expect(run.start_time.getTime()).toBeLessThanOrEqual(started[0]!.atMs);
    expect(started[0]!.atMs - run.start_time.getTime()).toBeLessThan(1000);
    expect(snapshotsOf(jobs.steady!, path.join(root, 'repo-steady'))).toHaveLength(snapshotsBefore + 2);
    expect(fs.existsSync(jobLockPath(dataDir, jobs.steady!)), 'the job lock is released').toBe(false);
    // Nothing changed since (the first backup recorded the job's restic host, C29, so the copy was
    // renewed once): the copy is not written again, which would be an fsync on every backup.
    const savedAt = (): string => (JSON.parse(fs.readFileSync(cache, 'utf8')) as { savedAt: string }).savedAt;
    const before = savedAt();
    const third = await cli('backup', 'steady');
    expect(third.code, third.stderr).toBe(0);
    expect(savedAt()).toBe(before);
  }, 120_000);

  it('a job changed since the copy: its early restic is stopped before it wrote anything and the run backs up the job as the database has it', async () => {
    // The copy is written with the job as it is now (uploads limited to 1 KiB/s), on an empty folder.
    const first = await cli('backup', 'changing');
    expect(first.code, first.stderr).toBe(0);
    // Then the job changes in the database (the limit goes) and the folder gets 300 KB of new data.
    await withDb((db) =>
      db.query(`UPDATE backup_jobs SET restic_args = $1 WHERE id = $2`, [JSON.stringify([]), jobs.changing]),
    );
    fs.writeFileSync(path.join(root, 'src-changing', 'new.bin'), randomBytes(300 * 1024));
    fs.rmSync(calls, { force: true });

    const second = await cli('backup', 'changing', '--json');
    expect(second.code, second.stderr).toBe(0);
    expect(second.stderr).not.toMatch(/no run records it/);
    const [early, own, ...more] = backupCalls();
    expect(more).toEqual([]);
    expect(early!.args, 'the early restic ran the cached command').toContain('--limit-upload');
    expect(own!.args, 'the run ran the database one').not.toContain('--limit-upload');
    expect(alive(early!.pid)).toBe(false);
    const result = JSON.parse(second.stdout) as { status: string; snapshotId: string; filesNew: number | null };
    expect(result.status).toBe('success');
    const snaps = snapshotsOf(jobs.changing!, path.join(root, 'repo-changing'));
    expect(snaps, 'the first backup and this run, nothing from the stopped restic').toHaveLength(2);
    expect(fs.readdirSync(path.join(root, 'repo-changing', 'locks')), 'no lock left behind').toEqual([]);
    const cached = JSON.parse(fs.readFileSync(path.join(dataDir, 'config-cache.json'), 'utf8')) as {
      config: { jobs: { id: string; resticArgs: string[] }[] };
    };
    expect(cached.config.jobs.find((j) => j.id === jobs.changing)?.resticArgs, 'the copy is renewed').toEqual([]);
  }, 120_000);

  if (kind === 'postgres') {
    it('restic starts while the database has not answered yet; Ctrl-C, twice, then stops it and leaves no run, lock or process', async () => {
      const runsBefore = (await runsOf(jobs.steady!)).length;
      const held = await holdJobs();
      try {
        fs.rmSync(calls, { force: true });
        const cmd = spawnBackup('steady');
        const call = await waitFor('the early restic', () => backupCalls()[0] ?? null, 30_000, 20);
        expect(call.ppid, 'started by the command itself').toBe(cmd.child.pid);
        expect(alive(call.pid)).toBe(true);
        cmd.child.kill('SIGINT');
        await new Promise((r) => setTimeout(r, 100));
        cmd.child.kill('SIGINT'); // a second Ctrl-C while restic stops must not kill the command
        expect(await cmd.exited, cmd.output()).toBe(130);
        expect(alive(call.pid), 'restic stopped with the command').toBe(false);
        expect(fs.existsSync(jobLockPath(dataDir, jobs.steady!)), 'the job lock is released').toBe(false);
        await held.release();
        expect((await runsOf(jobs.steady!)).length, 'no run was recorded').toBe(runsBefore);
        // Whatever restic left in the repository, the next backup goes through.
        const next = await cli('backup', 'steady');
        expect(next.code, next.stderr).toBe(0);
      } finally {
        await held.close();
      }
    }, 120_000);

    it('a config copy that others may write is not trusted: restic waits for the database', async () => {
      const cache = path.join(dataDir, 'config-cache.json');
      const first = await cli('backup', 'steady');
      expect(first.code, first.stderr).toBe(0);
      fs.chmodSync(cache, 0o620); // group-writable: someone else could choose what restic runs
      const held = await holdJobs();
      try {
        fs.rmSync(calls, { force: true });
        const done = cli('backup', 'steady');
        await new Promise((r) => setTimeout(r, 2500));
        expect(backupCalls(), 'no restic before the database answered').toEqual([]);
        await held.release();
        const r = await done;
        expect(r.code, r.stderr).toBe(0);
        expect(backupCalls()).toHaveLength(1);
        expect(fs.statSync(cache).mode & 0o777, 'and the command does not rewrite it').toBe(0o620);
      } finally {
        await held.close();
        fs.chmodSync(cache, 0o600);
      }
    }, 120_000);

    it('restic runs before the run is recorded: with the database held, the backup has started; once it answers, the run takes it over', async () => {
      const runsBefore = (await runsOf(jobs.steady!)).length;
      const held = await holdJobs();
      try {
        fs.rmSync(calls, { force: true });
        const done = cli('backup', 'steady', '--json');
        const call = await waitFor('the early restic', () => backupCalls()[0] ?? null, 30_000, 20);
        expect((await runsOf(jobs.steady!)).length, 'not recorded yet').toBe(runsBefore);
        // The one-shot's restic runs at normal priority (the user waits for it; the agent's are niced).
        const stat = fs.readFileSync(`/proc/${call.pid}/stat`, 'utf8');
        expect(Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]), 'nice').toBe(0);
        await new Promise((r) => setTimeout(r, 1500)); // restic may well have finished meanwhile
        await held.release();
        const r = await done;
        expect(r.code, r.stderr).toBe(0);
        expect(backupCalls(), 'no second restic').toHaveLength(1);
        const runs = await runsOf(jobs.steady!);
        expect(runs).toHaveLength(runsBefore + 1);
        expect(runs.at(-1)).toMatchObject({
          status: 'success',
          snapshot_id: (JSON.parse(r.stdout) as { snapshotId: string }).snapshotId,
        });
        expect(runs.at(-1)!.start_time.getTime()).toBeLessThanOrEqual(call.atMs);
      } finally {
        await held.close();
      }
    }, 120_000);
  } else {
    it('C18 with an agent holding the embedded database, the command asks it and starts no restic of its own', async () => {
      const port = Number(/127\.0\.0\.1:(\d+)/.exec(fs.readFileSync(config, 'utf8'))![1]);
      const agent = await procs.startAgentReady(config, port);
      try {
        // The agent keeps the config copy too: the command could start restic from it, and must not.
        await waitFor(
          'the agent has written its config copy',
          () => fs.existsSync(path.join(dataDir, 'config-cache.json')),
          30_000,
        );
        fs.rmSync(calls, { force: true });
        const r = await cli('backup', 'steady');
        expect(r.code, r.stderr).toBe(0);
        expect(r.stdout).toMatch(/triggered on the running agent/);
        const started = backupCalls();
        expect(started.length).toBeGreaterThanOrEqual(1);
        for (const c of started) expect(c.ppid, "every restic backup is the agent's").toBe(agent.child.pid);
      } finally {
        await agent.stop();
      }
    }, 180_000);
  }
});

/** Run a command that prints JSON (restic) and parse its last line; throws with its stderr on failure. */
function spawnSyncJson(cmd: string, args: string[], env: NodeJS.ProcessEnv): unknown {
  const r = spawnSync(cmd, args, { env, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  const text = r.stdout.trim();
  return text ? (JSON.parse(text.split('\n').at(-1)!) as unknown) : null;
}
