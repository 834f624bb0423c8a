import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { migrate, defaultMigrationsDir, readMigrations } from '../../src/db/migrate.js';
import { openPostgres } from '../../src/db/postgres.js';
import { DEFAULT_SETTINGS } from '../../src/config/device-config.js';
import { isAppError } from '../../src/errors.js';
import { createTempPgDatabase, forEachDatabase, resetSchema } from '../helpers/databases.js';

const ALL = readMigrations(defaultMigrationsDir()).map((m) => m.version);

/** Every table/column and view of CONTRACTS §3. */
const CONTRACT_COLUMNS: Record<string, string[]> = {
  devices: [
    'id',
    'name',
    'description',
    'platform',
    'hostname',
    'last_seen',
    'created_at',
    'updated_at',
    'enabled',
    'metadata',
  ],
  repositories: [
    'id',
    'name',
    'url',
    'password',
    'password_file',
    'password_command',
    'cache_dir',
    'env',
    'created_at',
    'updated_at',
  ],
  backup_jobs: [
    'id',
    'device_id',
    'name',
    'description',
    'source_paths',
    'exclude_patterns',
    'tags',
    'restic_args',
    'repository_id',
    'enabled',
    'created_at',
    'updated_at',
    'metadata',
    'origin_name',
    'origin_id',
    'account_id',
  ],
  schedules: [
    'id',
    'job_id',
    'schedule_type',
    'cron_expression',
    'interval_seconds',
    'timezone',
    'catch_up',
    'enabled',
    'last_run_at',
    'next_run_at',
    'created_at',
    'updated_at',
    'metadata',
  ],
  runs: [
    'id',
    'job_id',
    'device_id',
    'start_time',
    'end_time',
    'status',
    'exit_code',
    'error_message',
    'files_new',
    'files_changed',
    'files_unmodified',
    'dirs_new',
    'dirs_changed',
    'dirs_unmodified',
    'data_added_bytes',
    'total_files_processed',
    'total_bytes_processed',
    'duration_seconds',
    'snapshot_id',
    'restic_output',
    'restic_errors',
    'triggered_by',
    'created_at',
    'metadata',
    'operation',
    'repository_id',
  ],
  settings: ['id', 'device_id', 'key', 'value', 'description', 'created_at', 'updated_at'],
  backup_hooks: ['id', 'job_id', 'command', 'timing', 'on_error', 'enabled'],
};

forEachDatabase('migrations', (getDb) => {
  it('apply every migration to an empty database, then nothing the second time', async () => {
    const db = getDb();
    await resetSchema(db);
    expect(ALL).toEqual([
      '001_initial_schema',
      '002_initial_data',
      '003_views',
      '004_config_change_marker',
      '005_run_owner',
      '006_device_roles',
      '007_heartbeat_without_triggers',
      '008_run_operations',
      '011_retention_maintenance',
      '012_notifications',
      '013_outbox_order',
    ]);
    expect((await migrate(db)).applied).toEqual(ALL);
    const second = await migrate(db);
    expect(second.applied).toEqual([]);
    const { rows } = await db.query<{ version: string }>('SELECT version FROM schema_migrations ORDER BY version');
    expect(rows.map((r) => r.version)).toEqual(ALL);
  });

  it('the schema has every table, column and view of CONTRACTS §3, with TIMESTAMPTZ timestamps', async () => {
    const db = getDb();
    const { rows } = await db.query<{ table_name: string; column_name: string; data_type: string }>(
      "SELECT table_name, column_name, data_type FROM information_schema.columns WHERE table_schema = 'public'",
    );
    for (const [table, cols] of Object.entries(CONTRACT_COLUMNS)) {
      const have = rows.filter((r) => r.table_name === table).map((r) => r.column_name);
      expect(have, table).toEqual(expect.arrayContaining(cols));
    }
    const ts = rows.filter(
      (r) => /(_at|_time|last_seen)$/.test(r.column_name) && Object.keys(CONTRACT_COLUMNS).includes(r.table_name),
    );
    expect(ts.length).toBeGreaterThan(10);
    for (const c of ts) expect(c.data_type, `${c.table_name}.${c.column_name}`).toBe('timestamp with time zone');
    const views = await db.query<{ table_name: string }>(
      "SELECT table_name FROM information_schema.views WHERE table_schema = 'public'",
    );
    expect(views.rows.map((v) => v.table_name).sort()).toEqual(['job_summary', 'latest_runs']);
    const big = rows.filter(
      (r) => r.table_name === 'runs' && ['data_added_bytes', 'total_bytes_processed'].includes(r.column_name),
    );
    expect(big.map((r) => r.data_type)).toEqual(['bigint', 'bigint']);
  });

  it('default global settings are inserted, each with the value the agent defaults to', async () => {
    const { rows } = await getDb().query<{ key: string; value: string }>(
      'SELECT key, value FROM settings WHERE device_id IS NULL',
    );
    const s = Object.fromEntries(rows.map((r) => [r.key, r.value]));
    // The keys the first migration inserts; their values must be the agent's own defaults
    // (DEFAULT_SETTINGS), so a database and an agent without a row agree.
    const inserted = [
      'sync_interval_seconds',
      'max_concurrent_backups',
      'run_retention_days',
      'repository_url',
      'repository_password',
      'repository_cache_dir',
      'missed_run_grace_seconds',
      'retry_delay_seconds',
      'retry_max_attempts',
      'heartbeat_interval_seconds',
      'stall_timeout_seconds',
      'backup_timeout_seconds',
    ];
    expect(s).toMatchObject(Object.fromEntries(inserted.map((k) => [k, DEFAULT_SETTINGS[k]])));
    for (const [k, v] of Object.entries(s)) expect(v, k).toBe(DEFAULT_SETTINGS[k]);
  });

  it('a second global value for the same key is refused; one per device is allowed once', async () => {
    const db = getDb();
    await expect(
      db.query("INSERT INTO settings (device_id, key, value) VALUES (NULL, 'run_retention_days', '5')"),
    ).rejects.toSatisfy((e: unknown) => isAppError(e, 'DB_QUERY') && (e.cause as { code?: string }).code === '23505');
    await db.query("INSERT INTO devices (id, name) VALUES ('dev-u', 'U')");
    await db.query("INSERT INTO settings (device_id, key, value) VALUES ('dev-u', 'run_retention_days', '5')");
    await expect(
      db.query("INSERT INTO settings (device_id, key, value) VALUES ('dev-u', 'run_retention_days', '6')"),
    ).rejects.toThrow(/23505/);
  });

  it('enum CHECK constraints refuse unknown status, triggered_by, schedule_type, timing, on_error', async () => {
    const db = getDb();
    const job = "'00000000-0000-0000-0000-000000000001'";
    await expect(
      db.query(`INSERT INTO runs (job_id, device_id, start_time, status) VALUES (${job}, 'd', now(), 'done')`),
    ).rejects.toThrow(/23514/);
    await expect(
      db.query(`INSERT INTO runs (job_id, device_id, start_time, triggered_by) VALUES (${job}, 'd', now(), 'cron')`),
    ).rejects.toThrow(/23514/);
    await db.query("INSERT INTO devices (id, name) VALUES ('dev-c', 'C')");
    const { rows } = await db.query<{ id: string }>(
      "INSERT INTO backup_jobs (device_id, name, source_paths) VALUES ('dev-c', 'j', ARRAY['/x']) RETURNING id",
    );
    const id = rows[0]!.id;
    await expect(
      db.query('INSERT INTO schedules (job_id, schedule_type) VALUES ($1, $2)', [id, 'daily']),
    ).rejects.toThrow(/23514/);
    await expect(
      db.query("INSERT INTO backup_hooks (job_id, command, timing) VALUES ($1, 'x', 'middle')", [id]),
    ).rejects.toThrow(/23514/);
    await expect(
      db.query("INSERT INTO backup_hooks (job_id, command, timing, on_error) VALUES ($1, 'x', 'start', 'ignore')", [
        id,
      ]),
    ).rejects.toThrow(/23514/);
    const cols = await db.query<{ column_default: string }>(
      "SELECT column_default FROM information_schema.columns WHERE table_name = 'schedules' AND column_name = 'catch_up'",
    );
    expect(cols.rows[0]?.column_default).toBe('true');
  });

  it('a migration changed after it was applied is a clear DB_MIGRATION error naming the file', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rbackup2-mig-'));
    for (const f of fs.readdirSync(defaultMigrationsDir()))
      fs.copyFileSync(path.join(defaultMigrationsDir(), f), path.join(dir, f));
    fs.appendFileSync(path.join(dir, '003_views.sql'), '\n-- edited\n');
    await expect(migrate(getDb(), dir)).rejects.toSatisfy(
      (e: unknown) => isAppError(e, 'DB_MIGRATION') && /003_views\.sql was changed/.test(e.message),
    );
    fs.rmSync(dir, { recursive: true });
  });

  it('an up-to-date database is checked with one statement, without a transaction (every command pays it)', async () => {
    const db = getDb();
    await migrate(db);
    const statements: string[] = [];
    const counting = {
      ...db,
      query: (sql: string, params?: readonly unknown[]) => {
        statements.push(sql);
        return db.query(sql, params);
      },
      transaction: () => {
        statements.push('transaction');
        throw new Error('no transaction expected');
      },
    } as typeof db;
    expect(await migrate(counting)).toEqual({ applied: [], unknown: [] });
    expect(statements).toEqual(['SELECT version, checksum FROM schema_migrations']);
    // A pending migration still takes the locked path (here: one recorded version removed).
    const { rows } = await db.query<{ checksum: string }>(
      "DELETE FROM schema_migrations WHERE version = '012_notifications' RETURNING checksum",
    );
    await expect(migrate(counting)).rejects.toThrow(/no transaction expected/);
    expect(statements.slice(1)).toEqual(['SELECT version, checksum FROM schema_migrations', 'transaction']);
    await db.query("INSERT INTO schema_migrations (version, checksum) VALUES ('012_notifications', $1)", [
      rows[0]?.checksum,
    ]);
    expect((await migrate(db)).applied).toEqual([]);
  });

  it('20 concurrent migrate() calls on one database apply each migration once', async () => {
    const db = getDb();
    await resetSchema(db);
    const results = await Promise.all(Array.from({ length: 20 }, () => migrate(db)));
    expect(results.flatMap((r) => r.applied).sort()).toEqual(ALL);
    const { rows } = await db.query<{ n: unknown }>('SELECT count(*) AS n FROM schema_migrations');
    expect(Number(rows[0]!.n)).toBe(ALL.length);
  });
});

describe('migrations [postgres, separate pools]', () => {
  it('20 agents starting at once (20 pools) apply each migration exactly once', async () => {
    const tmp = await createTempPgDatabase();
    const dbs = await Promise.all(
      Array.from({ length: 20 }, () => openPostgres({ connectionString: tmp.url, poolMax: 1 })),
    );
    try {
      const results = await Promise.all(dbs.map((db) => migrate(db)));
      const applied = results.flatMap((r) => r.applied);
      expect(applied.sort()).toEqual(ALL);
      expect(results.filter((r) => r.applied.length > 0)).toHaveLength(1);
      const { rows } = await dbs[0]!.query<{ n: string }>('SELECT count(*) AS n FROM settings WHERE device_id IS NULL');
      expect(Number(rows[0]!.n)).toBe(13); // 002's defaults, 006's marker, 012's silent_after_seconds
    } finally {
      await Promise.all(dbs.map((db) => db.close()));
      await tmp.drop();
    }
  });
});
