/**
 * Options of a PostgreSQL connection and how they become `pg` client settings. libpq's sslmode
 * names are kept; they map to node-postgres' `ssl` like this:
 *   disable     -> no TLS
 *   allow       -> plain first; TLS (unverified) only when the server refuses a plain connection
 *   prefer      -> TLS (unverified) first; plain when the server says it does not support TLS
 *   require     -> TLS, certificate not verified (as libpq's require)
 *   verify-ca   -> TLS, certificate chain verified against the system CAs; host name not checked
 *   verify-full -> TLS, chain and host name verified
 * pg has no allow/prefer of its own, so openPostgres probes the candidates in order once at open
 * and keeps the first that connects (see `sslCandidates`).
 */
import type { ConnectionOptions } from 'node:tls';
import type { ConnectTarget } from './db-errors.js';

export const SSL_MODES = ['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full'] as const;
export type SslMode = (typeof SSL_MODES)[number];

/** Logger subset used by the database layer (pino-compatible). */
export interface DbLogger {
  warn(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
}

export interface PostgresOptions {
  /** `postgres://user:pass@host:port/db?sslmode=...`; fields below override parts of it. */
  connectionString?: string;
  host?: string;
  port?: number;
  user?: string;
  password?: string;
  database?: string;
  /** Default: the URL's `sslmode`, else `require`. An explicit value here wins over the URL. */
  sslMode?: SslMode;
  applicationName?: string;
  logger?: DbLogger;
  /** Connection attempts at open before giving up (default 5). */
  connectAttempts?: number;
  /** Cap of the exponential back-off between attempts, milliseconds (default 10 000). */
  maxRetryDelayMs?: number;
  /** Connect timeout, milliseconds (default 10 000). */
  connectTimeoutMs?: number;
  /** Query and statement timeout, milliseconds (default 30 000). */
  queryTimeoutMs?: number;
  /** Pool size (default 4). */
  poolMax?: number;
  /** LISTEN heartbeat period, milliseconds (default 30 000). */
  heartbeatMs?: number;
}

/** Plain connection fields for `pg` (no TLS decision yet). */
export interface PgConnectFields extends ConnectTarget {
  password?: string;
  sslMode: SslMode;
}

/**
 * Merge the URL and the explicit fields. URL parameters other than sslmode are ignored (the TLS
 * options are ours to set). Throws TypeError for a URL that does not parse (the message has no password).
 */
export function resolveConnectFields(opts: PostgresOptions): PgConnectFields {
  let url: URL | undefined;
  if (opts.connectionString) {
    try {
      url = new URL(opts.connectionString);
    } catch {
      throw new TypeError('database url is not a valid postgres:// URL');
    }
  }
  const dec = (s: string | undefined) => (s ? decodeURIComponent(s) : undefined);
  const urlSsl = url?.searchParams.get('sslmode') ?? undefined;
  const sslMode = opts.sslMode ?? (isSslMode(urlSsl) ? urlSsl : 'require');
  const user = opts.user ?? dec(url?.username) ?? 'postgres';
  const password = opts.password ?? dec(url?.password);
  return {
    host:
      opts.host ??
      (url?.hostname ? dec(url.hostname.replace(/^\[|\]$/g, '')) : undefined) ??
      url?.searchParams.get('host') ??
      'localhost',
    port: opts.port ?? (url?.port ? Number(url.port) : 5432),
    user,
    database: opts.database ?? dec(url?.pathname.replace(/^\//, '')) ?? user,
    ...(password !== undefined ? { password } : {}),
    sslMode,
  };
}

function isSslMode(s: string | undefined): s is SslMode {
  return s !== undefined && (SSL_MODES as readonly string[]).includes(s);
}

/** The `ssl` settings to try, in order, for an sslMode (see the file comment). */
export function sslCandidates(mode: SslMode, host: string): Array<false | ConnectionOptions> {
  const unverified: ConnectionOptions = { rejectUnauthorized: false };
  switch (mode) {
    case 'disable':
      return [false];
    case 'allow':
      return [false, unverified];
    case 'prefer':
      return [unverified, false];
    case 'require':
      return [unverified];
    case 'verify-ca':
      return [{ rejectUnauthorized: true, checkServerIdentity: () => undefined }];
    case 'verify-full':
      return [{ rejectUnauthorized: true, servername: host }];
  }
}
