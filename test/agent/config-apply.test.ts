import { beforeAll, describe, expect, it } from 'vitest';
import { applyConfigChange, readConfigView } from '../../src/agent/config-apply.js';
import { REDACTED, type ConfigChange } from '../../src/api/config-schema.js';
import type { Database } from '../../src/db/database.js';
import { loadDeviceConfig } from '../../src/db/device-config-query.js';
import { migrate } from '../../src/db/migrate.js';
import { upsertDevice } from '../../src/db/queries/devices.js';
import { addJob } from '../../src/db/queries/jobs.js';
import { addRepository } from '../../src/db/queries/repositories.js';
import { addHook, addSchedule, listHooks, listSchedules } from '../../src/db/queries/schedules.js';
import { setSetting } from '../../src/db/queries/settings.js';
import { forEachDatabase } from '../helpers/databases.js';

const PASSWORD = 'pa$$ w0rd"\'`;#';
const DEV = 'dev-a';
const OTHER = 'dev-b';

/** The raw change as the route hands it over (the schema fills defaults again inside). */
const change = (c: unknown): ConfigChange => c as ConfigChange;

async function counts(db: Database): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const t of ['backup_jobs', 'schedules', 'backup_hooks', 'settings']) {
    const { rows } = await db.query<{ n: unknown }>(`SELECT count(*) AS n FROM ${t}`);
    out[t] = Number(rows[0]?.n);
  }
  return out;
}

async function deviceSetting(db: Database, key: string): Promise<string | null> {
  const { rows } = await db.query<{ value: string }>('SELECT value FROM settings WHERE device_id = $1 AND key = $2', [
    DEV,
    key,
  ]);
  return rows[0]?.value ?? null;
}

forEachDatabase('config-apply', (getDb) => {
  let repoId = '';
  let foreignJob = '';
  beforeAll(async () => {
    const db = getDb();
    await migrate(db);
    await upsertDevice(db, { id: DEV, name: 'Device A' });
    await upsertDevice(db, { id: OTHER, name: 'Device B' });
    repoId = (
      await addRepository(db, {
        name: 'nas',
        url: '/srv/restic',
        password: PASSWORD,
        env: { AWS_SECRET_ACCESS_KEY: 'aws-sekret' },
      })
    ).id;
    await setSetting(db, { deviceId: null, key: 'repository_password', value: PASSWORD });
    await setSetting(db, { deviceId: DEV, key: 'repository_password', value: `${PASSWORD}-device` });
    // These tests write hooks and restic_args: the admin allows it (refusal is tested in test/api/real-agent.test.ts, C36).
    await setSetting(db, { deviceId: null, key: 'allow_local_command_changes', value: 'true' });
    foreignJob = (await addJob(db, { deviceId: OTHER, name: 'Foreign', sourcePaths: ['/b'] })).id;
    await addSchedule(db, { jobId: foreignJob, type: 'interval', intervalSeconds: 3600 });
  });

  it('creates a job with schedules and hooks; readConfigView shows it in snake_case and the loader accepts it', async () => {
    const db = getDb();
    const r = await applyConfigChange(
      db,
      DEV,
      change({
        jobs: [
          {
            name: 'Photos',
            source_paths: ['/srv/Fotomateriály/Rok 2024'],
            exclude_patterns: ['*.tmp'],
            tags: ['photos'],
            restic_args: ['--one-file-system'],
            repository_id: repoId,
            schedules: [
              { schedule_type: 'cron', cron_expression: '30 2 * * *', timezone: 'Europe/Prague' },
              { schedule_type: 'interval', interval_seconds: 21600, catch_up: false },
            ],
            hooks: [{ command: '/usr/local/bin/pre.sh', timing: 'start', on_error: 'stop' }],
          },
        ],
      }),
    );
    expect(r).toEqual({ ok: true });
    const view = await readConfigView(db, DEV);
    expect(view.device).toEqual({ id: DEV, name: 'Device A' });
    expect(view.jobs).toHaveLength(1);
    const job = view.jobs[0]!;
    expect(job).toMatchObject({
      name: 'Photos',
      description: null,
      source_paths: ['/srv/Fotomateriály/Rok 2024'],
      exclude_patterns: ['*.tmp'],
      tags: ['photos'],
      restic_args: ['--one-file-system'],
      repository_id: repoId,
      enabled: true,
      schedules: [
        expect.objectContaining({
          schedule_type: 'cron',
          cron_expression: '30 2 * * *',
          timezone: 'Europe/Prague',
          interval_seconds: null,
          catch_up: true,
          enabled: true,
        }),
        expect.objectContaining({
          schedule_type: 'interval',
          interval_seconds: 21600,
          cron_expression: null,
          catch_up: false,
        }),
      ],
      hooks: [
        expect.objectContaining({ command: '/usr/local/bin/pre.sh', timing: 'start', on_error: 'stop', enabled: true }),
      ],
    });
    const cfg = await loadDeviceConfig(db, DEV, new Date(), { localZone: 'UTC' });
    expect(cfg.invalidJobs).toEqual([]);
    expect(cfg.jobs.map((j) => [j.name, j.schedules.length, j.hooks.length])).toEqual([['Photos', 2, 1]]);
  });

  it('updates only the given fields; a schedule given with id is replaced whole, others stay', async () => {
    const db = getDb();
    const before = (await readConfigView(db, DEV)).jobs[0]!;
    const [cronSched, intervalSched] = before.schedules as { id: number }[];
    const r = await applyConfigChange(
      db,
      DEV,
      change({
        jobs: [
          {
            id: before.id,
            enabled: false,
            description: 'nightly',
            schedules: [{ id: cronSched!.id, schedule_type: 'interval', interval_seconds: 7200 }],
          },
        ],
      }),
    );
    expect(r).toEqual({ ok: true });
    const after = (await readConfigView(db, DEV)).jobs[0]!;
    expect(after).toMatchObject({
      id: before.id,
      name: 'Photos',
      enabled: false,
      description: 'nightly',
      source_paths: before.source_paths,
      tags: ['photos'],
      repository_id: repoId,
    });
    expect(after.schedules).toEqual([
      expect.objectContaining({
        id: cronSched!.id,
        schedule_type: 'interval',
        interval_seconds: 7200,
        cron_expression: null,
        timezone: null,
      }),
      expect.objectContaining({ id: intervalSched!.id, interval_seconds: 21600 }),
    ]);
  });

  it('deletes a schedule, a hook and then the job', async () => {
    const db = getDb();
    const job = (await readConfigView(db, DEV)).jobs[0]!;
    const scheds = job.schedules as { id: number }[];
    const hooks = job.hooks as { id: number }[];
    expect(
      await applyConfigChange(db, DEV, change({ delete_schedules: [scheds[0]!.id], delete_hooks: [hooks[0]!.id] })),
    ).toEqual({ ok: true });
    expect((await listSchedules(db, String(job.id))).map((s) => s.id)).toEqual([scheds[1]!.id]);
    expect(await listHooks(db, String(job.id))).toEqual([]);
    expect(await applyConfigChange(db, DEV, change({ delete_jobs: [job.id] }))).toEqual({ ok: true });
    expect((await readConfigView(db, DEV)).jobs).toEqual([]);
    expect(await listSchedules(db, String(job.id))).toEqual([]);
  });

  it('sets and removes device settings; REDACTED keeps the stored secret', async () => {
    const db = getDb();
    expect(
      await applyConfigChange(
        db,
        DEV,
        change({ settings: { max_concurrent_backups: '2', repository_password: REDACTED } }),
      ),
    ).toEqual({ ok: true });
    expect(await deviceSetting(db, 'max_concurrent_backups')).toBe('2');
    expect(await deviceSetting(db, 'repository_password')).toBe(`${PASSWORD}-device`);
    let view = await readConfigView(db, DEV);
    expect(view.settings).toMatchObject({
      max_concurrent_backups: '2',
      repository_password: REDACTED,
      sync_interval_seconds: '300',
    });
    expect(await applyConfigChange(db, DEV, change({ settings: { max_concurrent_backups: null } }))).toEqual({
      ok: true,
    });
    expect(await deviceSetting(db, 'max_concurrent_backups')).toBeNull();
    view = await readConfigView(db, DEV);
    expect(view.settings.max_concurrent_backups).toBe('1'); // back to the global default
    expect(await applyConfigChange(db, DEV, change({ settings: { max_concurrent_backups: 'many' } }))).toEqual({
      ok: false,
      errors: [
        {
          field: 'settings.max_concurrent_backups',
          message: 'setting max_concurrent_backups must be a whole number from 1 to 64 (got "many")',
        },
      ],
    });
  });

  it("refuses another device's job, schedule and deletes with field errors and writes nothing", async () => {
    const db = getDb();
    const own = await addJob(db, { deviceId: DEV, name: 'Docs', sourcePaths: ['/docs'] });
    const ownSched = await addSchedule(db, { jobId: own.id, type: 'interval', intervalSeconds: 600 });
    await addHook(db, { jobId: own.id, command: 'true', timing: 'end' });
    const [foreignSched] = await listSchedules(db, foreignJob);
    const before = await counts(db);
    const r = await applyConfigChange(
      db,
      DEV,
      change({
        jobs: [
          {
            name: 'New one',
            source_paths: ['/new'],
            schedules: [{ schedule_type: 'interval', interval_seconds: 600 }],
          },
          { id: foreignJob, enabled: false },
          {
            id: own.id,
            name: 'Docs',
            schedules: [
              { id: foreignSched!.id, schedule_type: 'interval', interval_seconds: 60 },
              { id: ownSched.id, schedule_type: 'interval', interval_seconds: 60 },
            ],
          },
          { name: 'Docs', source_paths: ['/dup'] },
          { name: 'Other repo', source_paths: ['/x'], repository_id: '00000000-0000-4000-8000-000000000000' },
        ],
        delete_jobs: [foreignJob],
        delete_schedules: [foreignSched!.id],
        settings: { max_concurrent_backups: '4' },
      }),
    );
    expect(r.ok).toBe(false);
    const fields = r.ok ? [] : r.errors.map((e) => e.field).sort();
    expect(fields).toEqual(
      [
        'delete_jobs[0]',
        'delete_schedules[0]',
        'jobs[1].id',
        'jobs[2].schedules[0].id',
        'jobs[3].name',
        'jobs[4].repository_id',
      ].sort(),
    );
    expect(await counts(db)).toEqual(before);
    expect(await deviceSetting(db, 'max_concurrent_backups')).toBeNull();
    const foreign = await db.query<{ enabled: boolean }>('SELECT enabled FROM backup_jobs WHERE id = $1', [foreignJob]);
    expect(foreign.rows[0]?.enabled).toBe(true);
    expect((await listSchedules(db, foreignJob))[0]?.intervalSeconds).toBe(3600);
  });

  it('renaming two jobs onto one name (or swapping names) is refused; a schema error is returned as a field error', async () => {
    const db = getDb();
    const a = await addJob(db, { deviceId: DEV, name: 'A', sourcePaths: ['/a'] });
    const b = await addJob(db, { deviceId: DEV, name: 'B', sourcePaths: ['/b'] });
    const r = await applyConfigChange(
      db,
      DEV,
      change({
        jobs: [
          { id: a.id, name: 'Same' },
          { id: b.id, name: 'Same' },
        ],
      }),
    );
    expect(r.ok ? [] : r.errors.map((e) => e.field)).toEqual(['jobs[0].name', 'jobs[1].name']);
    // a swap passes the checks but meets the unique (device, name) index mid-write: refused, rolled back
    const swap = await applyConfigChange(
      db,
      DEV,
      change({
        jobs: [
          { id: a.id, name: 'B', enabled: false },
          { id: b.id, name: 'A' },
        ],
      }),
    );
    expect(swap.ok ? [] : swap.errors.map((e) => e.field)).toEqual(['jobs[0].name']);
    const stored = await db.query<{ name: string; enabled: boolean }>(
      'SELECT name, enabled FROM backup_jobs WHERE id = $1',
      [a.id],
    );
    expect(stored.rows[0]).toEqual({ name: 'A', enabled: true });
    const bad = await applyConfigChange(db, DEV, change({ jobs: [{ id: a.id, tags: ['x,y'] }] }));
    expect(bad.ok ? [] : bad.errors.map((e) => e.field)).toEqual(['jobs[0].tags[0]']);
    const names = (await readConfigView(db, DEV)).jobs.map((j) => j.name);
    expect(names).toEqual(expect.arrayContaining(['A', 'B']));
  });

  it('readConfigView never contains a password or env secret', async () => {
    const db = getDb();
    const view = await readConfigView(db, DEV);
    const text = JSON.stringify(view);
    expect(text).not.toContain(PASSWORD);
    expect(text).not.toContain('pa$$');
    expect(text).not.toContain('aws-sekret');
    expect(view.repositories).toEqual([
      expect.objectContaining({
        id: repoId,
        name: 'nas',
        url: '/srv/restic',
        password: REDACTED,
        env: { AWS_SECRET_ACCESS_KEY: REDACTED },
      }),
    ]);
    expect(view.settings.repository_password).toBe(REDACTED);
    expect(view.settings.repository_url).toBe(''); // not a secret, shown as is
  });
});

describe('config-apply without a database', () => {
  it('an empty change is fine and touches nothing', async () => {
    const calls: string[] = [];
    const db = {
      kind: 'postgres',
      query: async () => {
        calls.push('query');
        return { rows: [], rowCount: 0 };
      },
      transaction: async <T>(fn: (tx: Database) => Promise<T>) => fn(db as unknown as Database),
    } as unknown as Database;
    expect(await applyConfigChange(db, DEV, change({}))).toEqual({ ok: true });
    expect(calls.length).toBeGreaterThan(0); // reads ownership inside the transaction
  });
});
