/**
 * What every CLI command starts from: the local config (CONTRACTS §2) named by `--config`, and a
 * database opened and migrated for the length of one command. The config and database modules
 * (yaml, zod, pg, PGlite) are loaded here on first use, not when the CLI starts: `--version` and
 * `--help` never load them.
 */
import type { AdminLocalConfig, LocalConfig } from '../config/local-config.js';
import { AppError } from '../errors.js';
import type { Database } from '../db/index.js';

export interface GlobalOptions {
  config?: string;
}

/** The database functions of the CLI (db-api.ts), loaded once on first use. */
export type DbApi = typeof import('./db-api.js');
export const dbApi = (): Promise<DbApi> => import('./db-api.js');

/** Load the config named by `--config` (or the default file); throws CONFIG_* AppErrors. */
export async function loadConfig(opts: GlobalOptions): Promise<LocalConfig> {
  const { loadLocalConfig, resolveConfigPath } = await import('../config/local-config.js');
  return loadLocalConfig(resolveConfigPath(opts.config, process.cwd()), process.env);
}

/**
 * Load the config of an admin command (migrate, device, repo, job, schedule, setting): `device`
 * may be absent (an admin's machine is not a device); throws CONFIG_* AppErrors.
 */
export async function loadAdminConfig(opts: GlobalOptions): Promise<AdminLocalConfig> {
  const { loadAdminConfig: load, resolveConfigPath } = await import('../config/local-config.js');
  return load(resolveConfigPath(opts.config, process.cwd()), process.env);
}

/**
 * The device an admin command works on: `--device` when given, else the config's device.id.
 * Throws INVALID_INPUT naming the command and the config file when neither exists.
 */
export function deviceFor(local: AdminLocalConfig, explicit: string | undefined, command: string): string {
  const id = explicit ?? local.device.id;
  if (id === null)
    throw new AppError(
      'INVALID_INPUT',
      `${command}: give --device ID (the config ${local.sourceFile} has no device.id)`,
    );
  return id;
}

/** A database opened and migrated for one command, with the database functions. */
export interface CommandDatabase {
  db: Database;
  q: DbApi;
}

/**
 * Open the configured database and apply pending migrations. Throws DB_CONNECT / DB_LOCKED (the
 * embedded database is held by a running agent) as one-line user errors; closes what it opened
 * when migrating fails. A command may start this before it loads its own code, so the two
 * overlap (the server's answer, the embedded database's WebAssembly compiled off this thread);
 * hand the promise to withDatabase, which closes it.
 */
export async function openCommandDatabase(local: Pick<LocalConfig, 'database' | 'dataDir'>): Promise<CommandDatabase> {
  const q = await dbApi();
  const db = await q.openDatabase({ database: local.database, dataDir: local.dataDir });
  try {
    await q.migrate(db);
  } catch (err) {
    await db.close();
    throw err;
  }
  return { db, q };
}

/**
 * Open the configured database (or take `opened`, from openCommandDatabase), run `fn` with it and
 * the database functions, close. Errors as openCommandDatabase.
 */
export async function withDatabase<T>(
  local: Pick<LocalConfig, 'database' | 'dataDir'>,
  fn: (db: Database, q: DbApi) => Promise<T>,
  opened: Promise<CommandDatabase> = openCommandDatabase(local),
): Promise<T> {
  const { db, q } = await opened;
  try {
    return await fn(db, q);
  } finally {
    await db.close();
  }
}

/** Collect a repeatable commander option into an array. */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** Parse a positive whole number option, naming it in the error. */
export function positiveInt(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n <= 0) throw new Error(`${name} must be a positive whole number, got "${value}"`);
    return n;
  };
}
