/**
 * Turning driver errors (pg, PGlite) into AppErrors: DB_QUERY for a failed statement (the original
 * error stays as `cause`, so its SQLSTATE is `(err.cause as { code?: string }).code`), and
 * DB_CONNECT for a connection that cannot be made, classified into one clear line.
 */
import { AppError } from '../errors.js';

/** The first few words of a statement, for error messages (never its parameters). */
export function sqlHead(sql: string, words = 4): string {
  const flat = sql.replace(/--[^\n]*/g, ' ').replace(/\s+/g, ' ').trim();
  const head = flat.split(' ').slice(0, words).join(' ');
  return head.length > 80 ? `${head.slice(0, 80)}...` : head;
}

/** SQLSTATE of a driver error (pg and PGlite both expose `code`), or undefined. */
export function sqlState(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/**
 * Wrap a failed statement as AppError('DB_QUERY'): message `query "<first words>" failed: <driver
 * message> [SQLSTATE]`; `cause` is the driver error. An AppError passes through unchanged.
 */
export function wrapQueryError(err: unknown, sql: string): AppError {
  if (err instanceof AppError) return err;
  const msg = err instanceof Error ? err.message : String(err);
  const code = sqlState(err);
  return new AppError('DB_QUERY', `query "${sqlHead(sql)}" failed: ${msg}${code ? ` [${code}]` : ''}`, { cause: err });
}

/** What the connection was aimed at, for messages: `user@host:port/database` (never the password). */
export interface ConnectTarget {
  host: string;
  port: number;
  user: string;
  database: string;
}

/** `user@host:port/database`. */
export function describeTarget(t: ConnectTarget): string {
  return `${t.user}@${t.host}:${t.port}/${t.database}`;
}

/** Is this failure worth retrying (network, server starting) rather than a config error? */
export function isTransientConnectError(err: unknown): boolean {
  const code = sqlState(err);
  if (code === '28P01' || code === '28000' || code === '3D000' || code === '42501') return false;
  const msg = err instanceof Error ? err.message : '';
  if (/does not support SSL|SSL.*(required|off)|self[- ]signed|certificate/i.test(msg)) return false;
  return true;
}

/**
 * Classify a failed connection attempt into one line: refused/unreachable host, timeout, bad
 * password (SQLSTATE 28P01), no access (28000: pg_hba), database missing (3D000), TLS refused by
 * the server or certificate not trusted. `secret` (the password) is scrubbed from the text.
 */
export function classifyConnectError(err: unknown, target: ConnectTarget, secret?: string): AppError {
  const where = describeTarget(target);
  const code = sqlState(err);
  const raw = err instanceof Error ? err.message : String(err);
  let why: string;
  if (code === '28P01') why = `password authentication failed for user "${target.user}"`;
  else if (code === '28000') why = `the server refused access (pg_hba.conf: ${raw})`;
  else if (code === '3D000') why = `database "${target.database}" does not exist`;
  else if (code === '57P03') why = 'the server is starting up or shutting down';
  else if (code === 'ECONNREFUSED') why = 'connection refused (is PostgreSQL running and listening on that address?)';
  else if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') why = `host "${target.host}" not found`;
  else if (code === 'EHOSTUNREACH' || code === 'ENETUNREACH') why = 'host unreachable';
  else if (code === 'ETIMEDOUT' || /timeout/i.test(raw)) why = 'connection timed out (host unreachable or firewalled?)';
  else if (/does not support SSL/i.test(raw)) why = 'the server does not support TLS (set ssl_mode: disable or prefer)';
  else if (/self[- ]signed|certificate|unable to verify|altnames/i.test(raw)) why = `TLS certificate not trusted: ${raw}`;
  else if (/no encryption|SSL off/i.test(raw)) why = `the server requires TLS (set ssl_mode: require): ${raw}`;
  else why = raw;
  if (secret) why = why.split(secret).join('***');
  return new AppError('DB_CONNECT', `cannot connect to PostgreSQL ${where}: ${why}`, { cause: err });
}

/**
 * Is this (DB_QUERY or driver) error "the database is unreachable" rather than "the statement is
 * wrong"? Network errors, time-outs, SQLSTATE class 08 (connection) and 57P01-57P03 (shutdown).
 * Callers keep working from cached config / the local run journal in that case (case C17).
 */
export function isDbUnavailable(err: unknown): boolean {
  const inner = err instanceof AppError && err.code === 'DB_CONNECT' ? null : err instanceof AppError ? err.cause : err;
  if (err instanceof AppError && err.code === 'DB_CONNECT') return true;
  const code = sqlState(inner);
  if (code && (code.startsWith('08') || ['57P01', '57P02', '57P03'].includes(code))) return true;
  if (code && /^E[A-Z]+$/.test(code)) return true; // ECONNREFUSED, ECONNRESET, ETIMEDOUT, EPIPE, ...
  const msg = inner instanceof Error ? inner.message : String(inner);
  return /Connection terminated|connection timeout|Query read timeout|timeout exceeded when trying to connect|Client has encountered a connection error|not queryable/i.test(msg);
}
