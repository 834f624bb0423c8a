/**
 * Issue 14 "what it must show": a forget of a job, started with an explicit keep option through
 * the agent's internal API (`agent.enqueueTask`), goes through the one task queue, is recorded as a
 * run with operation 'forget' (the job's id and its repository's id), never overlaps a backup of
 * the same repository, and two exclusive tasks of one repository never overlap while tasks of
 * different repositories run in parallel. The REAL agent (src/app.ts startAgent) on PostgreSQL and
 * PGlite, real restic on temp repositories; a backup is made slow by a start hook (`sleep 3`).
 * Order is read from the agent's own events (the one way to observe a run), not from wall time.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAgent, type Agent } from '../../src/app.js';
import { parseLocalConfig } from '../../src/config/local-config.js';
import {
  addHook,
  addJob,
  addRepository,
  getRun,
  listRuns,
  migrate,
  openDatabase,
  upsertDevice,
} from '../../src/db/index.js';
import type { AgentEvents } from '../../src/events.js';
import { isAppError } from '../../src/errors.js';
import { createTempPgDatabase } from '../helpers/databases.js';
import { waitFor } from '../helpers/wait.js';

const PASSWORD = 'forget-test-pw';
const DEVICE = 'forget-task-test';

type Seen = { event: 'started' | 'finished'; key: string; operation: string; payload: unknown };

function snapshotsOf(repo: string, jobId: string): string[] {
  const out = execFileSync('restic', ['snapshots', '--json', '--repo', repo, '--tag', `backup:${jobId}`], {
    env: { ...process.env, RESTIC_PASSWORD: PASSWORD },
  }).toString();
  return (JSON.parse(out) as { short_id: string }[]).map((s) => s.short_id);
}

for (const kind of ['postgres', 'pglite'] as const) {
  describe(`forget task on the real agent [${kind}]`, () => {
    let agent: Agent;
    let tmp = '';
    let dropDb: (() => Promise<void>) | null = null;
    let repo1 = '';
    let repo2 = '';
    let repo1Id = '';
    let repo2Id = '';
    let slow = ''; // repo1, start hook sleeps 3 s
    let quick = ''; // repo1
    let other = ''; // repo2
    const seen: Seen[] = [];

    /** Events of runs in the order the agent published them. */
    const order = () => seen.map((s) => `${s.event} ${s.operation} ${s.key}`);
    const name = (jobId: string | null) =>
      jobId === slow ? 'slow' : jobId === quick ? 'quick' : jobId === other ? 'other' : String(jobId);
    const finished = (op: string, job: string) =>
      seen.find((s) => s.event === 'finished' && s.operation === op && s.key === name(job))?.payload as
        AgentEvents['run.finished'] | undefined;

    const backupNow = async (jobId: string) => {
      const before = seen.filter((s) => s.event === 'finished' && s.key === name(jobId)).length;
      agent.enqueueTask({ kind: 'backup', jobId });
      await waitFor(
        `backup of ${name(jobId)} finished`,
        () => seen.filter((s) => s.event === 'finished' && s.key === name(jobId)).length > before,
        60_000,
      );
    };

    beforeAll(async () => {
      tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rbackup2-forget-task-'));
      repo1 = path.join(tmp, 'repo1');
      repo2 = path.join(tmp, 'repo2');
      for (const r of [repo1, repo2])
        execFileSync('restic', ['init', '--repo', r], { env: { ...process.env, RESTIC_PASSWORD: PASSWORD } });
      const src = path.join(tmp, 'src');
      fs.mkdirSync(src);
      fs.writeFileSync(path.join(src, 'a.txt'), 'a');
      let dbYaml = '';
      if (kind === 'postgres') {
        const pgdb = await createTempPgDatabase();
        dropDb = pgdb.drop;
        dbYaml = `database:\n  url: "${pgdb.url}"\n`;
      }
      const yaml = `device:\n  id: ${DEVICE}\n${dbYaml}client:\n  data_dir: "${path.join(tmp, 'data')}"\n  log_file: "${path.join(tmp, 'data', 'agent.log')}"\n  shutdown_timeout_seconds: 5\n`;
      const local = parseLocalConfig(yaml, path.join(tmp, 'config.yaml'), {});
      const seed = await openDatabase({ database: local.database, dataDir: local.dataDir });
      try {
        await migrate(seed);
        await upsertDevice(seed, { id: DEVICE });
        await seed.query("INSERT INTO settings (device_id, key, value) VALUES ($1, 'max_concurrent_backups', '3')", [
          DEVICE,
        ]);
        repo1Id = (await addRepository(seed, { name: 'one', url: repo1, password: PASSWORD })).id;
        repo2Id = (await addRepository(seed, { name: 'two', url: repo2, password: PASSWORD })).id;
        slow = (await addJob(seed, { deviceId: DEVICE, name: 'slow', sourcePaths: [src], repositoryId: repo1Id })).id;
        await addHook(seed, { jobId: slow, command: 'sleep 3', timing: 'start' });
        quick = (await addJob(seed, { deviceId: DEVICE, name: 'quick', sourcePaths: [src], repositoryId: repo1Id })).id;
        other = (await addJob(seed, { deviceId: DEVICE, name: 'other', sourcePaths: [src], repositoryId: repo2Id })).id;
      } finally {
        await seed.close();
      }
      agent = await startAgent({ local, logger: pino({ level: 'silent' }), http: false });
      const events = agent.service.events;
      events.on('run.started', (e) =>
        seen.push({ event: 'started', key: name(e.jobId), operation: e.operation, payload: e }),
      );
      events.on('run.finished', (e) =>
        seen.push({ event: 'finished', key: name(e.jobId), operation: e.operation, payload: e }),
      );
      // Three snapshots per job to forget from.
      for (const j of [slow, quick, other]) if (j !== slow) for (let i = 0; i < 3; i++) await backupNow(j);
    }, 120_000);

    afterAll(async () => {
      await agent?.stop('test done');
      await dropDb?.();
      fs.rmSync(tmp, { recursive: true, force: true });
    }, 60_000);

    it('a forget with keep last 2 waits for the slow backup of its repository, then runs and is recorded as a forget run', async () => {
      seen.length = 0;
      expect(agent.enqueueTask({ kind: 'backup', jobId: slow }).state).toBe('started');
      await waitFor('slow backup started', () => seen.some((s) => s.event === 'started' && s.key === 'slow'), 10_000);
      expect(agent.enqueueTask({ kind: 'forget', jobId: quick, keep: { last: 2 } })).toEqual({
        state: 'queued',
        position: 1,
      });
      await waitFor('forget finished', () => finished('forget', quick) !== undefined, 60_000);
      // The backup of the same repository (3 s in its hook) ended before the forget started.
      expect(order()).toEqual([
        'started backup slow',
        'finished backup slow',
        'started forget quick',
        'finished forget quick',
      ]);
      const done = finished('forget', quick)!;
      expect(done).toMatchObject({
        operation: 'forget',
        jobId: quick,
        repositoryId: repo1Id,
        status: 'success',
        errorMessage: null,
      });
      const backup = finished('backup', slow)!;
      expect(backup.durationSeconds).toBeGreaterThanOrEqual(3);
      const row = await getRun(agent.db, done.runId!);
      expect(row).toMatchObject({
        operation: 'forget',
        jobId: quick,
        repositoryId: repo1Id,
        status: 'success',
        triggeredBy: 'manual',
      });
      expect(row!.metadata).toMatchObject({ keep: { last: 2 }, kept_count: 2, removed_count: 1, job_name: 'quick' });
      expect(Date.parse(row!.startTime)).toBeGreaterThanOrEqual(
        Date.parse((await getRun(agent.db, backup.runId!))!.endTime!) - 1, // start_time is stored to the ms
      );
      expect(snapshotsOf(repo1, quick)).toHaveLength(2);
      expect(snapshotsOf(repo2, other)).toHaveLength(3); // another job's snapshots are untouched
      const forgets = await listRuns(agent.db, { deviceId: DEVICE, operation: 'forget', limit: 10 });
      expect(forgets.map((r) => r.id)).toEqual([done.runId]);
    }, 90_000);

    it('two exclusive tasks of one repository never overlap; tasks of different repositories run in parallel', async () => {
      for (const j of [quick, other]) await backupNow(j); // something to forget again
      seen.length = 0;
      // A slow backup holds repository one; forgets of two jobs of it wait and then run one at a
      // time; the forget of repository two starts at once, beside the backup.
      agent.enqueueTask({ kind: 'backup', jobId: slow });
      await waitFor('slow backup started', () => seen.some((s) => s.event === 'started' && s.key === 'slow'), 10_000);
      agent.enqueueTask({ kind: 'forget', jobId: quick, keep: { last: 1 } });
      agent.enqueueTask({ kind: 'forget', jobId: slow, keep: { last: 1 } });
      expect(agent.enqueueTask({ kind: 'forget', jobId: other, keep: { last: 1 } }).state).toBe('started');
      await waitFor(
        'three forgets finished',
        () =>
          ['quick', 'slow', 'other'].every((k) =>
            seen.some((s) => s.event === 'finished' && s.key === k && s.operation === 'forget'),
          ),
        60_000,
      );
      const o = order();
      const at = (e: string) => o.indexOf(e);
      // Repository two's forget started while repository one's backup ran.
      expect(at('started forget other')).toBeLessThan(at('finished backup slow'));
      // Repository one: backup, then one forget, then the other; never two at once.
      const repo1Events = o.filter((e) => / (quick|slow)$/.test(e));
      expect(repo1Events).toEqual([
        'started backup slow',
        'finished backup slow',
        'started forget quick',
        'finished forget quick',
        'started forget slow',
        'finished forget slow',
      ]);
      expect(finished('forget', other)).toMatchObject({ repositoryId: repo2Id, status: 'success' });
      expect(snapshotsOf(repo1, quick)).toHaveLength(1);
      expect(snapshotsOf(repo1, slow)).toHaveLength(1);
      expect(snapshotsOf(repo2, other)).toHaveLength(1);
    }, 120_000);

    it('a bad request is refused with a clear error naming the job or the rule', () => {
      const refused = (f: () => unknown) => {
        try {
          f();
        } catch (err) {
          return isAppError(err) ? `${err.code}: ${err.message}` : String(err);
        }
        return 'accepted';
      };
      expect(
        refused(() =>
          agent.enqueueTask({ kind: 'forget', jobId: '00000000-0000-4000-8000-000000000000', keep: { last: 1 } }),
        ),
      ).toMatch(/^NOT_FOUND: job 00000000-0000-4000-8000-000000000000 not found/);
      expect(refused(() => agent.enqueueTask({ kind: 'forget', jobId: quick, keep: {} }))).toBe(
        'INVALID_INPUT: forget of job "quick": keep needs at least one rule',
      );
    });
  });
}
