import { beforeAll, expect, it } from 'vitest';
import { loadDeviceConfig, loadDeviceConfigVersioned, getConfigVersion } from '../../src/db/device-config-query.js';
import { migrate } from '../../src/db/migrate.js';
import { getDevice, heartbeat, listDevices, removeDevice, upsertDevice } from '../../src/db/queries/devices.js';
import { addJob, listJobs, resolveJob } from '../../src/db/queries/jobs.js';
import { addRepository, removeRepository } from '../../src/db/queries/repositories.js';
import { completeRun, getRun, insertRunStarted, listRuns, markInterruptedRuns } from '../../src/db/queries/runs.js';
import { addHook, addSchedule, listSchedules, updateScheduleLastRun } from '../../src/db/queries/schedules.js';
import { getEffectiveSettings, setSetting } from '../../src/db/queries/settings.js';
import { isAppError } from '../../src/errors.js';
import { forEachDatabase } from '../helpers/databases.js';

const NOW = new Date('2026-03-01T12:00:00Z');
const OPTS = { localZone: 'Europe/Prague' };

forEachDatabase('db queries', (getDb) => {
  beforeAll(async () => {
    await migrate(getDb());
  });

  it('upsertDevice registers, refreshes last_seen, keeps an admin-given name when none is passed', async () => {
    const db = getDb();
    const d1 = await upsertDevice(db, { id: 'ws-1', platform: 'linux', hostname: 'h1', metadata: { agent: '0.1' } });
    expect(d1).toMatchObject({
      id: 'ws-1',
      name: 'ws-1',
      platform: 'linux',
      hostname: 'h1',
      enabled: true,
      metadata: { agent: '0.1' },
    });
    expect(d1.lastSeen).not.toBeNull();
    await db.query("UPDATE devices SET name = 'Admin name', last_seen = now() - interval '1 day' WHERE id = 'ws-1'");
    const d2 = await upsertDevice(db, { id: 'ws-1', hostname: 'h2', metadata: { os: 'x' } });
    expect(d2).toMatchObject({ name: 'Admin name', hostname: 'h2', metadata: { agent: '0.1', os: 'x' } });
    expect(Date.parse(d2.lastSeen!)).toBeGreaterThan(Date.parse(d1.lastSeen!) - 1000);
    expect(await heartbeat(db, 'ws-1')).toBe(true);
    expect(await heartbeat(db, 'nope')).toBe(false);
    expect((await listDevices(db)).map((d) => d.id)).toContain('ws-1');
    await upsertDevice(db, { id: 'gone', name: 'Gone' });
    expect(await removeDevice(db, 'gone')).toBe(true);
    expect(await getDevice(db, 'gone')).toBeNull();
  });

  it('loadDeviceConfig: a device setting overrides the global one; NULL repository_id uses the repository_* settings', async () => {
    const db = getDb();
    await upsertDevice(db, { id: 'cfg-1', name: 'Config one' });
    await setSetting(db, { deviceId: null, key: 'repository_url', value: '/srv/restic-global' });
    await setSetting(db, { deviceId: null, key: 'repository_password', value: 'pa$$ w0rd"\'`;#' });
    await setSetting(db, { deviceId: 'cfg-1', key: 'max_concurrent_backups', value: '3' });
    await setSetting(db, { deviceId: 'cfg-1', key: 'max_concurrent_backups', value: '2' }); // upsert, not a second row
    const job = await addJob(db, {
      deviceId: 'cfg-1',
      name: 'Docs, photos',
      sourcePaths: ['/srv/Fotomateriály/Rok 2024'],
      tags: ['a'],
      resticArgs: ['--one-file-system'],
    });
    const sched = await addSchedule(db, {
      jobId: job.id,
      type: 'cron',
      cronExpression: '30 2 * * *',
      timezone: 'Europe/Prague',
    });
    await addHook(db, { jobId: job.id, command: 'echo hi', timing: 'start', onError: 'stop' });
    const cfg = await loadDeviceConfig(db, 'cfg-1', NOW, OPTS);
    expect(cfg.deviceName).toBe('Config one');
    expect(cfg.loadedAt).toBe(NOW.toISOString());
    expect(cfg.settings.max_concurrent_backups).toBe('2');
    expect(cfg.settings.sync_interval_seconds).toBe('300');
    expect((await getEffectiveSettings(db, null)).max_concurrent_backups).toBe('1');
    expect(cfg.invalidJobs).toEqual([]);
    expect(cfg.jobs).toHaveLength(1);
    const j = cfg.jobs[0]!;
    expect(j).toMatchObject({
      id: job.id,
      name: 'Docs, photos',
      sourcePaths: ['/srv/Fotomateriály/Rok 2024'],
      resticArgs: ['--one-file-system'],
      tags: ['a'],
    });
    expect(j.repository).toMatchObject({
      id: null,
      url: '/srv/restic-global',
      password: 'pa$$ w0rd"\'`;#',
      cacheDir: null,
    });
    expect(j.schedules).toEqual([
      expect.objectContaining({
        id: sched.id,
        type: 'cron',
        cronExpression: '30 2 * * *',
        catchUp: true,
        enabled: true,
      }),
    ]);
    expect(j.hooks).toEqual([expect.objectContaining({ command: 'echo hi', timing: 'start', onError: 'stop' })]);
  });

  it('a job with repository_id gets that repository; a used repository cannot be removed', async () => {
    const db = getDb();
    const repo = await addRepository(db, {
      name: 'nas',
      url: 'sftp:nas:/restic',
      passwordFile: '/etc/rb/pw',
      env: { AWS_REGION: 'eu' },
    });
    await addJob(db, { deviceId: 'cfg-1', name: 'to-nas', sourcePaths: ['/home'], repositoryId: repo.id });
    const cfg = await loadDeviceConfig(db, 'cfg-1', NOW, OPTS);
    expect(cfg.jobs.find((x) => x.name === 'to-nas')?.repository).toMatchObject({
      id: repo.id,
      url: 'sftp:nas:/restic',
      passwordFile: '/etc/rb/pw',
      env: { AWS_REGION: 'eu' },
    });
    await expect(removeRepository(db, 'nas')).rejects.toSatisfy((e: unknown) => isAppError(e, 'CONFLICT'));
    expect(await resolveJob(db, 'to-nas', 'cfg-1')).toMatchObject({ repositoryId: repo.id });
  });

  it('no repository configured anywhere -> repository null', async () => {
    const db = getDb();
    await upsertDevice(db, { id: 'norepo' });
    await setSetting(db, { deviceId: 'norepo', key: 'repository_url', value: '' });
    await addJob(db, { deviceId: 'norepo', name: 'j', sourcePaths: ['/x'] });
    const cfg = await loadDeviceConfig(db, 'norepo', NOW, OPTS);
    expect(cfg.jobs[0]?.repository).toBeNull();
  });

  it('each kind of invalid job goes to invalidJobs with a reason naming the field; valid jobs still load', async () => {
    const db = getDb();
    await upsertDevice(db, { id: 'bad-1' });
    const ok = await addJob(db, { deviceId: 'bad-1', name: 'ok', sourcePaths: ['/ok'] });
    await addSchedule(db, { jobId: ok.id, type: 'interval', intervalSeconds: 3600 });
    await addSchedule(db, { jobId: ok.id, type: 'cron', cronExpression: 'not a cron', enabled: false }); // disabled: not checked
    await addJob(db, { deviceId: 'bad-1', name: 'empty-paths', sourcePaths: [] });
    const cron = await addJob(db, { deviceId: 'bad-1', name: 'bad-cron', sourcePaths: ['/a'] });
    await addSchedule(db, { jobId: cron.id, type: 'cron', cronExpression: '61 * * * *' });
    const tz = await addJob(db, { deviceId: 'bad-1', name: 'bad-tz', sourcePaths: ['/a'] });
    await addSchedule(db, { jobId: tz.id, type: 'cron', cronExpression: '0 3 * * *', timezone: 'Mars/Olympus' });
    const iv = await addJob(db, { deviceId: 'bad-1', name: 'bad-interval', sourcePaths: ['/a'] });
    await addSchedule(db, { jobId: iv.id, type: 'interval', intervalSeconds: 0 });
    const args = await addJob(db, { deviceId: 'bad-1', name: 'bad-args', sourcePaths: ['/a'] });
    await db.query(`UPDATE backup_jobs SET restic_args = '["--x", 5]'::jsonb WHERE id = $1`, [args.id]);
    const dangling = await addJob(db, { deviceId: 'bad-1', name: 'bad-repo', sourcePaths: ['/a'] });
    // A dangling reference (e.g. from a partial restore): bypass the foreign key to create one.
    await db.transaction(async (tx) => {
      await tx.query('SET LOCAL session_replication_role = replica');
      await tx.query("UPDATE backup_jobs SET repository_id = '11111111-2222-3333-4444-555555555555' WHERE id = $1", [
        dangling.id,
      ]);
    });
    const cfg = await loadDeviceConfig(db, 'bad-1', NOW, OPTS);
    expect(cfg.jobs.map((j) => j.name)).toEqual(['ok']);
    expect(cfg.jobs[0]!.schedules).toHaveLength(2);
    const reasons = Object.fromEntries(cfg.invalidJobs.map((j) => [j.name, j.reason]));
    expect(Object.keys(reasons).sort()).toEqual([
      'bad-args',
      'bad-cron',
      'bad-interval',
      'bad-repo',
      'bad-tz',
      'empty-paths',
    ]);
    expect(reasons['empty-paths']).toMatch(/source_paths/);
    expect(reasons['bad-cron']).toMatch(/schedules\[id=\d+\]\.cron_expression/);
    expect(reasons['bad-tz']).toMatch(/timezone.*Mars\/Olympus/);
    expect(reasons['bad-interval']).toMatch(/interval_seconds.*got 0/);
    expect(reasons['bad-args']).toMatch(/restic_args/);
    expect(reasons['bad-repo']).toMatch(/repository_id 11111111-2222-3333-4444-555555555555/);
  });

  it('unknown device -> NOT_FOUND', async () => {
    await expect(loadDeviceConfig(getDb(), 'never-registered', NOW)).rejects.toSatisfy((e: unknown) =>
      isAppError(e, 'NOT_FOUND'),
    );
  });

  it('resolveJob by id, by (device, name); ambiguous names and unknown jobs are clear errors', async () => {
    const db = getDb();
    await upsertDevice(db, { id: 'r-1' });
    await upsertDevice(db, { id: 'r-2' });
    const a = await addJob(db, {
      deviceId: 'r-1',
      name: 'home',
      sourcePaths: ['/home'],
      id: '7b0e7a52-3c7a-4b51-9d7e-2f1f5a2b9c10',
    });
    await addJob(db, { deviceId: 'r-2', name: 'home', sourcePaths: ['/home'] });
    expect((await resolveJob(db, a.id)).deviceId).toBe('r-1');
    expect((await resolveJob(db, 'home', 'r-2')).deviceId).toBe('r-2');
    await expect(resolveJob(db, 'home')).rejects.toSatisfy((e: unknown) => isAppError(e, 'INVALID_INPUT'));
    await expect(resolveJob(db, 'nope', 'r-1')).rejects.toSatisfy((e: unknown) => isAppError(e, 'NOT_FOUND'));
    await expect(addJob(db, { deviceId: 'r-1', name: 'home', sourcePaths: ['/x'] })).rejects.toSatisfy((e: unknown) =>
      isAppError(e, 'CONFLICT'),
    );
    expect((await listJobs(db, { deviceId: 'r-1' })).map((j) => j.name)).toEqual(['home']);
  });

  it('run lifecycle: started -> completed with BIGINT stats as numbers; interrupted runs; schedule last run', async () => {
    const db = getDb();
    const job = await resolveJob(db, 'home', 'r-1');
    const sched = await addSchedule(db, { jobId: job.id, type: 'interval', intervalSeconds: 600 });
    const start = new Date('2026-03-01T10:00:00Z');
    const id = await insertRunStarted(db, {
      jobId: job.id,
      deviceId: 'r-1',
      startTime: start,
      triggeredBy: 'missed',
      clientRunId: '0b7e3a52-3c7a-4b51-9d7e-2f1f5a2b9c11',
    });
    expect(
      await insertRunStarted(db, {
        jobId: job.id,
        deviceId: 'r-1',
        startTime: start,
        triggeredBy: 'missed',
        clientRunId: '0b7e3a52-3c7a-4b51-9d7e-2f1f5a2b9c11',
      }),
    ).toBe(id);
    expect((await getRun(db, id))?.status).toBe('running');
    const big = 5_000_000_000_123;
    expect(
      await completeRun(db, id, {
        status: 'partial',
        exitCode: 3,
        snapshotId: '1a2b3c4d',
        endTime: new Date('2026-03-01T10:05:00Z'),
        durationSeconds: 300.5,
        filesNew: 2,
        dataAddedBytes: big,
        totalBytesProcessed: big,
        resticErrors: 'x',
        metadata: { unreadable: ['/a'] },
      }),
    ).toBe(true);
    const run = await getRun(db, id);
    expect(run).toMatchObject({
      status: 'partial',
      exitCode: 3,
      snapshotId: '1a2b3c4d',
      filesNew: 2,
      filesChanged: null,
      dataAddedBytes: big,
      totalBytesProcessed: big,
      durationSeconds: 300.5,
      triggeredBy: 'missed',
      endTime: '2026-03-01T10:05:00.000Z',
      metadata: { unreadable: ['/a'] },
    });
    expect(typeof run!.dataAddedBytes).toBe('number');
    const id2 = await insertRunStarted(db, {
      jobId: job.id,
      deviceId: 'r-1',
      startTime: new Date('2026-03-01T11:00:00Z'),
      triggeredBy: 'schedule',
    });
    const marked = await markInterruptedRuns(db, 'r-1', 'agent stopped unexpectedly');
    expect(marked.map((r) => r.id)).toEqual([id2]);
    expect(marked[0]).toMatchObject({ status: 'interrupted', errorMessage: 'agent stopped unexpectedly' });
    expect((await listRuns(db, { jobId: job.id, limit: 10 })).map((r) => r.id)).toEqual([id2, id]);
    expect(await listRuns(db, { deviceId: 'r-2', limit: 10 })).toEqual([]);
    const v0 = await getConfigVersion(db, 'r-1');
    expect(await updateScheduleLastRun(db, sched.id, start, new Date('2026-03-01T10:10:00Z'))).toBe(1);
    expect((await listSchedules(db, job.id))[0]).toMatchObject({
      lastRunAt: start.toISOString(),
      nextRunAt: '2026-03-01T10:10:00.000Z',
    });
    expect(await getConfigVersion(db, 'r-1')).toBe(v0); // the agent's own write-back is not a config change
    const { rows } = await db.query<{ job_id: string; status: string }>(
      'SELECT job_id, status FROM latest_runs WHERE job_id = $1',
      [job.id],
    );
    expect(rows[0]?.status).toBe('interrupted');
    const sum = await db.query<{ last_run_id: number }>('SELECT last_run_id FROM job_summary WHERE job_id = $1', [
      job.id,
    ]);
    expect(Number(sum.rows[0]?.last_run_id)).toBe(id2);
  });

  it('loadDeviceConfigVersioned returns the change marker of the same snapshot', async () => {
    const db = getDb();
    const { version } = await loadDeviceConfigVersioned(db, 'r-1', NOW, OPTS);
    expect(version).toBe(await getConfigVersion(db, 'r-1'));
    expect(version).toMatch(/^\d+\.\d+$/);
  });
});
