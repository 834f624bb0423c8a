/**
 * Issue 6: what one sync costs. An unchanged check is exactly one query (the change marker); a
 * change costs one check plus one full load in ONE statement (session 4: it was a transaction of
 * nine), logs each change by name, reloads once, and rewrites the last-known-good copy (mode 0600).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, expect, it } from 'vitest';
import { systemClock } from '../../src/clock.js';
import { ConfigSync } from '../../src/sync/config-sync.js';
import { configCachePath, readConfigCache } from '../../src/sync/config-cache.js';
import type { Database, Queryable } from '../../src/db/database.js';
import { forEachDatabase } from '../helpers/databases.js';
import { captureLog, seed } from './harness.js';

const DEVICE = 'sync-cost';

/** `db` with every statement counted (top level and inside transactions); LISTEN counted apart. */
function counting(db: Database): { db: Database; queries: string[] } {
  const queries: string[] = [];
  const wrapped: Database = {
    kind: db.kind,
    query: (sql, params) => {
      queries.push(sql);
      return db.query(sql, params);
    },
    transaction: (fn) =>
      db.transaction((tx) =>
        fn({
          query: (sql, params) => {
            queries.push(sql);
            return tx.query(sql, params);
          },
        } as Queryable),
      ),
    listen: (channel, cb) => db.listen(channel, cb),
    close: () => db.close(),
  };
  return { db: wrapped, queries };
}

forEachDatabase('config sync cost', (getDb) => {
  let jobId = '';
  beforeAll(async () => {
    jobId = await seed(getDb(), {
      device: DEVICE,
      repoDir: '/nonexistent/repo',
      sourceDir: '/srv/data',
      jobName: 'Nightly docs',
    });
  });

  it('an unchanged check runs exactly one query; a change adds one load statement, one reload, named log lines, a new cache', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'rbackup2-sync-cost-'));
    const { db, queries } = counting(getDb());
    const log = captureLog();
    const reloads: string[][] = [];
    const sync = new ConfigSync({
      db,
      deviceId: DEVICE,
      dataDir,
      clock: systemClock,
      logger: log.logger,
      localZone: 'UTC',
      listen: false,
      onChange: (_c, changes) => reloads.push(changes.map((c) => c.message)),
    });
    try {
      const first = await sync.loadInitial();
      expect(first?.jobs.map((j) => j.name)).toEqual(['Nightly docs']);
      expect(reloads).toHaveLength(1);
      const cached = await readConfigCache(dataDir, DEVICE);
      expect(cached.ok).toBe(true);
      if (process.platform !== 'win32') expect(fs.statSync(configCachePath(dataDir)).mode & 0o777).toBe(0o600);

      queries.length = 0;
      const checks0 = sync.checks;
      for (let i = 0; i < 5; i++) await sync.checkNow('test');
      expect(sync.checks - checks0).toBe(5);
      expect(queries).toHaveLength(5);
      for (const q of queries) expect(q).toMatch(/FROM config_versions/);
      expect(reloads).toHaveLength(1);

      await getDb().query('UPDATE backup_jobs SET source_paths = $1 WHERE id = $2', [['/srv/other'], jobId]);
      queries.length = 0;
      await sync.checkNow('test');
      expect(queries).toHaveLength(2); // the marker, then the whole config (marker, device, settings, jobs, ...)
      expect(queries[0]).toMatch(/FROM config_versions/);
      expect(queries[1]).toMatch(/FROM backup_jobs j WHERE j\.device_id = \$1/);
      expect(reloads).toHaveLength(2);
      expect(reloads[1]).toEqual([expect.stringContaining('Nightly docs')]);
      expect(log.lines.some((l) => l.msg === reloads[1]![0] && l.jobId === jobId)).toBe(true);
      expect(sync.config?.jobs[0]?.sourcePaths).toEqual(['/srv/other']);
      const after = await readConfigCache(dataDir, DEVICE);
      expect(after.ok && after.config.jobs[0]?.sourcePaths).toEqual(['/srv/other']);

      // and quiet again: back to one query per check
      queries.length = 0;
      await sync.checkNow('test');
      expect(queries).toHaveLength(1);
    } finally {
      await sync.stop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
