/**
 * Choosing the database from the local config (CONTRACTS §2): a `database` section (url or host
 * fields) means a PostgreSQL server; none means the embedded PGlite under `<data_dir>/db`.
 */
import path from 'node:path';
import { AppError } from '../errors.js';
import type { Database } from './database.js';
import type { DbLogger, PostgresOptions, SslMode } from './pg-options.js';
import type { PgliteOptions } from './pglite.js';

/** The `database` section of the local YAML (snake_case, as in the file). */
export interface DatabaseSectionInput {
  url?: string | undefined;
  host?: string | undefined;
  port?: number | undefined;
  user?: string | undefined;
  password?: string | undefined;
  dbname?: string | undefined;
  ssl_mode?: SslMode | undefined;
}

export interface OpenDatabaseInput {
  database?: DatabaseSectionInput | undefined;
  /** client.data_dir (resolved by the config loader). */
  dataDir: string;
}

/** Does this section name a server (url or host)? An empty section means the embedded database. */
export function usesServer(section: DatabaseSectionInput | undefined): section is DatabaseSectionInput {
  return !!section && !!(section.url || section.host);
}

// The two drivers, each loaded when first used (pg, or PGlite's ~1 MB of JavaScript and its
// WebAssembly): re-exporting them from db/index.ts directly would make every importer of the
// database layer load both at start, whichever database it uses.

/** openPostgres of postgres.ts, loading the pg driver on first use. */
export async function openPostgres(opts: PostgresOptions): Promise<Database> {
  return (await import('./postgres.js')).openPostgres(opts);
}

/** openPglite of pglite.ts, loading PGlite on first use. */
export async function openPglite(dataDir: string, opts: PgliteOptions = {}): Promise<Database> {
  return (await import('./pglite.js')).openPglite(dataDir, opts);
}

/** openPgliteMemory of pglite.ts, loading PGlite on first use. */
export async function openPgliteMemory(): Promise<Database> {
  return (await import('./pglite.js')).openPgliteMemory();
}

/**
 * The embedded database folder under a data folder: `<dataDir>/db`.
 */
export function embeddedDataDir(dataDir: string): string {
  return path.join(dataDir, 'db');
}

/**
 * Open the configured database: PostgreSQL when `database.url` or `database.host` is set, else
 * PGlite at `<dataDir>/db`. `ssl_mode` applies to the URL too unless the URL has its own `sslmode`
 * (the config loader always supplies ssl_mode, default require, so the URL's explicit choice wins).
 * Errors: AppError DB_CONNECT / DB_LOCKED (see openPostgres, openPglite).
 */
export async function openDatabase(local: OpenDatabaseInput, logger?: DbLogger): Promise<Database> {
  const s = local.database;
  // Each driver is loaded when used: a PostgreSQL agent or command never loads PGlite, and back.
  if (!usesServer(s)) {
    return openPglite(embeddedDataDir(local.dataDir), logger ? { logger } : {});
  }
  let urlSsl: string | null = null;
  try {
    urlSsl = s.url ? new URL(s.url).searchParams.get('sslmode') : null;
  } catch {
    throw new AppError('DB_CONNECT', 'database.url is not a valid postgres:// URL');
  }
  return openPostgres({
    ...(s.url ? { connectionString: s.url } : {}),
    ...(s.host ? { host: s.host } : {}),
    ...(s.port ? { port: s.port } : {}),
    ...(s.user ? { user: s.user } : {}),
    ...(s.password !== undefined ? { password: s.password } : {}),
    ...(s.dbname ? { database: s.dbname } : {}),
    ...(!urlSsl && s.ssl_mode ? { sslMode: s.ssl_mode } : {}),
    ...(logger ? { logger } : {}),
  });
}
