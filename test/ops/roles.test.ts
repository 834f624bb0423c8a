/**
 * Database roles (doc/roles.sql + doc/grants.sql, included in doc/deployment.md): the very files
 * of the documentation are run here, so doc and test cannot drift. Migrations are applied as
 * backup_admin; then a real agent runs as backup_client (PostgreSQL trust auth accepts the user
 * name) through registration, config sync, a real restic backup, heartbeats and retention, and
 * backup_client is shown unable to change the schema.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import pg from 'pg';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAgent, type Agent } from '../../src/app.js';
import { parseLocalConfig } from '../../src/config/local-config.js';
import {
  addJob,
  addRepository,
  addSchedule,
  migrate,
  openPostgres,
  setSetting,
  type Database,
} from '../../src/db/index.js';
import { deleteOldRuns } from '../../src/runs/run-history-cleanup.js';
import { createTempPgDatabase } from '../helpers/databases.js';
import { waitFor } from '../helpers/wait.js';
import { authHeader } from '../helpers/agent-auth.js';

const repoRoot = path.resolve(import.meta.dirname, '../..');
const DEVICE = 'roles-test-device';
const PASSWORD = 'roles test password';

function urlAs(url: string, user: string): string {
  const u = new URL(url);
  u.username = user;
  return u.toString();
}

async function runSqlFile(url: string, file: string): Promise<void> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    await c.query(fs.readFileSync(path.join(repoRoot, file), 'utf8'));
  } finally {
    await c.end();
  }
}

describe('database roles from doc/roles.sql and doc/grants.sql', () => {
  let tmp = '';
  let pgdb: Awaited<ReturnType<typeof createTempPgDatabase>>;
  let admin: Database;
  let client: pg.Client;
  let agent: Agent | undefined;
  const logs: string[] = [];

  beforeAll(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rbackup2-roles-'));
    pgdb = await createTempPgDatabase();
    await runSqlFile(pgdb.url, 'doc/roles.sql');
    await runSqlFile(pgdb.url, 'doc/roles.sql'); // idempotent
    const su = new pg.Client({ connectionString: pgdb.url });
    await su.connect();
    await su.query(`ALTER DATABASE ${pgdb.name} OWNER TO backup_admin`);
    await su.end();
    admin = await openPostgres({ connectionString: urlAs(pgdb.url, 'backup_admin'), connectAttempts: 1 });
    expect((await migrate(admin)).applied.length).toBeGreaterThan(0);
    await runSqlFile(pgdb.url, 'doc/grants.sql');
    await runSqlFile(pgdb.url, 'doc/grants.sql'); // idempotent
    client = new pg.Client({ connectionString: urlAs(pgdb.url, 'backup_client') });
    await client.connect();
  });

  afterAll(async () => {
    await agent?.stop('test done');
    await client?.end();
    await admin?.close();
    await pgdb?.drop();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('doc/deployment.md shows exactly the SQL files this test runs', () => {
    const doc = fs.readFileSync(path.join(repoRoot, 'doc/deployment.md'), 'utf8');
    for (const f of ['doc/roles.sql', 'doc/grants.sql'])
      expect(doc, f).toContain('```sql\n' + fs.readFileSync(path.join(repoRoot, f), 'utf8') + '```');
  });

  it('the tables belong to backup_admin (migrations ran as it)', async () => {
    const { rows } = await admin.query<{ owner: string }>(
      "SELECT DISTINCT tableowner AS owner FROM pg_tables WHERE schemaname = 'public'",
    );
    expect(rows.map((r) => r.owner)).toEqual(['backup_admin']);
  });

  it('an agent as backup_client registers, syncs, backs up, beats and prunes, with no permission error', async () => {
    const repoDir = path.join(tmp, 'repo');
    execFileSync('restic', ['init', '--repo', repoDir], {
      env: { ...process.env, RESTIC_PASSWORD: PASSWORD },
      stdio: 'pipe',
    });
    const src = path.join(tmp, 'src');
    fs.mkdirSync(src);
    fs.writeFileSync(path.join(src, 'a.txt'), 'roles\n'.repeat(100));
    await setSetting(admin, { deviceId: null, key: 'heartbeat_interval_seconds', value: '5' });

    const yaml = `device:\n  id: ${DEVICE}\ndatabase:\n  url: "${urlAs(pgdb.url, 'backup_client')}"\nclient:\n  http_bind: "127.0.0.1:0"\n  data_dir: "${path.join(tmp, 'data')}"\n  log_file: "${path.join(tmp, 'data', 'agent.log')}"\n  shutdown_timeout_seconds: 5\n`;
    const local = parseLocalConfig(yaml, path.join(tmp, 'config.yaml'), {});
    const sink = new Writable({
      write(chunk, _enc, cb) {
        if (logs.length < 20_000) logs.push(String(chunk));
        cb();
      },
    });
    agent = await startAgent({ local, logger: pino({ level: 'debug' }, sink) });

    // Registration: the row was inserted by backup_client.
    const dev = await admin.query<{ hostname: string; seen: Date }>(
      'SELECT hostname, last_seen AS seen FROM devices WHERE id = $1',
      [DEVICE],
    );
    expect(dev.rows[0]?.hostname).toBe(os.hostname());
    const firstSeen = dev.rows[0]?.seen as Date;

    // Sync: the admin adds a job; NOTIFY (or the periodic check) brings it to the agent.
    const repo = await addRepository(admin, { name: 'roles repo', url: repoDir, password: PASSWORD });
    const job = await addJob(admin, { deviceId: DEVICE, name: 'roles job', sourcePaths: [src], repositoryId: repo.id });
    await addSchedule(admin, { jobId: job.id, type: 'cron', cronExpression: '0 3 1 1 *', catchUp: false });
    const port = Number(new URL(agent.url ?? '').port);
    await waitFor('condition', async () => {
      const s = (await (
        await fetch(`http://127.0.0.1:${port}/status`, { headers: authHeader(path.join(tmp, 'data')) })
      ).json()) as { jobs: { id: string }[] };
      return s.jobs.some((j) => j.id === job.id);
    });

    // A backup, recorded by backup_client (INSERT + UPDATE runs, UPDATE schedules.last_run_at).
    const res = await fetch(`http://127.0.0.1:${port}/jobs/${job.id}/run`, {
      method: 'POST',
      headers: { ...authHeader(path.join(tmp, 'data')), 'content-type': 'application/json' },
      body: '{}',
    });
    expect(res.status).toBe(202);
    const run = await waitFor(
      'condition',
      async () =>
        (
          await admin.query<{ status: string; snapshot_id: string }>(
            "SELECT status, snapshot_id FROM runs WHERE job_id = $1 AND status <> 'running'",
            [job.id],
          )
        ).rows[0],
    );
    expect(run.status).toBe('success');
    expect(run.snapshot_id).toMatch(/^[0-9a-f]{8,64}$/);
    const sched = await admin.query<{ last: Date | null; next: Date | null }>(
      'SELECT last_run_at AS last, next_run_at AS next FROM schedules WHERE job_id = $1',
      [job.id],
    );
    expect(sched.rows[0]?.last).not.toBeNull();
    expect(sched.rows[0]?.next).not.toBeNull();

    // Notifications (migration 012): the producer, as backup_client, wrote this run's outbox rows
    // (run.started, run.succeeded) itself; without doc/grants.sql's outbox grant they would sit in
    // the local journal with a "permission denied" warning.
    const outbox = await waitFor('condition', async () => {
      const r = await admin.query<{ event: string }>(
        'SELECT event FROM notification_outbox WHERE device_id = $1 ORDER BY event',
        [DEVICE],
      );
      return r.rows.length >= 2 ? r.rows.map((x) => x.event) : null;
    });
    expect(outbox).toEqual(['run.started', 'run.succeeded']);
    expect((await client.query('SELECT count(*)::int AS n FROM leases')).rows[0].n).toBeGreaterThanOrEqual(0);

    // Heartbeat every 5 s (the minimum): last_seen moves.
    await waitFor(
      'condition',
      async () => {
        const r = await admin.query<{ seen: Date }>('SELECT last_seen AS seen FROM devices WHERE id = $1', [DEVICE]);
        return (r.rows[0]?.seen.getTime() ?? 0) > firstSeen.getTime();
      },
      20_000,
    );

    // Retention as backup_client: allowed, with the marker row that grants.sql created.
    const ownDb = await openPostgres({ connectionString: urlAs(pgdb.url, 'backup_client'), connectAttempts: 1 });
    try {
      await admin.query(
        "INSERT INTO runs (job_id, device_id, start_time, status) VALUES ($1, $2, now() - interval '400 days', 'failed')",
        [job.id, DEVICE],
      );
      expect(await deleteOldRuns(ownDb)).toEqual({ outcome: 'deleted', deleted: 1, marker: true });
    } finally {
      await ownDb.close();
    }
    const all = logs.join('');
    expect(all).not.toMatch(/permission denied|42501/i);
  }, 120_000);

  it('backup_client cannot change the schema or the config', async () => {
    const denied = async (sql: string) => {
      const err = await client.query(sql).then(
        () => null,
        (e: { code?: string; message: string }) => e,
      );
      expect(err, sql).not.toBeNull();
      expect(err?.code, `${sql}: ${err?.message}`).toBe('42501');
      return err?.message ?? '';
    };
    expect(await denied('CREATE TABLE intruder (id int)')).toMatch(/permission denied for schema public/);
    expect(await denied('ALTER TABLE runs ADD COLUMN intruder int')).toMatch(/must be owner/);
    await denied('DROP TABLE runs');
    await denied('CREATE INDEX intruder ON runs (status)');
    await denied("UPDATE settings SET value = 'rest:http://evil/' WHERE key = 'repository_url'");
    await denied("INSERT INTO settings (device_id, key, value) VALUES (NULL, 'x', 'y')");
    await denied("UPDATE backup_jobs SET source_paths = ARRAY['/'] ");
    await denied('DELETE FROM devices');
    // Channel configs hold secrets (webhook HMAC secret, SMTP password): an agent never reads them.
    await denied('SELECT config FROM notification_channels');
    await denied('SELECT * FROM notification_deliveries');
    await denied('DELETE FROM notification_outbox');
  });

  it('backup_viewer reads history but no repository secret or setting value', async () => {
    const viewer = new pg.Client({ connectionString: urlAs(pgdb.url, 'backup_viewer') });
    await viewer.connect();
    try {
      const runs = await viewer.query('SELECT count(*)::int AS n FROM runs');
      expect(runs.rows[0].n).toBeGreaterThan(0);
      expect((await viewer.query('SELECT job_name, last_run_status FROM job_summary')).rows[0]).toMatchObject({
        job_name: 'roles job',
        last_run_status: 'success',
      });
      expect((await viewer.query('SELECT name FROM repositories')).rows).toEqual([{ name: 'roles repo' }]);
      for (const sql of [
        'SELECT password FROM repositories',
        'SELECT url FROM repositories',
        'SELECT value FROM settings',
        'DELETE FROM runs',
        'CREATE TABLE t (a int)',
      ]) {
        const err = await viewer.query(sql).then(
          () => null,
          (e: { code?: string }) => e,
        );
        expect(err?.code, sql).toBe('42501');
      }
    } finally {
      await viewer.end();
    }
  });
});
