/**
 * Per-device roles in tests (issue 15): `rbackup2 device login` run as the admin, and the removal
 * of the roles it made once the test database is gone (roles are cluster-wide).
 */
import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { rolePrefix } from '../../src/db/device-roles.js';
import { PG_ADMIN_URL } from './databases.js';
import type { ProcessGroup } from './agent-process.js';

/** Runs `rbackup2 device login DEVICE` with an admin config on `adminUrl`; returns the printed URL. */
export async function deviceLoginUrl(
  procs: ProcessGroup,
  dir: string,
  adminUrl: string,
  deviceId: string,
): Promise<string> {
  fs.mkdirSync(dir, { recursive: true });
  const cfg = path.join(dir, 'admin.yaml');
  fs.writeFileSync(
    cfg,
    `device:\n  id: admin-console\ndatabase:\n  url: ${JSON.stringify(adminUrl)}\n  ssl_mode: disable\nclient:\n  data_dir: ${JSON.stringify(path.join(dir, 'admin-data'))}\n  log_file: ${JSON.stringify(path.join(dir, 'admin-data', 'admin.log'))}\n`,
  );
  const r = await procs.runCli(['--config', cfg, 'device', 'login', deviceId]);
  if (r.code !== 0) throw new Error(`device login failed: ${r.stderr}`);
  const lines = r.stdout.trim().split('\n');
  if (lines.length !== 1 || !lines[0]!.startsWith('postgres://'))
    throw new Error(`device login printed more than one URL line: ${r.stdout}`);
  return lines[0]!;
}

/** Drops every role of database `dbName`'s prefix (call after the database is dropped). */
export async function dropDeviceRoles(dbName: string): Promise<void> {
  const c = new pg.Client({ connectionString: PG_ADMIN_URL });
  await c.connect();
  try {
    const { rows } = await c.query<{ rolname: string }>(
      'SELECT rolname FROM pg_roles WHERE rolname LIKE $1 ORDER BY rolname = $2, rolname',
      [`${rolePrefix(dbName)}%`, `${rolePrefix(dbName)}devices`],
    );
    for (const r of rows) await c.query(`DROP ROLE IF EXISTS "${r.rolname}"`);
  } finally {
    await c.end();
  }
}
