/**
 * Issue 15: per-device PostgreSQL roles with row-level security (migration 006), on the real
 * server: device A's role (made by createOrResetDeviceRole, as `rbackup2 device login` does) reads
 * its own job and repository password and records runs of its own job; it cannot read device B's
 * jobs or repository password, record a run for B or for B's job, write admin-only fields, or
 * change the schema. The shared role (unmapped) keeps seeing everything. On PGlite the migration
 * applies and `device login` is refused with a clear message.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  addHook,
  addJob,
  addRepository,
  migrate,
  openPglite,
  openPostgres,
  setSetting,
  upsertDevice,
  type Database,
} from '../../src/db/index.js';
import { createOrResetDeviceRole, deviceRoleName, rolePrefix } from '../../src/db/device-roles.js';
import { isAppError } from '../../src/errors.js';
import { createTempPgDatabase, freshPgliteDir } from '../helpers/databases.js';

const A = 'device-a';
const B = 'device-b';

function urlAs(url: string, user: string, password: string): string {
  const u = new URL(url);
  u.username = user;
  u.password = password;
  return u.toString();
}

describe('per-device roles on PostgreSQL', () => {
  let pgdb: Awaited<ReturnType<typeof createTempPgDatabase>>;
  let admin: Database;
  let asA: pg.Client;
  let jobA = '';
  let jobB = '';
  let repoAId = '';
  let repoBId = '';
  let role = '';

  beforeAll(async () => {
    pgdb = await createTempPgDatabase();
    admin = await openPostgres({ connectionString: pgdb.url, connectAttempts: 1 });
    await migrate(admin);
    await upsertDevice(admin, { id: A });
    await upsertDevice(admin, { id: B });
    const repoA = await addRepository(admin, { name: 'repo A', url: '/srv/a', password: 'secret-of-A' });
    const repoB = await addRepository(admin, { name: 'repo B', url: '/srv/b', password: 'secret-of-B' });
    repoAId = repoA.id;
    repoBId = repoB.id;
    jobA = (await addJob(admin, { deviceId: A, name: 'job A', sourcePaths: ['/a'], repositoryId: repoA.id })).id;
    jobB = (await addJob(admin, { deviceId: B, name: 'job B', sourcePaths: ['/b'], repositoryId: repoB.id })).id;
    await addHook(admin, { jobId: jobB, command: 'echo b', timing: 'start' });
    await setSetting(admin, { deviceId: B, key: 'max_concurrent_backups', value: '7' });
    await setSetting(admin, { deviceId: A, key: 'max_concurrent_backups', value: '2' });
    const login = await createOrResetDeviceRole(admin, A);
    role = login.role;
    asA = new pg.Client({ connectionString: urlAs(pgdb.url, login.role, login.password) });
    await asA.connect();
  });

  afterAll(async () => {
    await asA?.end();
    if (admin) {
      for (const r of (
        await admin.query<{ rolname: string }>('SELECT rolname FROM pg_roles WHERE rolname LIKE $1', [
          `${rolePrefix(pgdb.name)}%`,
        ])
      ).rows) {
        await admin.query(`DROP OWNED BY "${r.rolname}"`);
      }
      await admin.close();
    }
    await pgdb?.drop();
    const su = new pg.Client({ connectionString: pgdb.url.replace(/\/[^/]+$/, '/postgres') });
    await su.connect();
    for (const r of (
      await su.query<{ rolname: string }>('SELECT rolname FROM pg_roles WHERE rolname LIKE $1 ORDER BY rolname DESC', [
        `${rolePrefix(pgdb.name)}%`,
      ])
    ).rows) {
      await su.query(`DROP ROLE IF EXISTS "${r.rolname}"`);
    }
    await su.end();
  });

  const denied = async (sql: string, params: unknown[] = []) => {
    const err = await asA.query(sql, params).then(
      () => null,
      (e: { code?: string; message: string }) => e,
    );
    expect(err, sql).not.toBeNull();
    expect(err?.code, `${sql}: ${err?.message}`).toBe('42501');
  };

  it('the role name has the per-database prefix, fits 63 bytes and is mapped to the device', async () => {
    expect(role.startsWith(rolePrefix(pgdb.name))).toBe(true);
    expect(deviceRoleName(pgdb.name, 'x'.repeat(255)).length).toBeLessThanOrEqual(63);
    expect(deviceRoleName(pgdb.name, 'Laptop Jana')).not.toBe(deviceRoleName(pgdb.name, 'laptop-jana'));
    expect((await admin.query('SELECT device_id FROM device_roles WHERE role_name = $1', [role])).rows).toEqual([
      { device_id: A },
    ]);
  });

  it('reads its own device, job and repository password, its own and the global settings; nothing of B', async () => {
    expect((await asA.query('SELECT id FROM devices')).rows).toEqual([{ id: A }]);
    expect((await asA.query('SELECT id FROM backup_jobs')).rows).toEqual([{ id: jobA }]);
    expect((await asA.query('SELECT password FROM repositories')).rows).toEqual([{ password: 'secret-of-A' }]);
    expect((await asA.query('SELECT * FROM backup_jobs WHERE id = $1', [jobB])).rows).toEqual([]);
    expect((await asA.query('SELECT * FROM backup_hooks')).rows).toEqual([]);
    const settings = (await asA.query<{ device_id: string | null; key: string }>('SELECT device_id, key FROM settings'))
      .rows;
    expect(settings.some((s) => s.device_id === B)).toBe(false);
    expect(settings.some((s) => s.device_id === A && s.key === 'max_concurrent_backups')).toBe(true);
    expect(settings.some((s) => s.device_id === null && s.key === 'repository_password')).toBe(true);
    expect((await asA.query('SELECT DISTINCT device_id FROM job_summary')).rows).toEqual([{ device_id: A }]);
  });

  it("records a run of its own job; a run for B, or for B's job under its own id, is refused", async () => {
    const ok = await asA.query('INSERT INTO runs (job_id, device_id, start_time) VALUES ($1, $2, now()) RETURNING id', [
      jobA,
      A,
    ]);
    await asA.query("UPDATE runs SET status = 'success', end_time = now() WHERE id = $1", [ok.rows[0].id]);
    await denied('INSERT INTO runs (job_id, device_id, start_time) VALUES ($1, $2, now())', [jobB, B]);
    await denied('INSERT INTO runs (job_id, device_id, start_time) VALUES ($1, $2, now())', [jobB, A]);
    await admin.query('INSERT INTO runs (job_id, device_id, start_time) VALUES ($1, $2, now())', [jobB, B]);
    expect((await asA.query('SELECT DISTINCT device_id FROM runs')).rows).toEqual([{ device_id: A }]);
    expect((await asA.query('SELECT DISTINCT device_id FROM latest_runs')).rows).toEqual([{ device_id: A }]);
    expect((await asA.query('UPDATE runs SET status = $1 WHERE device_id = $2', ['failed', B])).rowCount).toBe(0);
    expect((await asA.query('DELETE FROM runs WHERE device_id = $1', [B])).rowCount).toBe(0);
  });

  it('issue 14: records a forget of its own job and a repository-level run only for a repository its jobs use', async () => {
    const ins = (job: string | null, repo: string | null, op: string) =>
      asA.query(
        'INSERT INTO runs (job_id, repository_id, device_id, start_time, operation) VALUES ($1, $2, $3, now(), $4) RETURNING id',
        [job, repo, A, op],
      );
    const forget = await ins(jobA, repoAId, 'forget');
    const prune = await ins(null, repoAId, 'prune');
    await asA.query("UPDATE runs SET status = 'success', end_time = now() WHERE id = ANY($1::int[])", [
      [forget.rows[0].id, prune.rows[0].id],
    ]);
    // B's repository: neither as a repository-level run nor named beside its own job.
    await denied(
      'INSERT INTO runs (job_id, repository_id, device_id, start_time, operation) VALUES (NULL, $1, $2, now(), $3)',
      [repoBId, A, 'check'],
    );
    await denied(
      'INSERT INTO runs (job_id, repository_id, device_id, start_time, operation) VALUES ($1, $2, $3, now(), $4)',
      [jobA, repoBId, A, 'forget'],
    );
    // Nor by turning one of its runs into a repository-level run of B's repository.
    await denied('UPDATE runs SET job_id = NULL, repository_id = $1 WHERE id = $2', [repoBId, forget.rows[0].id]);
    const mine = await asA.query<{ operation: string; job_id: string | null; repository_id: string | null }>(
      "SELECT operation, job_id, repository_id FROM runs WHERE operation <> 'backup' ORDER BY id",
    );
    expect(mine.rows).toEqual([
      { operation: 'forget', job_id: jobA, repository_id: repoAId },
      { operation: 'prune', job_id: null, repository_id: repoAId },
    ]);
    // The views a device reads keep meaning backups.
    expect((await asA.query("SELECT count(*)::int AS n FROM latest_runs WHERE operation <> 'backup'")).rows).toEqual([
      { n: 0 },
    ]);
  });

  it('writes its heartbeat and its own schedules and settings; the change marker still moves', async () => {
    await asA.query('UPDATE devices SET last_seen = now() WHERE id = $1', [A]);
    expect((await asA.query('UPDATE devices SET last_seen = now() WHERE id = $1', [B])).rowCount).toBe(0);
    const before = Number(
      (await admin.query('SELECT version FROM config_versions WHERE device_id = $1', [A])).rows[0]?.version ?? 0,
    );
    await asA.query("INSERT INTO schedules (job_id, schedule_type, interval_seconds) VALUES ($1, 'interval', 3600)", [
      jobA,
    ]);
    const after = Number(
      (await admin.query('SELECT version FROM config_versions WHERE device_id = $1', [A])).rows[0]?.version ?? 0,
    );
    expect(after).toBeGreaterThan(before);
    await asA.query("UPDATE settings SET value = '3' WHERE device_id = $1 AND key = 'max_concurrent_backups'", [A]);
    await denied("INSERT INTO schedules (job_id, schedule_type, interval_seconds) VALUES ($1, 'interval', 3600)", [
      jobB,
    ]);
    await denied("INSERT INTO settings (device_id, key, value) VALUES ($1, 'max_concurrent_backups', '9')", [B]);
  });

  it('cannot write admin-only fields: hooks, restic_args, repository settings, the allow switch, a foreign repository', async () => {
    await denied("INSERT INTO backup_hooks (job_id, command, timing) VALUES ($1, 'id', 'start')", [jobA]);
    await denied(`UPDATE backup_jobs SET restic_args = '["--x"]' WHERE id = $1`, [jobA]);
    await denied(
      `INSERT INTO backup_jobs (device_id, name, source_paths, restic_args) VALUES ($1, 'n', '{/}', '["--x"]')`,
      [A],
    );
    await denied("INSERT INTO settings (device_id, key, value) VALUES ($1, 'allow_local_command_changes', 'true')", [
      A,
    ]);
    await denied("INSERT INTO settings (device_id, key, value) VALUES ($1, 'repository_url', '/tmp/x')", [A]);
    const repoB = (await admin.query<{ id: string }>("SELECT id FROM repositories WHERE name = 'repo B'")).rows[0]!.id;
    await denied('UPDATE backup_jobs SET repository_id = $2 WHERE id = $1', [jobA, repoB]);
    await denied('UPDATE backup_jobs SET device_id = $2 WHERE id = $1', [jobA, B]);
    await denied('SELECT * FROM device_roles');
  });

  it('cannot change the schema', async () => {
    await denied('ALTER TABLE runs ADD COLUMN intruder int');
    await denied('CREATE TABLE intruder (id int)');
    await denied('DROP TABLE runs');
    await denied('ALTER TABLE runs DISABLE ROW LEVEL SECURITY');
    await denied('CREATE POLICY p ON runs USING (true)');
  });

  it('a reset gives a new password to the same role; the shared (unmapped) role still sees every device', async () => {
    const again = await createOrResetDeviceRole(admin, A);
    expect(again.role).toBe(role);
    expect((await admin.query<{ n: number }>('SELECT count(*)::int AS n FROM device_roles')).rows[0]?.n).toBe(1);
    expect((await admin.query<{ n: number }>('SELECT count(*)::int AS n FROM backup_jobs')).rows[0]?.n).toBe(2);
    const unknown = await createOrResetDeviceRole(admin, 'nope').catch((e: unknown) => e);
    expect(isAppError(unknown, 'NOT_FOUND')).toBe(true);
  });
});

describe('per-device roles on PGlite', () => {
  it('migration 006 applies; device login is refused with a clear message', async () => {
    const db = await openPglite(await freshPgliteDir());
    try {
      await migrate(db);
      await upsertDevice(db, { id: A });
      const err = await createOrResetDeviceRole(db, A).catch((e: unknown) => e);
      expect(isAppError(err, 'INVALID_INPUT')).toBe(true);
      expect((err as Error).message).toMatch(/embedded database/);
      expect((await db.query('SELECT count(*)::int AS n FROM device_roles')).rows[0]).toEqual({ n: 0 });
    } finally {
      await db.close();
    }
  });
});
