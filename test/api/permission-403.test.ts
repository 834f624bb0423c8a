/**
 * Issue 13: a change the database refuses for lack of a right (SQLSTATE 42501) answers 403 naming
 * the right, not `500 DB_QUERY`. The refusal is real: the real PostgreSQL server, a fresh database
 * migrated by its owner, and a login role with no rights on the tables writing a job through the
 * agent's own database layer; the error goes through the API's one error mapping (toHttpError).
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toHttpError } from '../../src/api/http-errors.js';
import { migrate, openPostgres, upsertDevice, addJob, type Database } from '../../src/db/index.js';
import { createTempPgDatabase, PG_ADMIN_URL } from '../helpers/databases.js';

const role = `rb2_t13_noright_${randomBytes(4).toString('hex')}`;
let drop: () => Promise<void> = async () => {};
let owner: Database;
let limited: Database;

async function admin(sql: string): Promise<void> {
  const c = new pg.Client({ connectionString: PG_ADMIN_URL });
  await c.connect();
  try {
    await c.query(sql);
  } finally {
    await c.end();
  }
}

beforeAll(async () => {
  const db = await createTempPgDatabase();
  drop = db.drop;
  owner = await openPostgres({ connectionString: db.url });
  await migrate(owner);
  await upsertDevice(owner, { id: 'dev-403' });
  await admin(`CREATE ROLE ${role} LOGIN`);
  const url = new URL(db.url);
  url.username = role;
  limited = await openPostgres({ connectionString: url.toString() });
}, 120_000);

afterAll(async () => {
  await limited?.close();
  await owner?.close();
  await drop();
  await admin(`DROP ROLE IF EXISTS ${role}`);
});

describe('database permission refusals in the API', () => {
  it('a write refused with 42501 is 403 FORBIDDEN naming the table right, not 500 DB_QUERY', async () => {
    const err = await addJob(limited, { deviceId: 'dev-403', name: 'j', sourcePaths: ['/x'] }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toMatchObject({ code: 'DB_QUERY' });
    const r = toHttpError(err);
    expect(r.status).toBe(403);
    expect(r.unexpected).toBe(false);
    expect(r.body.error.code).toBe('FORBIDDEN');
    expect(r.body.error.message).toMatch(
      /^the database refused this change: permission denied for table backup_jobs \(this agent's database role lacks that right/,
    );
  });

  it('other query errors stay 500 with the generic message', async () => {
    const err = await owner.query('SELECT * FROM no_such_table_t13').then(
      () => null,
      (e: unknown) => e,
    );
    const r = toHttpError(err);
    expect(r.status).toBe(500);
    expect(r.body.error.message).toBe('internal error (DB_QUERY)');
  });
});
