import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/database.js';
import { applyImportPlan, type ApplyCounts } from '../../src/relica/apply.js';
import { formatPlan } from '../../src/relica/dry-run-table.js';
import { planImport } from '../../src/relica/plan.js';
import { openPgliteTestDb, openPostgresTestDb, type TestDb } from './db-harness.js';
import { loadSample } from './fixture.js';

const DEST = 'cb871492-76dc-4683-8ecd-d9a6c84ae798';
const CLOUD = '214d5118-bc3a-4927-989a-a90ae144f47a';
const counts = (c: Partial<ApplyCounts>): ApplyCounts => ({
  devices: 0,
  repositories: 0,
  jobs: 0,
  schedules: 0,
  hooks: 0,
  ...c,
});
const NONE = counts({});
const withRepo = {
  repositoryUrl: 'sftp:backup_user@backup.example.com:/data/backups/relica',
  password: { kind: 'file' as const, path: '/etc/rbackup2/repo.pw' },
};

/** Every row of every table the import may write, plus the config change counters. */
async function snapshot(db: Database): Promise<Record<string, unknown[]>> {
  const out: Record<string, unknown[]> = {};
  for (const [t, order] of [
    ['devices', 'id'],
    ['repositories', 'id'],
    ['backup_jobs', 'id'],
    ['schedules', 'id'],
    ['backup_hooks', 'id'],
    ['settings', 'id'],
    ['config_versions', 'device_id'],
  ]) {
    out[t as string] = (await db.query(`SELECT * FROM ${t} ORDER BY ${order}`)).rows;
  }
  return out;
}

describe.each([
  ['PostgreSQL', openPostgresTestDb],
  ['PGlite', openPgliteTestDb],
])('applyImportPlan on %s', (_kind, open) => {
  let t: TestDb;
  beforeAll(async () => {
    t = await open();
  });
  afterAll(async () => {
    await t?.dispose();
  });

  it('refuses to import without any repository and writes nothing', async () => {
    const before = await snapshot(t.db);
    await expect(applyImportPlan(t.db, planImport(loadSample(), 'device1'))).rejects.toMatchObject({
      code: 'INVALID_INPUT',
      message: expect.stringContaining('no restic repository is configured for device "device1"'),
    });
    expect(await snapshot(t.db)).toEqual(before);
  });

  it('uses the repository_url setting when no URL is given (jobs keep repository_id NULL)', async () => {
    await t.db.query("UPDATE settings SET value = '/srv/restic' WHERE key = 'repository_url' AND device_id IS NULL");
    const r = await applyImportPlan(t.db, planImport(loadSample(), 'device1'));
    expect(r.created).toEqual(counts({ devices: 1, jobs: 4, schedules: 4, hooks: 2 }));
    const jobs = await t.db.query<{ name: string; repository_id: string | null; source_paths: string[] }>(
      "SELECT name, repository_id, source_paths FROM backup_jobs WHERE device_id = 'f213f03b-c8e1-47a5-8bf5-f7c8dd76217d' ORDER BY created_at, name",
    );
    expect(jobs.rows.every((j) => j.repository_id === null)).toBe(true);
    expect(jobs.rows.find((j) => j.name === 'device1/Zpěvníky')?.source_paths).toEqual(['/data/Zpěvníky']);
    await t.db.query("UPDATE settings SET value = '' WHERE key = 'repository_url' AND device_id IS NULL");
  });

  it('creates device, repository, jobs, schedules and hooks field by field', async () => {
    const r = await applyImportPlan(t.db, planImport(loadSample(), 'cloud', withRepo));
    expect(r).toEqual({
      created: counts({ devices: 1, repositories: 1, jobs: 2, schedules: 2, hooks: 2 }),
      updated: NONE,
      deleted: NONE,
      unchanged: NONE,
    });
    const dev = await t.db.query('SELECT id, name, platform, enabled, metadata FROM devices WHERE id = $1', [CLOUD]);
    expect(dev.rows).toEqual([
      {
        id: CLOUD,
        name: 'cloud',
        platform: 'linux',
        enabled: true,
        metadata: { relica: { origin_id: CLOUD, origin_name: 'cloud' } },
      },
    ]);
    const repo = await t.db.query('SELECT id, name, url, password, password_file, password_command FROM repositories');
    expect(repo.rows).toEqual([
      {
        id: DEST,
        name: 'relica/Cloud',
        url: withRepo.repositoryUrl,
        password: null,
        password_file: '/etc/rbackup2/repo.pw',
        password_command: null,
      },
    ]);
    const jobs = await t.db.query(
      `SELECT id, device_id, name, source_paths, exclude_patterns, tags, repository_id, enabled, origin_name, origin_id, account_id,
      metadata->'relica'->>'created' AS created FROM backup_jobs WHERE device_id = $1 ORDER BY name`,
      [CLOUD],
    );
    expect(jobs.rows).toEqual([
      {
        id: '2ac41143-fd87-4c5d-b2d4-213eb5b6c42e',
        device_id: CLOUD,
        name: 'cloud/backups',
        source_paths: ['/data/backups', '/data/bitwarden/bwdata/mssql/backups'],
        exclude_patterns: [],
        tags: [],
        repository_id: DEST,
        enabled: true,
        origin_name: 'cloud',
        origin_id: CLOUD,
        account_id: '003dbcee-4f0a-4a55-a7bb-a6511b263558',
        created: '2020-12-09T21:19:21.476902Z',
      },
      {
        id: 'd39816ce-432a-48fb-a760-ff357fd39bde',
        device_id: CLOUD,
        name: 'cloud/home',
        source_paths: ['/home/user'],
        exclude_patterns: ['/home/user/.gradle', '/home/user/.cache', '/home/user/.config'],
        tags: [],
        repository_id: DEST,
        enabled: true,
        origin_name: 'cloud',
        origin_id: CLOUD,
        account_id: '003dbcee-4f0a-4a55-a7bb-a6511b263558',
        created: '2022-05-09T13:07:30.165149Z',
      },
    ]);
    const sched = await t.db.query(
      `SELECT j.name, s.schedule_type, s.cron_expression, s.interval_seconds, s.timezone, s.catch_up, s.enabled,
      to_char(s.last_run_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS') AS last_run, s.metadata
      FROM schedules s JOIN backup_jobs j ON j.id = s.job_id WHERE j.device_id = $1 ORDER BY j.name`,
      [CLOUD],
    );
    expect(sched.rows).toEqual([
      {
        name: 'cloud/backups',
        schedule_type: 'cron',
        cron_expression: '0 3 * * 1,3,5',
        interval_seconds: null,
        timezone: null,
        catch_up: true,
        enabled: true,
        last_run: '2025-12-15T03:01:07.580',
        metadata: { source: 'relica', time_of_day: '03:00' },
      },
      {
        name: 'cloud/home',
        schedule_type: 'cron',
        cron_expression: '0 1 * * 1,4',
        interval_seconds: null,
        timezone: null,
        catch_up: true,
        enabled: true,
        last_run: '2025-12-15T01:00:59.596',
        metadata: { source: 'relica', time_of_day: '01:00' },
      },
    ]);
    const hooks = await t.db.query(
      'SELECT h.command, h.timing, h.on_error, h.enabled FROM backup_hooks h JOIN backup_jobs j ON j.id = h.job_id WHERE j.device_id = $1 ORDER BY j.name',
      [CLOUD],
    );
    expect(hooks.rows).toEqual([
      {
        command: '/etc/cloud-config/scripts/endpoint-watcher cloud relica-backup-end backups',
        timing: 'end',
        on_error: 'stop',
        enabled: true,
      },
      {
        command: '/etc/cloud-config/scripts/endpoint-watcher cloud relica-backup-end home',
        timing: 'end',
        on_error: 'stop',
        enabled: true,
      },
    ]);
  });

  it('a second import of the same file changes nothing: all unchanged, rows and updated_at identical, no config bump', async () => {
    const before = await snapshot(t.db);
    const r = await applyImportPlan(t.db, planImport(loadSample(), 'cloud', withRepo));
    expect(r).toEqual({
      created: NONE,
      updated: NONE,
      deleted: NONE,
      unchanged: counts({ devices: 1, repositories: 1, jobs: 2, schedules: 2, hooks: 2 }),
    });
    const again = await applyImportPlan(t.db, planImport(loadSample(), 'device1'));
    expect(again.unchanged).toEqual(counts({ devices: 1, jobs: 4, schedules: 4, hooks: 2 }));
    expect(await snapshot(t.db)).toEqual(before);
  });

  it('C14 imports Windows paths and non-ASCII names exactly, reusing the repository of an earlier import', async () => {
    const r = await applyImportPlan(t.db, planImport(loadSample(), 'device4'));
    expect(r.created).toEqual(counts({ devices: 1, jobs: 3, schedules: 3 }));
    const rows = await t.db.query<{ name: string; source_paths: string[]; repository_id: string }>(
      "SELECT name, source_paths, repository_id FROM backup_jobs WHERE origin_name = 'device4' ORDER BY created_at, name",
    );
    expect(rows.rows.map((x) => [x.name, x.source_paths, x.repository_id])).toEqual([
      ['device4/Dokumenty', ['C:\\Users\\User2\\Documents', 'C:\\Users\\User3\\Documents'], DEST],
      ['device4/Fotky', ['D:\\User2 fotky', 'D:\\Photos2'], DEST],
      ['device4/ÚČTO', ['C:\\UCTO2020'], DEST],
    ]);
    expect((await applyImportPlan(t.db, planImport(loadSample(), 'device4'))).unchanged.jobs).toBe(3);
  });

  it('a changed state file updates only what differs; admin schedules, flags and newer run times stay', async () => {
    const home = 'd39816ce-432a-48fb-a760-ff357fd39bde';
    await t.db.query(
      "INSERT INTO schedules (job_id, schedule_type, interval_seconds, catch_up) VALUES ($1, 'interval', 3600, false)",
      [home],
    );
    await t.db.query("UPDATE backup_jobs SET enabled = false, tags = ARRAY['admin'] WHERE id = $1", [home]);
    await t.db.query(
      "UPDATE schedules SET last_run_at = '2030-01-01T00:00:00Z' WHERE job_id = '2ac41143-fd87-4c5d-b2d4-213eb5b6c42e'",
    );
    const edited = loadSample((j) => {
      const b = j.read_only.backups[10];
      b.schedule.times_of_day = ['02:00'];
      b.hooks[0].on_error = 'continue';
      b.include.push('/srv/Fotomateriály/Rok 2024');
      j.local.last_backups_done[home][DEST] = '2025-12-16T01:00:00Z';
    });
    const r = await applyImportPlan(t.db, planImport(edited, 'cloud', withRepo));
    expect(r).toEqual({
      created: counts({ schedules: 1 }),
      updated: counts({ jobs: 1, hooks: 1 }),
      deleted: counts({ schedules: 1 }),
      unchanged: counts({ devices: 1, repositories: 1, jobs: 1, schedules: 1, hooks: 1 }),
    });
    const job = await t.db.query('SELECT source_paths, enabled, tags FROM backup_jobs WHERE id = $1', [home]);
    expect(job.rows).toEqual([
      { source_paths: ['/home/user', '/srv/Fotomateriály/Rok 2024'], enabled: false, tags: ['admin'] },
    ]);
    const sched = await t.db.query(
      `SELECT schedule_type, cron_expression, interval_seconds, metadata->>'source' AS source,
      to_char(last_run_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI') AS last_run FROM schedules WHERE job_id = $1 ORDER BY id`,
      [home],
    );
    expect(sched.rows).toEqual([
      { schedule_type: 'interval', cron_expression: null, interval_seconds: 3600, source: null, last_run: null },
      {
        schedule_type: 'cron',
        cron_expression: '0 2 * * 1,4',
        interval_seconds: null,
        source: 'relica',
        last_run: '2025-12-16 01:00',
      },
    ]);
    const kept = await t.db.query(
      "SELECT to_char(last_run_at AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS d FROM schedules WHERE job_id = '2ac41143-fd87-4c5d-b2d4-213eb5b6c42e'",
    );
    expect(kept.rows).toEqual([{ d: '2030-01-01' }]);
    const hook = await t.db.query('SELECT on_error FROM backup_hooks WHERE job_id = $1', [home]);
    expect(hook.rows).toEqual([{ on_error: 'continue' }]);
  });

  it('stops on a job name taken by another job and rolls everything back', async () => {
    await t.db.query("INSERT INTO devices (id, name) VALUES ('32ed6434-d17e-44be-a1de-260c6bec9452', 'homepc')");
    await t.db.query(
      "INSERT INTO backup_jobs (device_id, name, source_paths) VALUES ('32ed6434-d17e-44be-a1de-260c6bec9452', 'homepc/davinci', ARRAY['/x'])",
    );
    const before = await snapshot(t.db);
    await expect(applyImportPlan(t.db, planImport(loadSample(), 'device2'))).rejects.toMatchObject({
      code: 'CONFLICT',
      message: expect.stringMatching(
        /^job name "homepc\/davinci" is already used on device 32ed6434-.* by job [0-9a-f-]{36}; rename or remove that job first$/,
      ),
    });
    expect(await snapshot(t.db)).toEqual(before);
  });

  it('the dry-run path (plan and table) writes nothing', async () => {
    const before = await snapshot(t.db);
    const text = formatPlan(planImport(loadSample(), 'device2', withRepo));
    expect(text).toContain('homepc/davinci');
    expect(await snapshot(t.db)).toEqual(before);
  });
});
