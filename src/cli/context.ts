/**
 * What every CLI command starts from: the local config (CONTRACTS §2) named by `--config`, and a
 * database opened and migrated for the length of one command.
 */
import { loadLocalConfig, resolveConfigPath, type LocalConfig } from '../config/local-config.js';
import { openDatabase, migrate, type Database } from '../db/index.js';

export interface GlobalOptions {
  config?: string;
}

/** Load the config named by `--config` (or the default file); throws CONFIG_* AppErrors. */
export function loadConfig(opts: GlobalOptions): LocalConfig {
  return loadLocalConfig(resolveConfigPath(opts.config, process.cwd()), process.env);
}

/**
 * Open the configured database, apply pending migrations, run `fn`, close. Throws DB_CONNECT /
 * DB_LOCKED (the embedded database is held by a running agent) as one-line user errors.
 */
export async function withDatabase<T>(local: LocalConfig, fn: (db: Database) => Promise<T>): Promise<T> {
  const db = await openDatabase({ database: local.database, dataDir: local.dataDir });
  try {
    await migrate(db);
    return await fn(db);
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
