/* global process, URL */
/**
 * The benches' data set: `files` small text files (~60 bytes each, random content) under `src`,
 * 100 per folder (d000/f0.txt ...), as overhead.mjs, cli.mjs and footprint.mjs back up. One
 * definition, so their figures are about the same data.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';

/** Create the tree below `src` (created if missing). */
export function makeSourceTree(src, files) {
  for (let d = 0; d < Math.ceil(files / 100); d++) {
    const dir = path.join(src, `d${String(d).padStart(3, '0')}`);
    fs.mkdirSync(dir, { recursive: true });
    for (let f = d * 100; f < Math.min(files, (d + 1) * 100); f++)
      fs.writeFileSync(path.join(dir, `f${f}.txt`), `file ${f} ${randomBytes(24).toString('hex')}\n`);
  }
}

/** The PostgreSQL server the benches use: RBACKUP2_TEST_PG_URL, else the local trust-auth server. */
export const PG_ADMIN_URL = process.env.RBACKUP2_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/**
 * A fresh database `rbackup2_bench_<random>` on `admin`: `{ name, url (sslmode=disable), drop() }`;
 * drop() removes it, ending its connections.
 */
export async function createBenchDatabase(admin = PG_ADMIN_URL) {
  const name = `rbackup2_bench_${randomBytes(4).toString('hex')}`;
  const sql = async (text) => {
    const c = new pg.Client({ connectionString: admin });
    await c.connect();
    try {
      await c.query(text);
    } finally {
      await c.end();
    }
  };
  await sql(`CREATE DATABASE ${name}`);
  const url = new URL(admin);
  url.pathname = `/${name}`;
  url.searchParams.set('sslmode', 'disable');
  return { name, url: url.toString(), drop: () => sql(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`) };
}

/**
 * Seed the bench job: device `deviceId`, repository `bench` (url `repoDir`, `password` stored in
 * the database), job `bench` backing up `src`, on the database of `pgDb` (else embedded in
 * `dataDir`). Returns the job exactly as the agent loads it. Needs dist/ (npm run build).
 */
export async function seedBenchJob({ pgDb, dataDir, deviceId, repoDir, password, src }) {
  const { openDatabase, migrate, upsertDevice, addRepository, addJob, loadDeviceConfig } =
    await import('../dist/db/index.js');
  const db = await openDatabase({ database: pgDb ? { url: pgDb.url, ssl_mode: 'disable' } : undefined, dataDir });
  try {
    await migrate(db);
    await upsertDevice(db, { id: deviceId });
    const repo = await addRepository(db, { name: 'bench', url: repoDir, password });
    await addJob(db, {
      deviceId,
      name: 'bench',
      sourcePaths: [src],
      excludePatterns: ['*.tmp', '.cache'],
      tags: ['bench'],
      repositoryId: repo.id,
    });
    const cfg = await loadDeviceConfig(db, deviceId, new Date(), { localZone: 'UTC' });
    return cfg.jobs.find((j) => j.name === 'bench');
  } finally {
    await db.close();
  }
}
