/**
 * Per-device PostgreSQL login roles (issue 15, migration 006, doc/deployment.md): one role per
 * device, recorded in `device_roles`, member of the database's device group role that holds the
 * GRANTs; the row-level security policies of migration 006 limit it to its own device's rows.
 *
 * Names: roles are cluster-wide and stop at 63 bytes, so every name starts with a per-database
 * prefix `rb2_<8 hex of md5(database name)>_`; the group is `<prefix>devices`, a device's role is
 * `<prefix><device id in [a-z0-9_], at most 40>_<6 hex of md5(device id)>` (unique per device id).
 * The password is random and sent to the server as a SCRAM-SHA-256 verifier computed here, so the
 * clear password never reaches the server or its log.
 */
import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';
import { AppError } from '../errors.js';
import type { Database, Queryable } from './database.js';

const md5 = (s: string): string => createHash('md5').update(s).digest('hex');
const ident = (name: string): string => `"${name.replace(/"/g, '""')}"`;

/** `rb2_<8 hex>_` for database `dbName`. */
export function rolePrefix(dbName: string): string {
  return `rb2_${md5(dbName).slice(0, 8)}_`;
}

/** The login role name of `deviceId` in database `dbName` (at most 63 bytes, [a-z0-9_]). */
export function deviceRoleName(dbName: string, deviceId: string): string {
  const slug = deviceId
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '')
    .slice(0, 40);
  return `${rolePrefix(dbName)}${slug}_${md5(deviceId).slice(0, 6)}`;
}

/** The SCRAM-SHA-256 verifier PostgreSQL stores for `password` (RFC 5802/7677, 4096 iterations). */
export function scramVerifier(password: string, salt = randomBytes(16), iterations = 4096): string {
  const salted = pbkdf2Sync(password, salt, iterations, 32, 'sha256');
  const clientKey = createHmac('sha256', salted).update('Client Key').digest();
  const storedKey = createHash('sha256').update(clientKey).digest();
  const serverKey = createHmac('sha256', salted).update('Server Key').digest();
  return `SCRAM-SHA-256$${iterations}:${salt.toString('base64')}$${storedKey.toString('base64')}:${serverKey.toString('base64')}`;
}

/** What the device group may do; the policies of migration 006 narrow it to the device's rows. */
function groupGrants(group: string, dbName: string): string[] {
  const g = ident(group);
  return [
    `GRANT CONNECT ON DATABASE ${ident(dbName)} TO ${g}`,
    `GRANT USAGE ON SCHEMA public TO ${g}`,
    `GRANT SELECT ON devices, repositories, backup_jobs, schedules, backup_hooks, settings, config_versions, schema_migrations, runs, latest_runs, job_summary TO ${g}`,
    `GRANT INSERT (id, name, description, platform, hostname, last_seen, metadata) ON devices TO ${g}`,
    `GRANT UPDATE (name, description, platform, hostname, last_seen, metadata) ON devices TO ${g}`,
    `GRANT INSERT, UPDATE, DELETE ON runs TO ${g}`,
    `GRANT USAGE ON SEQUENCE runs_id_seq, schedules_id_seq, settings_id_seq TO ${g}`,
    // the local editor: its own jobs (no restic_args change, no device move), schedules, device settings
    `GRANT INSERT, DELETE ON backup_jobs TO ${g}`,
    `GRANT UPDATE (name, description, source_paths, exclude_patterns, tags, repository_id, enabled, restic_host, retention) ON backup_jobs TO ${g}`,
    `GRANT INSERT, UPDATE, DELETE ON schedules TO ${g}`,
    `GRANT SELECT, INSERT, UPDATE, DELETE ON repository_leases, repository_state TO ${g}`,
    `GRANT USAGE ON SEQUENCE repository_leases_id_seq TO ${g}`,
    `GRANT INSERT (device_id, key, value, description), UPDATE (value, description, updated_at), DELETE ON settings TO ${g}`,
    // notifications (migration 012): its own outbox rows and the leases; never notification_channels
    `GRANT SELECT, INSERT ON notification_outbox TO ${g}`,
    `GRANT SELECT ON leases TO ${g}`,
  ];
}

export interface DeviceLogin {
  role: string;
  password: string;
}

/**
 * Create or reset the login role of `deviceId` (new random password, old one stops working) and
 * record it in device_roles. Needs a connection as a role with CREATEROLE (or a superuser) that
 * may grant on the tables (their owner, backup_admin). Throws AppError NOT_FOUND for an unknown
 * device, INVALID_INPUT on the embedded database or a server older than 15, DB_QUERY otherwise.
 */
export async function createOrResetDeviceRole(db: Database, deviceId: string): Promise<DeviceLogin> {
  if (db.kind !== 'postgres')
    throw new AppError(
      'INVALID_INPUT',
      'device login: the embedded database has no login roles (only one agent uses it)',
    );
  const { rows: info } = await db.query<{ v: number; db: string }>(
    "SELECT current_setting('server_version_num')::int AS v, current_database() AS db",
  );
  const { v, db: dbName } = info[0] as { v: number; db: string };
  if (v < 150000)
    throw new AppError(
      'INVALID_INPUT',
      `device login: per-device roles need PostgreSQL 15 or later (this server is ${Math.floor(v / 10000)}); use the shared backup_client role`,
    );
  const { rows: dev } = await db.query('SELECT 1 FROM devices WHERE id = $1', [deviceId]);
  if (dev.length === 0)
    throw new AppError('NOT_FOUND', `device "${deviceId}" not found (add it with rbackup2 device add ${deviceId})`);
  const role = deviceRoleName(dbName, deviceId);
  const group = `${rolePrefix(dbName)}devices`;
  const password = randomBytes(24).toString('base64url');
  await db.transaction(async (tx: Queryable) => {
    const exists = async (r: string) =>
      (await tx.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [r])).rows.length > 0;
    if (!(await exists(group))) await tx.query(`CREATE ROLE ${ident(group)} NOLOGIN`);
    for (const sql of groupGrants(group, dbName)) await tx.query(sql);
    const verifier = scramVerifier(password).replace(/'/g, "''");
    if (await exists(role))
      await tx.query(
        `ALTER ROLE ${ident(role)} LOGIN INHERIT NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD '${verifier}'`,
      );
    else
      await tx.query(
        `CREATE ROLE ${ident(role)} LOGIN INHERIT NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD '${verifier}'`,
      );
    await tx.query(`GRANT ${ident(group)} TO ${ident(role)}`);
    // the run-retention marker, which a device role may touch but not create (src/runs/run-history-cleanup.ts)
    await tx.query(
      `INSERT INTO settings (device_id, key, value, description, updated_at)
       VALUES (NULL, 'retention_last_run', '', 'Maintained by the agents: updated_at is when old run history was last deleted', '-infinity')
       ON CONFLICT (key) WHERE device_id IS NULL DO NOTHING`,
    );
    await tx.query(
      `INSERT INTO device_roles (role_name, device_id) VALUES ($1, $2)
       ON CONFLICT (role_name) DO UPDATE SET device_id = EXCLUDED.device_id`,
      [role, deviceId],
    );
  });
  return { role, password };
}
