/**
 * Test-only databases for the Relica import: a fresh PostgreSQL database on 127.0.0.1:5432 and an
 * in-memory PGlite, both behind the project's Database interface, with migrations/*.sql applied in
 * order. Minimal on purpose (no LISTEN); swap in src/db's own openers once they exist.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import type { Database, Queryable, QueryResult } from '../../src/db/database.js';
import { repoRoot } from './fixture.js';

export interface TestDb {
  db: Database;
  /** Close connections and drop the database. */
  dispose(): Promise<void>;
}

function migrationSql(): string[] {
  const dir = path.join(repoRoot, 'migrations');
  return readdirSync(dir).filter((f) => f.endsWith('.sql')).sort().map((f) => readFileSync(path.join(dir, f), 'utf8'));
}

const unsupported = async (): Promise<() => Promise<void>> => { throw new Error('listen is not used by these tests'); };

/** A fresh, migrated PostgreSQL database (dropped by dispose). */
export async function openPostgresTestDb(): Promise<TestDb> {
  const name = `rbackup2_relica_${process.pid}_${Math.floor(Math.random() * 1e9)}`;
  const admin = new pg.Client({ host: '127.0.0.1', port: 5432, user: 'postgres', database: 'postgres' });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const pool = new pg.Pool({ host: '127.0.0.1', port: 5432, user: 'postgres', database: name, max: 2 });
  for (const sql of migrationSql()) await pool.query(sql);
  const wrap = (c: pg.Pool | pg.PoolClient): Queryable => ({
    async query<T>(sql: string, params?: readonly unknown[]): Promise<QueryResult<T>> {
      const r = await c.query(sql, params as unknown[] | undefined);
      return { rows: r.rows as T[], rowCount: r.rowCount ?? 0 };
    },
  });
  const db: Database = {
    kind: 'postgres',
    ...wrap(pool),
    async transaction(fn) {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        const out = await fn(wrap(client));
        await client.query('COMMIT');
        return out;
      } catch (err) {
        await client.query('ROLLBACK');
        throw err;
      } finally {
        client.release();
      }
    },
    listen: unsupported,
    close: () => pool.end(),
  };
  return {
    db,
    async dispose() {
      await pool.end();
      const a = new pg.Client({ host: '127.0.0.1', port: 5432, user: 'postgres', database: 'postgres' });
      await a.connect();
      await a.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await a.end();
    },
  };
}

/** A fresh, migrated in-memory PGlite. */
export async function openPgliteTestDb(): Promise<TestDb> {
  const lite = new PGlite();
  for (const sql of migrationSql()) await lite.exec(sql);
  const wrap = (c: Pick<PGlite, 'query'>): Queryable => ({
    async query<T>(sql: string, params?: readonly unknown[]): Promise<QueryResult<T>> {
      const r = await c.query<T>(sql, params as unknown[] | undefined);
      return { rows: r.rows, rowCount: r.affectedRows || r.rows.length };
    },
  });
  const db: Database = {
    kind: 'pglite',
    ...wrap(lite),
    transaction: (fn) => lite.transaction((tx) => fn(wrap(tx))),
    listen: unsupported,
    close: () => lite.close(),
  };
  return { db, dispose: () => lite.close() };
}
