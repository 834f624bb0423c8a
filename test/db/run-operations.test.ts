/**
 * Issue 14: runs of several kinds (migration 008) on PostgreSQL and PGlite: operation defaults to
 * 'backup', repository-level runs (job_id NULL) need a repository, a backup always has a job, the
 * views latest_runs / job_summary and the metrics' last-success queries keep meaning backups,
 * GET /runs' operation filter, deleting a repository, and the run journal replaying a forget
 * exactly once with its operation and repository.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, expect, it } from 'vitest';
import { migrate } from '../../src/db/migrate.js';
import { upsertDevice } from '../../src/db/queries/devices.js';
import { addJob } from '../../src/db/queries/jobs.js';
import { addRepository, removeRepository } from '../../src/db/queries/repositories.js';
import {
  completeRun,
  getRun,
  insertRunStarted,
  lastSuccessFiles,
  lastSuccessPerJob,
  latestRunsOfDevice,
  listRuns,
} from '../../src/db/queries/runs.js';
import { addSchedule, listSchedules } from '../../src/db/queries/schedules.js';
import { silentLogger } from '../../src/logging.js';
import { JournalRunStore } from '../../src/runs/journal-run-store.js';
import { DbRunStore, type RunFinishRecord, type RunStartRecord, type RunStore } from '../../src/runs/run-store.js';
import { forEachDatabase } from '../helpers/databases.js';

/** A store whose database is "down" while `down` is true. */
class Switchable implements RunStore {
  down = true;
  constructor(private readonly real: RunStore) {}
  started(r: RunStartRecord) {
    return this.down ? Promise.reject(new Error('connect ECONNREFUSED')) : this.real.started(r);
  }
  finished(r: RunFinishRecord, s: RunStartRecord, id: number | null) {
    return this.down ? Promise.reject(new Error('connect ECONNREFUSED')) : this.real.finished(r, s, id);
  }
}

forEachDatabase('runs of several kinds (migration 008)', (getDb) => {
  const device = 'ops-1';
  let jobId = '';
  let repoId = '';

  beforeAll(async () => {
    const db = getDb();
    await migrate(db);
    await upsertDevice(db, { id: device });
    repoId = (await addRepository(db, { name: 'ops repo', url: '/srv/ops', password: 'pw' })).id;
    jobId = (await addJob(db, { deviceId: device, name: 'ops job', sourcePaths: ['/x'], repositoryId: repoId })).id;
  });

  const at = (h: number) => new Date(Date.UTC(2026, 10, 1, h));

  it('operation defaults to backup; a forget names its job and repository; bad kinds and orphans are refused', async () => {
    const db = getDb();
    const backup = await insertRunStarted(db, { jobId, deviceId: device, startTime: at(1), triggeredBy: 'schedule' });
    expect(await getRun(db, backup)).toMatchObject({ operation: 'backup', jobId, repositoryId: null });
    const forget = await insertRunStarted(db, {
      jobId,
      deviceId: device,
      startTime: at(2),
      triggeredBy: 'manual',
      operation: 'forget',
      repositoryId: repoId,
    });
    expect(await getRun(db, forget)).toMatchObject({ operation: 'forget', jobId, repositoryId: repoId });
    const prune = await insertRunStarted(db, {
      jobId: null,
      deviceId: device,
      startTime: at(3),
      triggeredBy: 'schedule',
      operation: 'prune',
      repositoryId: repoId,
    });
    expect(await getRun(db, prune)).toMatchObject({ operation: 'prune', jobId: null, repositoryId: repoId });
    await expect(
      db.query(`INSERT INTO runs (job_id, device_id, start_time, operation) VALUES ($1, $2, now(), 'copy')`, [
        jobId,
        device,
      ]),
    ).rejects.toThrow(/runs_operation_check/);
    await expect(
      db.query(`INSERT INTO runs (job_id, device_id, start_time, operation) VALUES (NULL, $1, now(), 'check')`, [
        device,
      ]),
    ).rejects.toThrow(/runs_job_or_repository_check/);
    await expect(
      db.query(`INSERT INTO runs (job_id, repository_id, device_id, start_time) VALUES (NULL, $1, $2, now())`, [
        repoId,
        device,
      ]),
    ).rejects.toThrow(/runs_backup_has_job_check/);
    await expect(
      db.query(
        `INSERT INTO runs (job_id, repository_id, device_id, start_time, operation) VALUES (NULL, $1, $2, now(), 'check')`,
        [randomUUID(), device],
      ),
    ).rejects.toThrow(/foreign key|violates/);
  });

  it('latest_runs, job_summary and the last-success queries keep meaning backups; /runs filters by operation', async () => {
    const db = getDb();
    const b = await insertRunStarted(db, { jobId, deviceId: device, startTime: at(10), triggeredBy: 'schedule' });
    await completeRun(db, b, { status: 'success', endTime: at(11), totalFilesProcessed: 7 });
    // A newer, successful forget of the same job must not become the job's "last run".
    const f = await insertRunStarted(db, {
      jobId,
      deviceId: device,
      startTime: at(12),
      triggeredBy: 'manual',
      operation: 'forget',
      repositoryId: repoId,
    });
    await completeRun(db, f, { status: 'success', endTime: at(13), totalFilesProcessed: 0 });
    expect((await latestRunsOfDevice(db, device)).map((r) => [r.id, r.operation])).toEqual([[b, 'backup']]);
    const { rows } = await db.query<{ last_run_id: unknown }>('SELECT last_run_id FROM job_summary WHERE job_id = $1', [
      jobId,
    ]);
    expect(rows.map((r) => Number(r.last_run_id))).toEqual([b]);
    expect(await lastSuccessFiles(db, jobId)).toBe(7);
    expect((await lastSuccessPerJob(db, device)).map((l) => l.endTime.toISOString())).toEqual([at(11).toISOString()]);
    const forgets = await listRuns(db, { deviceId: device, operation: 'forget', limit: 50 });
    expect(forgets.length).toBeGreaterThan(0);
    expect(forgets.every((r) => r.operation === 'forget')).toBe(true);
    expect(forgets.map((r) => r.id)).toContain(f);
    const backups = await listRuns(db, { deviceId: device, operation: 'backup', limit: 50 });
    expect(backups.every((r) => r.operation === 'backup')).toBe(true);
    expect(backups.map((r) => r.id)).toContain(b);
  });

  it('C17 a forget finished while the database is away is replayed exactly once, with its operation and repository; it does not move the schedule', async () => {
    const db = getDb();
    const sched = await addSchedule(db, { jobId, type: 'interval', intervalSeconds: 3600 });
    const dir = mkdtempSync(path.join(os.tmpdir(), 'rb2-ops-journal-'));
    const inner = new Switchable(new DbRunStore(db));
    const store = new JournalRunStore(inner, dir, silentLogger());
    const start: RunStartRecord = {
      clientRunId: randomUUID(),
      jobId,
      operation: 'forget',
      repositoryId: repoId,
      deviceId: device,
      startTime: at(20),
      triggeredBy: 'manual',
      metadata: { job_name: 'ops job' },
    };
    expect(await store.started(start)).toBeNull();
    const finish: RunFinishRecord = {
      clientRunId: start.clientRunId,
      jobId,
      operation: 'forget',
      startTime: start.startTime,
      completion: { status: 'success', endTime: at(21), durationSeconds: 3600, metadata: { removed: 2 } },
    };
    expect(await store.finished(finish, start, null)).toBeNull();
    // A repository-level run whose process died: replayed as interrupted, still a prune of the repository.
    const orphan: RunStartRecord = {
      ...start,
      clientRunId: randomUUID(),
      jobId: null,
      operation: 'prune',
      startTime: at(22),
    };
    await store.started(orphan);
    const fresh = new JournalRunStore(inner, dir, silentLogger()); // as after a restart
    inner.down = false;
    expect(await fresh.replay()).toBe(2);
    expect(await fresh.replay()).toBe(0);
    const rows = await listRuns(db, { deviceId: device, limit: 100 });
    const mine = rows.filter((r) => r.clientRunId === start.clientRunId || r.clientRunId === orphan.clientRunId);
    expect(mine.map((r) => [r.operation, r.jobId, r.repositoryId, r.status]).sort()).toEqual(
      [
        ['forget', jobId, repoId, 'success'],
        ['prune', null, repoId, 'interrupted'],
      ].sort(),
    );
    expect(mine.find((r) => r.operation === 'forget')?.metadata).toMatchObject({ removed: 2, job_name: 'ops job' });
    expect((await listSchedules(db, jobId)).find((s) => s.id === sched.id)?.lastRunAt).toBeNull();
  });

  it('deleting a repository takes its repository-level runs with it and keeps a job forget with repository_id NULL', async () => {
    const db = getDb();
    const other = (await addRepository(db, { name: 'old repo', url: '/srv/old', password: 'pw' })).id;
    const f = await insertRunStarted(db, {
      jobId,
      deviceId: device,
      startTime: at(30),
      triggeredBy: 'manual',
      operation: 'forget',
      repositoryId: other,
    });
    const c = await insertRunStarted(db, {
      jobId: null,
      deviceId: device,
      startTime: at(31),
      triggeredBy: 'manual',
      operation: 'check',
      repositoryId: other,
    });
    expect(await removeRepository(db, other)).toBe(true);
    expect(await getRun(db, c)).toBeNull();
    expect(await getRun(db, f)).toMatchObject({ operation: 'forget', jobId, repositoryId: null });
    // A repository a job still uses is refused as before, and its runs stay.
    await expect(removeRepository(db, repoId)).rejects.toThrow(/still|use/i);
    expect((await listRuns(db, { deviceId: device, operation: 'prune', limit: 10 })).length).toBeGreaterThan(0);
  });
});
