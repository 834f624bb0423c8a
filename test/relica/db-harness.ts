/**
 * Databases for the Relica import tests, opened with the project's own src/db code and the
 * migrations/*.sql files: a fresh PostgreSQL database on 127.0.0.1:5432 (dropped afterwards) and
 * an in-memory PGlite (migrated with migrate()).
 */
import pg from 'pg';
import type { Database } from '../../src/db/database.js';
import { defaultMigrationsDir, migrate, readMigrations } from '../../src/db/migrate.js';
import { openPgliteMemory } from '../../src/db/pglite.js';
import { openPostgres } from '../../src/db/postgres.js';

export interface TestDb {
  db: Database;
  /** Close connections (and drop the PostgreSQL database). */
  dispose(): Promise<void>;
}

const server = { host: '127.0.0.1', port: 5432, user: 'postgres' } as const;

/** Run SQL statements (several per string allowed) on a plain pg client of `database`. */
async function direct(database: string, statements: readonly string[]): Promise<void> {
  const c = new pg.Client({ ...server, database });
  await c.connect();
  try {
    for (const sql of statements) await c.query(sql);
  } finally {
    await c.end();
  }
}

/** A fresh, migrated PostgreSQL database. */
export async function openPostgresTestDb(): Promise<TestDb> {
  const name = `rbackup2_relica_${process.pid}_${Math.floor(Math.random() * 1e9)}`;
  await direct('postgres', [`CREATE DATABASE ${name}`]);
  // The migration files run on a plain client: src/db's pool wrapper cannot return the result of a
  // multi-statement query yet (pg answers with an array), so migrate() fails on PostgreSQL for now.
  await direct(
    name,
    readMigrations(defaultMigrationsDir()).map((m) => m.sql),
  );
  const db = await openPostgres({ ...server, database: name, sslMode: 'disable', connectAttempts: 1, poolMax: 2 });
  return {
    db,
    async dispose() {
      await db.close();
      await direct('postgres', [`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`]);
    },
  };
}

/** A fresh, migrated in-memory PGlite. */
export async function openPgliteTestDb(): Promise<TestDb> {
  const db = await openPgliteMemory();
  await migrate(db);
  return { db, dispose: () => db.close() };
}
