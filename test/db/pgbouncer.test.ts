/**
 * Issue 22: the database layer through a real PgBouncer (Debian's package, default settings plus
 * pool_mode, free loopback port) in front of the shared test server: no refused startup
 * parameter; a refused parameter is classified by its SQLSTATE (08P01) as a configuration error,
 * never as a retried time-out; LISTEN with verify proves delivery in session mode and is refused
 * in transaction mode; migrations (transaction-scoped advisory lock) work through transaction mode.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { classifyConnectError, isDbUnavailable, isTransientConnectError } from '../../src/db/db-errors.js';
import { migrate } from '../../src/db/migrate.js';
import { openPostgres } from '../../src/db/postgres.js';
import { isAppError } from '../../src/errors.js';
import { createTempPgDatabase } from '../helpers/databases.js';
import { pgbouncerAvailable, startPgBouncer, type PgBouncer } from '../helpers/pgbouncer.js';

describe.runIf(pgbouncerAvailable())('PostgreSQL through PgBouncer (real PgBouncer)', () => {
  let tmp: Awaited<ReturnType<typeof createTempPgDatabase>>;
  let tx: PgBouncer;
  let session: PgBouncer;

  beforeAll(async () => {
    tmp = await createTempPgDatabase();
    tx = await startPgBouncer({ poolMode: 'transaction' });
    session = await startPgBouncer({ poolMode: 'session' });
  }, 60_000);

  afterAll(async () => {
    await tx?.destroy();
    await session?.destroy();
    await tmp?.drop();
  });

  it('a refused startup parameter (08P01) is one clear configuration error, not a retried time-out', async () => {
    const c = new pg.Client({ connectionString: tx.url(tmp.name), statement_timeout: 1000 });
    c.on('error', () => undefined);
    const err = await c.connect().then(
      () => null,
      (e: unknown) => e,
    );
    await c.end().catch(() => undefined);
    expect((err as { code?: string }).code).toBe('08P01');
    expect(isTransientConnectError(err)).toBe(false);
    expect(isDbUnavailable(err)).toBe(false);
    const msg = classifyConnectError(err, {
      host: '127.0.0.1',
      port: tx.port,
      user: 'postgres',
      database: tmp.name,
    }).message;
    expect(msg).toContain('refused a startup parameter');
    expect(msg).not.toMatch(/timed out/);
    // PgBouncer's own transient errors share the SQLSTATE; their text keeps them transient.
    const down = Object.assign(new Error('client_login_timeout (server down)'), { code: '08P01' });
    expect(isTransientConnectError(down)).toBe(true);
    expect(isDbUnavailable(down)).toBe(true);
  });

  it('openPostgres connects in transaction mode; a transaction carries its own statement time-out', async () => {
    const db = await openPostgres({ connectionString: tx.url(tmp.name), connectAttempts: 1, queryTimeoutMs: 5000 });
    try {
      expect((await db.query<{ one: number }>('SELECT 1 AS one')).rows[0]?.one).toBe(1);
      const inTx = await db.transaction(
        async (q) => (await q.query<{ t: string }>("SELECT current_setting('statement_timeout') AS t")).rows[0]?.t,
      );
      expect(inTx).toBe('4500ms'); // 90 % of the query time-out: the server cancels before the client gives up
      const err = await db
        .transaction(async (q) => q.query('SELECT pg_sleep(6)'))
        .then(
          () => null,
          (e: unknown) => e,
        );
      expect((err as { cause?: { code?: string } }).cause?.code).toBe('57014'); // canceled by the server's statement_timeout
    } finally {
      await db.close();
    }
  }, 30_000);

  it('migrate works through transaction mode, also 5 agents at once (transaction-scoped advisory lock)', async () => {
    const dbs = await Promise.all(
      Array.from({ length: 5 }, () => openPostgres({ connectionString: tx.url(tmp.name), connectAttempts: 1 })),
    );
    try {
      const results = await Promise.all(dbs.map((d) => migrate(d)));
      const applied = results.flatMap((r) => r.applied);
      expect(new Set(applied).size).toBe(applied.length);
      expect(applied).toContain('007_heartbeat_without_triggers');
    } finally {
      await Promise.all(dbs.map((d) => d.close()));
    }
  }, 60_000);

  it('LISTEN with verify: delivery proved in session mode (a NOTIFY arrives); refused in transaction mode', async () => {
    const s = await openPostgres({ connectionString: session.url(tmp.name), connectAttempts: 1, heartbeatMs: 2000 });
    const t = await openPostgres({ connectionString: tx.url(tmp.name), connectAttempts: 1, heartbeatMs: 2000 });
    try {
      const got: string[] = [];
      const unlisten = await s.listen('rb2_bouncer', (p) => got.push(p), { verify: true });
      await t.query("SELECT pg_notify('rb2_bouncer', 'hello')");
      await expect.poll(() => got, { timeout: 5000 }).toContain('hello');
      await unlisten();
      const err = await t
        .listen('rb2_bouncer', () => undefined, { verify: true })
        .then(
          () => null,
          (e: unknown) => e,
        );
      expect(isAppError(err, 'DB_LISTEN_UNDELIVERED')).toBe(true);
    } finally {
      await s.close();
      await t.close();
    }
  }, 30_000);
});
