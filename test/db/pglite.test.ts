import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { defaultMigrationsDir, migrate, readMigrations } from '../../src/db/migrate.js';
import { openPglite } from '../../src/db/pglite.js';
import { pgliteLockPath, readPgliteLock } from '../../src/db/pglite-lock.js';
import { isAppError } from '../../src/errors.js';
import { freshPgliteDir } from '../helpers/databases.js';

const ALL_MIGRATIONS = readMigrations(defaultMigrationsDir()).length;

const cleanup: string[] = [];
afterAll(() => {
  for (const d of cleanup) fs.rmSync(d, { recursive: true, force: true });
});

describe('embedded database (PGlite)', () => {
  it('C18 a second open of the same data folder is refused with DB_LOCKED naming the holder; close releases it', async () => {
    const dir = await freshPgliteDir();
    cleanup.push(path.dirname(dir));
    const db = await openPglite(dir);
    expect(readPgliteLock(dir)?.pid).toBe(process.pid);
    await expect(openPglite(dir)).rejects.toSatisfy(
      (e: unknown) =>
        isAppError(e, 'DB_LOCKED') && e.message.includes(`in use by process ${process.pid}`) && e.message.includes(dir),
    );
    await migrate(db);
    await db.close();
    await db.close(); // idempotent
    expect(fs.existsSync(pgliteLockPath(dir))).toBe(false);
    const again = await openPglite(dir);
    const { rows } = await again.query<{ n: unknown }>('SELECT count(*) AS n FROM schema_migrations');
    expect(Number(rows[0]!.n)).toBe(ALL_MIGRATIONS); // every file in migrations/
    await again.close();
  });

  it('C18 a stale lock (its process is dead) is taken over', async () => {
    const dir = await freshPgliteDir();
    cleanup.push(path.dirname(dir));
    fs.writeFileSync(
      pgliteLockPath(dir),
      JSON.stringify({ pid: 2 ** 22 + 12345, hostname: (await import('node:os')).hostname(), startedAt: 'x' }),
    );
    const db = await openPglite(dir);
    expect(readPgliteLock(dir)?.pid).toBe(process.pid);
    await db.close();
  });

  it('C18 a folder that fails to open is moved aside (kept, not deleted) and a fresh database starts', async () => {
    const dir = await freshPgliteDir();
    cleanup.push(path.dirname(dir));
    fs.writeFileSync(path.join(dir, 'global', 'pg_control'), Buffer.alloc(8192, 7));
    fs.writeFileSync(path.join(dir, 'marker.txt'), 'user data');
    const warnings: Array<{ obj: object; msg: string }> = [];
    const logger = { warn: (obj: object, msg: string) => warnings.push({ obj, msg }), info: () => undefined };
    const db = await openPglite(dir, { logger, now: () => new Date('2026-03-01T12:00:00Z') });
    const aside = `${dir}.broken-2026-03-01T12-00-00-000Z`;
    expect(fs.readFileSync(path.join(aside, 'marker.txt'), 'utf8')).toBe('user data');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]!.obj).toMatchObject({ movedTo: aside });
    expect((await migrate(db)).applied).toHaveLength(ALL_MIGRATIONS);
    await db.close();
  });
});

describe('openDatabase without a database section', () => {
  it('opens the embedded database at <data_dir>/db', async () => {
    const dir = path.dirname(await freshPgliteDir());
    cleanup.push(dir);
    const { openDatabase } = await import('../../src/db/open.js');
    const db = await openDatabase({ dataDir: dir });
    expect(db.kind).toBe('pglite');
    expect(readPgliteLock(path.join(dir, 'db'))?.pid).toBe(process.pid);
    await db.close();
  });
});
