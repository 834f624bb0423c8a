/**
 * Real databases for tests (DESIGN: every DB test runs against both): a fresh PostgreSQL database
 * on 127.0.0.1:5432 (trust auth, user postgres) per describe block, dropped afterwards, and a
 * PGlite in a temp folder. Creating a PGlite folder (initdb) costs seconds and ~800 MB once, so
 * one migrated-free template folder per PGlite version is made in the temp dir and copied.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe } from 'vitest';
import type { Database } from '../../src/db/database.js';
import { openPglite } from '../../src/db/pglite.js';
import { openPostgres } from '../../src/db/postgres.js';

export const PG_ADMIN_URL = process.env.RBACKUP2_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/** Create a fresh database `rbackup2_test_<random>`; `drop()` removes it (terminating connections). */
export async function createTempPgDatabase(): Promise<{ url: string; name: string; drop(): Promise<void> }> {
  const name = `rbackup2_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: PG_ADMIN_URL });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(PG_ADMIN_URL);
  url.pathname = `/${name}`;
  url.searchParams.set('sslmode', 'disable');
  return {
    url: url.toString(),
    name,
    async drop() {
      const c = new pg.Client({ connectionString: PG_ADMIN_URL });
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  };
}

function pgliteVersion(): string {
  const pkg = path.resolve(import.meta.dirname, '../../node_modules/@electric-sql/pglite/package.json');
  return (JSON.parse(fs.readFileSync(pkg, 'utf8')) as { version: string }).version;
}

/** A fresh, empty (initdb'd, not migrated) PGlite data folder in a new temp dir; returns its path. */
export async function freshPgliteDir(): Promise<string> {
  const template = path.join(os.tmpdir(), `rbackup2-pglite-template-${pgliteVersion()}`);
  if (!fs.existsSync(path.join(template, 'PG_VERSION'))) {
    const building = `${template}.building-${process.pid}-${randomBytes(3).toString('hex')}`;
    const db = await openPglite(building);
    await db.close();
    try {
      fs.renameSync(building, template);
    } catch {
      fs.rmSync(building, { recursive: true, force: true }); // another worker won the race
    }
    fs.rmSync(`${building}.lock`, { force: true });
  }
  const dir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'rbackup2-db-')), 'db');
  fs.cpSync(template, dir, { recursive: true });
  return dir;
}

export interface TestDatabase {
  kind: 'postgres' | 'pglite';
  db: Database;
  /** PostgreSQL: the database URL; PGlite: undefined. */
  url?: string;
  /** PGlite: the data folder; PostgreSQL: undefined. */
  dataDir?: string;
  cleanup(): Promise<void>;
}

/** Open a fresh test database of the given kind (not migrated). */
export async function openTestDatabase(kind: 'postgres' | 'pglite'): Promise<TestDatabase> {
  if (kind === 'postgres') {
    const tmp = await createTempPgDatabase();
    const db = await openPostgres({ connectionString: tmp.url, connectAttempts: 1 });
    return {
      kind,
      db,
      url: tmp.url,
      async cleanup() {
        await db.close();
        await tmp.drop();
      },
    };
  }
  const dataDir = await freshPgliteDir();
  const db = await openPglite(dataDir);
  return {
    kind,
    db,
    dataDir,
    async cleanup() {
      await db.close();
      fs.rmSync(path.dirname(dataDir), { recursive: true, force: true });
    },
  };
}

/**
 * Run the describe block `fn` twice: `<name> [postgres]` on a fresh PostgreSQL database and
 * `<name> [pglite]` on a fresh PGlite folder. `getDb()` returns the block's database (opened in
 * beforeAll, closed and removed in afterAll); `getInfo()` gives url/dataDir.
 */
export function forEachDatabase(name: string, fn: (getDb: () => Database, getInfo: () => TestDatabase) => void): void {
  for (const kind of ['postgres', 'pglite'] as const) {
    describe(`${name} [${kind}]`, () => {
      let t: TestDatabase | undefined;
      beforeAll(async () => {
        t = await openTestDatabase(kind);
      });
      afterAll(async () => {
        await t?.cleanup();
      });
      const info = () => {
        if (!t) throw new Error('test database not open yet (use getDb() inside tests or hooks)');
        return t;
      };
      fn(() => info().db, info);
    });
  }
}

/** Drop everything in the public schema (a clean slate between tests on one database). */
export async function resetSchema(db: Database): Promise<void> {
  await db.query('DROP SCHEMA public CASCADE; CREATE SCHEMA public');
}
