/**
 * Turning driver errors (pg, PGlite) into AppErrors: DB_QUERY for a failed statement (the original
 * error stays as `cause`, so its SQLSTATE is `(err.cause as { code?: string }).code`), and
 * DB_CONNECT for a connection that cannot be made, classified into one clear line.
 */
import { AppError } from '../errors.js';

/** The first few words of a statement, for error messages (never its parameters). */
export function sqlHead(sql: string, words = 4): string {
  const flat = sql
    .replace(/--[^\n]*/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  const head = flat.split(' ').slice(0, words).join(' ');
  return head.length > 80 ? `${head.slice(0, 80)}...` : head;
}

/**
 * The `code` of a driver error (pg and PGlite both expose it), or undefined: a SQLSTATE (five
 * characters, e.g. 08P01) or a Node.js network error name (ECONNREFUSED); see isSqlState.
 */
export function sqlState(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** Is `code` a SQLSTATE (five digits/upper-case letters) rather than a Node.js error name (E...)? */
export function isSqlState(code: string): boolean {
  return /^[0-9A-Z]{5}$/.test(code) && !/^E[A-Z]+$/.test(code);
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

/**
 * A PgBouncer error that means "PostgreSQL behind the pooler is away or busy; try again" (PgBouncer
 * reports all its own errors as SQLSTATE 08P01; the text tells them apart, from PgBouncer 1.18's
 * messages: `client_login_timeout (server down)`, `pgbouncer cannot connect to server`, `no more
 * connections allowed (max_client_conn)`, `query_wait_timeout`, `server login has been failing,
 * try again later (server_login_retry)`, `database shutting down`, `server conn crashed?`).
 */
const POOLER_TRANSIENT =
  /server down|cannot connect to server|no more connections|query_wait_timeout|try again later|shutting down|server conn crashed|server_login_retry|pooler is paused|SHUTDOWN/i;

/**
 * The configuration errors among SQLSTATE 08P01 (protocol violation): a pooler or server that
 * refuses a startup parameter or the protocol, or (PgBouncer) a database it does not know.
 * Null when the 08P01 is one of the pooler's transient errors.
 */
function protocolConfigError(raw: string): string | null {
  if (POOLER_TRANSIENT.test(raw)) return null;
  if (/unsupported startup parameter/i.test(raw))
    return `the server or connection pooler refused a startup parameter (${raw}); PgBouncer accepts only client_encoding, datestyle, timezone, standard_conforming_strings and application_name`;
  if (/does not exist|no such database/i.test(raw))
    return `the connection pooler knows no such database (${raw}); check its [databases] section`;
  return `protocol error (08P01) from the server or connection pooler: ${raw}`;
}

/**
 * Is this failure worth retrying (network, server starting, a pooler whose server is away) rather
 * than a config error? The SQLSTATE decides first (28P01, 28000, 3D000, 42501 and the 08P01 of a
 * refused startup parameter are configuration errors); only errors without one are judged by text.
 */
export function isTransientConnectError(err: unknown): boolean {
  const code = sqlState(err);
  if (code === '28P01' || code === '28000' || code === '3D000' || code === '42501') return false;
  const msg = err instanceof Error ? err.message : '';
  if (code === '08P01') return protocolConfigError(msg) === null;
  if (code && isSqlState(code)) return true;
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
  else if (code === '08P01')
    why = protocolConfigError(raw) ?? `the connection pooler cannot serve the connection now: ${raw}`;
  else if (code && isSqlState(code)) why = `${raw} [${code}]`;
  else if (code === 'ECONNREFUSED') why = 'connection refused (is PostgreSQL running and listening on that address?)';
  else if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') why = `host "${target.host}" not found`;
  else if (code === 'EHOSTUNREACH' || code === 'ENETUNREACH') why = 'host unreachable';
  else if (code === 'ETIMEDOUT' || /timeout/i.test(raw)) why = 'connection timed out (host unreachable or firewalled?)';
  else if (/does not support SSL/i.test(raw)) why = 'the server does not support TLS (set ssl_mode: disable or prefer)';
  else if (/self[- ]signed|certificate|unable to verify|altnames/i.test(raw))
    why = `TLS certificate not trusted: ${raw}`;
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
  if (code === '08P01') return protocolConfigError(inner instanceof Error ? inner.message : String(inner)) === null;
  if (code && (code.startsWith('08') || ['57P01', '57P02', '57P03', '53300'].includes(code))) return true;
  if (code && isSqlState(code)) return false; // any other SQLSTATE: the statement or the setup is wrong
  if (code && /^E[A-Z]+$/.test(code)) return true; // ECONNREFUSED, ECONNRESET, ETIMEDOUT, EPIPE, ...
  const msg = inner instanceof Error ? inner.message : String(inner);
  return /Connection terminated|connection timeout|Query read timeout|timeout exceeded when trying to connect|Client has encountered a connection error|not queryable/i.test(
    msg,
  );
}
