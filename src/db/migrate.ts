/**
 * Schema migrations: the plain SQL files in `migrations/` (NNN_name.sql), applied in name order,
 * each recorded in `schema_migrations(version, applied_at, checksum)`. Safe when many agents start
 * at once against one server: everything happens in one transaction that first takes a fixed
 * transaction-level advisory lock, so the others wait and then find nothing left to do.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { packagePath } from '../package-root.js';
import { AppError, errorMessage } from '../errors.js';
import type { Database, Queryable } from './database.js';

/** Advisory lock key of migrations (any fixed bigint; "rbackup2" on a phone keypad, 72225872). */
export const MIGRATION_LOCK_KEY = 72225872;

export interface MigrationFile {
  /** File name without `.sql`, e.g. `001_initial_schema`. */
  version: string;
  file: string;
  sql: string;
  /** sha256 hex of the SQL with line endings normalised to \n (a Windows checkout gives the same). */
  checksum: string;
}

export interface MigrateResult {
  /** Versions applied by this call, in order (empty when the database was up to date). */
  applied: string[];
  /** Versions recorded in the database that have no file here (the database is newer than this agent). */
  unknown: string[];
}

/**
 * The migrations folder shipped with the package (`<package>/migrations`), found from src/ (tests),
 * dist/ and the bundled CLI alike; `../../migrations` beside this module if no package.json is found.
 */
export function defaultMigrationsDir(): string {
  return packagePath('migrations', fileURLToPath(new URL('../../migrations/', import.meta.url)));
}

/** Read `NNN_*.sql` files of `dir` in name order. Throws AppError DB_MIGRATION if the folder is missing. */
export function readMigrations(dir: string): MigrationFile[] {
  let names: string[];
  try {
    names = fs
      .readdirSync(dir)
      .filter((n) => /^\d+_[\w-]+\.sql$/.test(n))
      .sort();
  } catch (err) {
    throw new AppError('DB_MIGRATION', `migrations folder ${dir} cannot be read: ${errorMessage(err)}`, { cause: err });
  }
  return names.map((file) => {
    const sql = fs.readFileSync(path.join(dir, file), 'utf8').replace(/\r\n/g, '\n');
    return { version: file.replace(/\.sql$/, ''), file, sql, checksum: createHash('sha256').update(sql).digest('hex') };
  });
}

/**
 * Create schema_migrations when missing. Checked first: `CREATE TABLE IF NOT EXISTS` needs CREATE
 * on the schema even when the table exists, and an agent's role (backup_client, doc/roles.sql) has none.
 */
async function ensureTable(tx: Queryable): Promise<void> {
  const { rows } = await tx.query<{ present: boolean }>(
    "SELECT to_regclass('schema_migrations') IS NOT NULL AS present",
  );
  if (rows[0]?.present === true) return;
  await tx.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version    TEXT PRIMARY KEY,
    applied_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    checksum   TEXT NOT NULL
  )`);
}

/**
 * The versions and checksums applied, read without a transaction or lock; null when
 * schema_migrations does not exist yet (or cannot be read: the locked path then says why).
 */
async function appliedVersions(db: Database): Promise<Map<string, string> | null> {
  try {
    const { rows } = await db.query<{ version: string; checksum: string }>(
      'SELECT version, checksum FROM schema_migrations',
    );
    return new Map(rows.map((r) => [r.version, r.checksum]));
  } catch {
    return null;
  }
}

/**
 * Apply the pending migrations of `migrationsDir` (default: the package's) in one transaction.
 * Throws AppError DB_MIGRATION when an applied migration's file changed since (checksum mismatch,
 * naming the file) or when a migration fails (naming it; nothing of this call is kept).
 *
 * Every command and every agent start calls this, and almost always nothing is pending: one
 * plain SELECT answers that case (no transaction, advisory lock or DDL check: five round trips
 * fewer on a one-shot command). Anything else (a pending or changed migration, no table yet)
 * takes the locked path below, which decides under the lock.
 */
export async function migrate(db: Database, migrationsDir: string = defaultMigrationsDir()): Promise<MigrateResult> {
  const files = readMigrations(migrationsDir);
  const applied = await appliedVersions(db);
  if (applied && files.every((f) => applied.get(f.version) === f.checksum)) {
    const known = new Set(files.map((f) => f.version));
    return { applied: [], unknown: [...applied.keys()].filter((v) => !known.has(v)) };
  }
  try {
    return await db.transaction(async (tx) => {
      await tx.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK_KEY]);
      await ensureTable(tx);
      const { rows } = await tx.query<{ version: string; checksum: string }>(
        'SELECT version, checksum FROM schema_migrations ORDER BY version',
      );
      const done = new Map(rows.map((r) => [r.version, r.checksum]));
      for (const f of files) {
        const sum = done.get(f.version);
        if (sum !== undefined && sum !== f.checksum) {
          throw new AppError(
            'DB_MIGRATION',
            `migration ${f.file} was changed after it was applied to this database (checksum ${sum.slice(0, 12)} in the database, ${f.checksum.slice(0, 12)} on disk); restore the original file or add a new migration instead`,
          );
        }
      }
      const applied: string[] = [];
      for (const f of files.filter((x) => !done.has(x.version))) {
        try {
          await tx.query(f.sql);
        } catch (err) {
          throw new AppError('DB_MIGRATION', `migration ${f.file} failed: ${errorMessage(err)}`, { cause: err });
        }
        await tx.query('INSERT INTO schema_migrations (version, checksum) VALUES ($1, $2)', [f.version, f.checksum]);
        applied.push(f.version);
      }
      const known = new Set(files.map((f) => f.version));
      return { applied, unknown: [...done.keys()].filter((v) => !known.has(v)) };
    });
  } catch (err) {
    if (err instanceof AppError && err.code === 'DB_MIGRATION') throw err;
    throw new AppError('DB_MIGRATION', `migrations could not be applied: ${errorMessage(err)}`, { cause: err });
  }
}
