import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import net from 'node:net';
import pg from 'pg';
import type { Database } from '../../src/db/database.js';
import { isDbUnavailable } from '../../src/db/db-errors.js';
import { openDatabase } from '../../src/db/open.js';
import { openPostgres } from '../../src/db/postgres.js';
import { isAppError } from '../../src/errors.js';
import { createTempPgDatabase, PG_ADMIN_URL } from '../helpers/databases.js';

async function waitFor(pred: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 25));
  }
}

async function terminate(appName: string): Promise<number> {
  const c = new pg.Client({ connectionString: PG_ADMIN_URL });
  await c.connect();
  try {
    const r = await c.query(
      'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1 AND pid <> pg_backend_pid()',
      [appName],
    );
    return r.rowCount ?? 0;
  } finally {
    await c.end();
  }
}

describe('PostgreSQL connection', () => {
  let tmp: Awaited<ReturnType<typeof createTempPgDatabase>>;
  beforeAll(async () => {
    tmp = await createTempPgDatabase();
  });
  afterAll(async () => {
    await tmp.drop();
  });

  it('a missing database is one clear DB_CONNECT line, without retrying and without the password', async () => {
    const started = Date.now();
    const err = await openPostgres({
      host: '127.0.0.1',
      user: 'postgres',
      password: 'S3cret-pw!',
      database: 'no_such_db_rb2',
      sslMode: 'disable',
    }).catch((e: unknown) => e);
    expect(isAppError(err, 'DB_CONNECT')).toBe(true);
    const msg = (err as Error).message;
    expect(msg).toMatch(/postgres@127\.0\.0\.1:5432\/no_such_db_rb2: database "no_such_db_rb2" does not exist/);
    expect(msg).not.toContain('S3cret-pw!');
    expect(msg).not.toContain('\n');
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it('a refused port is retried with bounded back-off, then reported as refused', async () => {
    const warns: string[] = [];
    const err = await openPostgres({
      connectionString: 'postgres://postgres:hunter2@127.0.0.1:1/x?sslmode=disable',
      connectAttempts: 3,
      maxRetryDelayMs: 50,
      logger: { warn: (_o, m) => warns.push(m), info: () => undefined },
    }).catch((e: unknown) => e);
    expect(isAppError(err, 'DB_CONNECT')).toBe(true);
    expect((err as Error).message).toMatch(/127\.0\.0\.1:1\/x: connection refused/);
    expect((err as Error).message).not.toContain('hunter2');
    expect(warns).toHaveLength(2);
    expect(isDbUnavailable(err)).toBe(true);
  });

  it('ssl_mode require against a server without TLS is a clear TLS message; prefer falls back to plain', async () => {
    const hasTls = await (async () => {
      const c = new pg.Client({ connectionString: tmp.url.replace('sslmode=disable', 'sslmode=no-verify') });
      c.on('error', () => undefined);
      try {
        await c.connect();
        await c.end();
        return true;
      } catch {
        return false;
      }
    })();
    const url = tmp.url.replace(/\?.*$/, '');
    if (!hasTls) {
      await expect(openPostgres({ connectionString: url, sslMode: 'require', connectAttempts: 1 })).rejects.toThrow(
        /does not support TLS/,
      );
    }
    const db = await openPostgres({ connectionString: url, sslMode: 'prefer', connectAttempts: 1 });
    expect((await db.query<{ one: number }>('SELECT 1 AS one')).rows[0]?.one).toBe(1);
    await db.close();
  });

  it('opening the database costs one server connection: the one that proved it connects stays in the pool', async () => {
    // A TCP relay in front of the server counts the connections the agent makes.
    let accepted = 0;
    const sockets = new Set<net.Socket>();
    const relay = net.createServer((client) => {
      accepted++;
      const server = net.connect(5432, '127.0.0.1');
      for (const s of [client, server]) {
        sockets.add(s);
        s.on('error', () => s.destroy());
        s.on('close', () => sockets.delete(s));
      }
      client.pipe(server).pipe(client);
    });
    await new Promise<void>((r) => relay.listen(0, '127.0.0.1', r));
    const port = (relay.address() as net.AddressInfo).port;
    const url = new URL(tmp.url);
    url.port = String(port);
    const db = await openPostgres({ connectionString: url.toString(), connectAttempts: 1 });
    try {
      const pids = new Set<number>();
      for (let i = 0; i < 3; i++)
        pids.add((await db.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]?.pid as number);
      expect(pids.size).toBe(1);
      expect(accepted).toBe(1);
    } finally {
      await db.close();
      for (const s of sockets) s.destroy();
      await new Promise((r) => relay.close(r));
    }
  });

  it('query errors are DB_QUERY naming the statement, with the SQLSTATE on the cause', async () => {
    const db = await openPostgres({ connectionString: tmp.url });
    const err = await db.query('SELECT * FROM no_such_table WHERE x = $1', [1]).catch((e: unknown) => e);
    expect(isAppError(err, 'DB_QUERY')).toBe(true);
    expect((err as Error).message).toMatch(
      /^query "SELECT \* FROM no_such_table" failed: .*no_such_table.* \[42P01\]$/,
    );
    expect(((err as Error).cause as { code?: string }).code).toBe('42P01');
    expect(isDbUnavailable(err)).toBe(false);
    await expect(
      db.transaction(async (tx) => {
        await tx.query('SELECT 1');
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect((await db.query<{ n: number }>('SELECT 2 AS n')).rows[0]?.n).toBe(2);
    await db.close();
  });

  it('C19 connections killed under the pool (idle and checked out) never crash the process; the next query works', async () => {
    const db = await openPostgres({ connectionString: tmp.url, applicationName: 'rb2-c19-pool' });
    await Promise.all([db.query('SELECT pg_sleep(0.05)'), db.query('SELECT pg_sleep(0.05)')]); // two idle pooled clients
    expect(await terminate('rb2-c19-pool')).toBeGreaterThan(0);
    const inTx = db.transaction(async (tx) => {
      await tx.query('SELECT 1');
      await terminate('rb2-c19-pool');
      await tx.query('SELECT 1');
    });
    await expect(inTx).rejects.toSatisfy((e: unknown) => isAppError(e, 'DB_QUERY'));
    await new Promise((r) => setTimeout(r, 100));
    expect((await db.query<{ n: number }>('SELECT 3 AS n')).rows[0]?.n).toBe(3);
    await db.close();
  });

  it('C19 the LISTEN connection is re-established and re-subscribed after it is killed', async () => {
    const db: Database = await openPostgres({
      connectionString: tmp.url,
      applicationName: 'rb2-c19-listen',
      heartbeatMs: 500,
      maxRetryDelayMs: 200,
    });
    const got: string[] = [];
    await db.listen('rb2_test', (p) => got.push(p));
    await db.query("SELECT pg_notify('rb2_test', 'one')");
    await waitFor(() => got.includes('one'));
    await terminate('rb2-c19-listen');
    await waitFor(() => got.includes('')); // reconnected: "may have missed notifications"
    await db.query("SELECT pg_notify('rb2_test', 'two')");
    await waitFor(() => got.includes('two'));
    await db.close();
  });

  it('openDatabase picks PostgreSQL when a url is configured (sslmode from the url wins over the default)', async () => {
    const db = await openDatabase({ database: { url: tmp.url, ssl_mode: 'require' }, dataDir: '/nonexistent' });
    expect(db.kind).toBe('postgres');
    await db.close();
  });
});
