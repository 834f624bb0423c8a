/**
 * The Database over a PostgreSQL server, directly or through a connection pooler (PgBouncer in
 * session or transaction mode): a small `pg` pool with connect and query time-outs and TCP
 * keep-alive (case C19), error handlers on the pool and on every checked-out client so an `error`
 * event never crashes the process, failed clients discarded (never reused), and one dedicated
 * LISTEN connection (pg-listener.ts) whose heartbeat proves NOTIFY delivery.
 *
 * No startup parameter beyond what PgBouncer accepts (application_name, client_encoding): the
 * server-side statement time-out is set per transaction (`SET LOCAL statement_timeout`, 90 % of
 * the query time-out), and for
 * single statements by the admin on the role (`ALTER ROLE ... SET statement_timeout`); the
 * client-side query time-out covers every statement. The pool keeps one connection open between
 * ticks (`min: 1`) and closes the extra ones of a burst after 10 s idle, so an idle agent does not
 * reconnect every tick (a new direct connection costs PostgreSQL ~20 ms of CPU).
 */
import pg from 'pg';
import type { ConnectionOptions } from 'node:tls';
import { AppError, errorMessage } from '../errors.js';
import { sleep, systemClock } from '../clock.js';
import { backoffDelayMs } from './backoff.js';
import type { Database, Queryable, QueryResult } from './database.js';
import { classifyConnectError, isTransientConnectError, wrapQueryError } from './db-errors.js';
import { PgListener } from './pg-listener.js';
import { resolveConnectFields, sslCandidates, type PgConnectFields, type PostgresOptions } from './pg-options.js';

export type { PostgresOptions } from './pg-options.js';

/** A TLS attempt that failed because of TLS itself, so the next candidate (plain or TLS) may work. */
function isTlsNegotiationError(err: unknown): boolean {
  const msg = errorMessage(err);
  return /does not support SSL|no encryption|SSL off|SSL connection is required/i.test(msg);
}

/**
 * A pool whose first connection is open and answers `SELECT 1`: that connection stays in the pool
 * (`min: 1`) for the first statements, so opening the database costs one connection, not a probe
 * connection and then a pool connection (each new direct connection costs PostgreSQL ~20 ms of
 * CPU, and a one-shot CLI command waits for it). Ends the pool and throws when it does not connect.
 */
async function connectedPool(config: pg.PoolConfig, logger: PostgresOptions['logger']): Promise<pg.Pool> {
  const pool = new pg.Pool(config);
  pool.on('error', (err) => logger?.warn({ err: errorMessage(err) }, 'idle database connection failed; discarded'));
  try {
    await pool.query('SELECT 1');
    return pool;
  } catch (err) {
    await pool.end().catch(() => undefined);
    throw err;
  }
}

/**
 * Find the `ssl` setting that connects (see pg-options.ts for allow/prefer), retrying transient
 * failures with bounded exponential back-off, and return it with the connected pool. Throws
 * AppError DB_CONNECT (one line, no password).
 */
async function connectWithRetry(
  base: pg.ClientConfig,
  poolOptions: pg.PoolConfig,
  fields: PgConnectFields,
  opts: PostgresOptions,
): Promise<{ ssl: false | ConnectionOptions; pool: pg.Pool }> {
  const attempts = Math.max(1, opts.connectAttempts ?? 5);
  const candidates = sslCandidates(fields.sslMode, fields.host);
  let lastErr: unknown;
  for (let attempt = 0; attempt < attempts; attempt++) {
    for (const ssl of candidates) {
      try {
        return { ssl, pool: await connectedPool({ ...base, ...poolOptions, ssl }, opts.logger) };
      } catch (err) {
        lastErr = err;
        if (!(candidates.length > 1 && isTlsNegotiationError(err))) break;
      }
    }
    if (!isTransientConnectError(lastErr) || attempt === attempts - 1) break;
    const delay = backoffDelayMs(attempt, 250, opts.maxRetryDelayMs ?? 10_000);
    opts.logger?.warn(
      { attempt: attempt + 1, delayMs: delay, err: classifyConnectError(lastErr, fields, fields.password).message },
      'database connection failed; retrying',
    );
    await sleep(systemClock, delay);
  }
  throw classifyConnectError(lastErr, fields, fields.password);
}

/** Several statements in one string (simple protocol) give an array of results: keep the last. */
function toResult<T>(res: pg.QueryResult | pg.QueryResult[]): QueryResult<T> {
  const last = Array.isArray(res) ? res[res.length - 1] : res;
  if (!last) return { rows: [], rowCount: 0 };
  return { rows: (last.rows ?? []) as T[], rowCount: last.rowCount ?? last.rows?.length ?? 0 };
}

/**
 * Open a pool against PostgreSQL and check that it connects.
 * Throws AppError DB_CONNECT naming the target (`user@host:port/db`) and the cause: refused or
 * unreachable host, time-out, bad password (28P01), no access (28000), database missing (3D000),
 * TLS refused or certificate untrusted. Transient failures are retried `connectAttempts` times.
 */
export async function openPostgres(opts: PostgresOptions): Promise<Database> {
  let fields: PgConnectFields;
  try {
    fields = resolveConnectFields(opts);
  } catch (err) {
    throw new AppError('DB_CONNECT', errorMessage(err));
  }
  const queryTimeout = opts.queryTimeoutMs ?? 30_000;
  const base: pg.ClientConfig = {
    host: fields.host,
    port: fields.port,
    user: fields.user,
    database: fields.database,
    ...(fields.password !== undefined ? { password: fields.password } : {}),
    connectionTimeoutMillis: opts.connectTimeoutMs ?? 10_000,
    query_timeout: queryTimeout,
    keepAlive: true,
    keepAliveInitialDelayMillis: 10_000,
    application_name: opts.applicationName ?? 'rbackup2',
  };
  const poolOptions = { max: opts.poolMax ?? 4, min: 1, idleTimeoutMillis: 10_000, allowExitOnIdle: true };
  const { ssl, pool } = await connectWithRetry(base, poolOptions, fields, opts);
  const config: pg.ClientConfig = { ...base, ssl };
  const listener = new PgListener({
    clientConfig: config,
    heartbeatMs: opts.heartbeatMs ?? 30_000,
    maxRetryDelayMs: opts.maxRetryDelayMs ?? 10_000,
    ...(opts.logger ? { logger: opts.logger } : {}),
    probe: async (channel, payload) => {
      await pool.query('SELECT pg_notify($1, $2)', [channel, payload]);
    },
  });
  let closed = false;
  // The server cancels a statement of a transaction at 90 % of the client-side time-out, so the
  // cancel (57014) arrives first and the connection stays usable.
  const beginSql = `BEGIN; SET LOCAL statement_timeout = ${Math.max(1, Math.floor(queryTimeout * 0.9))}`;

  const query = async <T>(sql: string, params?: readonly unknown[]): Promise<QueryResult<T>> => {
    try {
      return toResult<T>(await pool.query(sql, params as unknown[] | undefined));
    } catch (err) {
      throw wrapQueryError(err, sql);
    }
  };

  return {
    kind: 'postgres',
    query,
    async transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
      let client: pg.PoolClient;
      try {
        client = await pool.connect();
      } catch (err) {
        throw wrapQueryError(err, 'BEGIN');
      }
      let broken: Error | undefined;
      const onError = (err: Error) => {
        broken = err;
        opts.logger?.warn({ err: errorMessage(err) }, 'database connection failed during a transaction');
      };
      client.on('error', onError);
      const tx: Queryable = {
        async query<R>(sql: string, params?: readonly unknown[]) {
          try {
            return toResult<R>(await client.query(sql, params as unknown[] | undefined));
          } catch (err) {
            throw wrapQueryError(err, sql);
          }
        },
      };
      try {
        await tx.query(beginSql);
        const out = await fn(tx);
        await tx.query('COMMIT');
        return out;
      } catch (err) {
        await client.query('ROLLBACK').catch((e: unknown) => {
          broken ??= e instanceof Error ? e : new Error(String(e));
        });
        throw err;
      } finally {
        client.release(broken ?? undefined);
        client.removeListener('error', onError);
      }
    },
    listen: (channel, onNotify, o) =>
      listener.listen(channel, onNotify, o?.verify === true).catch((err: unknown) => {
        throw wrapQueryError(err, 'LISTEN');
      }),
    async close() {
      if (closed) return;
      closed = true;
      await listener.close();
      await pool.end();
    },
  };
}
