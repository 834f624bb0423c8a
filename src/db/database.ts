/**
 * The one small interface over both databases rbackup2 runs on: a `pg` pool against a PostgreSQL
 * server, or an embedded PGlite in the data folder. Every query, migration and test uses only this,
 * so the same SQL runs on both.
 */

export interface QueryResult<T> {
  rows: T[];
  /** Rows affected (INSERT/UPDATE/DELETE) or returned (SELECT). */
  rowCount: number;
}

export interface Queryable {
  /** Run one parameterised statement ($1, $2, ...). Errors are AppError DB_QUERY with the cause. */
  query<T = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<QueryResult<T>>;
}

export interface ListenOptions {
  /** Prove delivery before resolving (PostgreSQL; PGlite delivers in-process). */
  verify?: boolean;
}

export interface Database extends Queryable {
  readonly kind: 'postgres' | 'pglite';
  /** Run `fn` in one transaction (BEGIN ... COMMIT, ROLLBACK on throw) on one connection. */
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  /**
   * Subscribe to NOTIFY on `channel`. The returned function unsubscribes. On PostgreSQL this holds
   * one dedicated connection, checked by a heartbeat that proves delivery and re-established
   * (re-subscribing) when lost. With `verify`, first proves that a NOTIFY from another connection
   * arrives, else throws AppError DB_LISTEN_UNDELIVERED (a pooler in transaction mode).
   */
  listen(channel: string, onNotify: (payload: string) => void, opts?: ListenOptions): Promise<() => Promise<void>>;
  /** Close every connection (PGlite: flush and close the data folder). Idempotent. */
  close(): Promise<void>;
}
