/**
 * Issue 22: what one agent costs a fleet's database. One check-in statement per tick (heartbeat
 * + change marker) that fires no trigger (migration 007); a global change reloads after a random
 * delay bounded by 10 % of the tick and by the fleet size (no reload herd), a change of the
 * device itself at once; `listen: false` says why it polls; the pool keeps its connection between
 * ticks instead of reconnecting.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/clock.js';
import { ConfigSync, RELOAD_SPREAD_MS_PER_DEVICE, type ListenMode } from '../../src/sync/config-sync.js';
import type { Database, Queryable } from '../../src/db/database.js';
import { openPostgres } from '../../src/db/postgres.js';
import { createTempPgDatabase, forEachDatabase } from '../helpers/databases.js';
import { captureLog, seed } from './harness.js';

const DEVICE = 'fleet-scale';

/** `db` with every statement counted (top level and inside transactions). */
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
    listen: (channel, cb, o) => db.listen(channel, cb, o),
    close: () => db.close(),
  };
  return { db: wrapped, queries };
}

/** A ConfigSync of DEVICE whose random reload delay is the end of the spread; `loads()` counts its config loads. */
function syncAtEndOfSpread(db: Database, listen: ListenMode): { sync: ConfigSync; loads: () => number } {
  let loads = 0;
  const sync = new ConfigSync({
    db,
    deviceId: DEVICE,
    dataDir: fs.mkdtempSync(path.join(os.tmpdir(), 'rbackup2-fleet-')),
    clock: systemClock,
    logger: captureLog().logger,
    localZone: 'UTC',
    listen,
    random: () => 0.999,
    onChange: () => {
      loads++;
    },
  });
  return { sync, loads: () => loads };
}

forEachDatabase('fleet scale: one agent', (getDb) => {
  beforeAll(async () => {
    await seed(getDb(), { device: DEVICE, repoDir: '/nonexistent/repo', sourceDir: '/srv/data', jobName: 'Docs' });
    // a fleet of 1 000 devices as PostgreSQL's statistics see it (pg_class.reltuples)
    await getDb().query("INSERT INTO devices (id, name) SELECT 'other-' || g, 'Other' FROM generate_series(1, 999) g");
    await getDb().query('ANALYZE devices');
  });

  it('one check-in statement per tick records last_seen and reads the marker; it fires no trigger (updated_at, marker unchanged)', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'rbackup2-fleet-'));
    const { db, queries } = counting(getDb());
    const sync = new ConfigSync({
      db,
      deviceId: DEVICE,
      dataDir,
      clock: systemClock,
      logger: captureLog().logger,
      localZone: 'UTC',
      listen: false,
      heartbeat: { hostname: 'host-a', metadata: { agent_version: 'test' } },
      onChange: () => undefined,
    });
    await sync.loadInitial();
    await sync.checkNow('first'); // writes hostname/metadata once (registration does, in the agent)
    await sync.checkNow('second'); // ... which was a device change: reloaded here
    const before = (
      await getDb().query<{ updated_at: Date; last_seen: Date }>(
        'SELECT updated_at, last_seen FROM devices WHERE id = $1',
        [DEVICE],
      )
    ).rows[0];
    const marker = (
      await getDb().query<{ version: string }>('SELECT version FROM config_versions WHERE device_id = $1', [DEVICE])
    ).rows[0]?.version;
    await new Promise((r) => setTimeout(r, 20));
    queries.length = 0;
    await sync.checkNow('tick');
    expect(queries).toHaveLength(1);
    expect(queries[0]).toMatch(/UPDATE devices SET last_seen = now\(\)[\s\S]*FROM config_versions/);
    const after = (
      await getDb().query<{ updated_at: Date; last_seen: Date }>(
        'SELECT updated_at, last_seen FROM devices WHERE id = $1',
        [DEVICE],
      )
    ).rows[0];
    expect(after?.last_seen.getTime()).toBeGreaterThan(before?.last_seen.getTime() ?? Infinity);
    expect(after?.updated_at.getTime()).toBe(before?.updated_at.getTime());
    expect(
      (await getDb().query<{ version: string }>('SELECT version FROM config_versions WHERE device_id = $1', [DEVICE]))
        .rows[0]?.version,
    ).toBe(marker);
    expect(sync.status()).toMatchObject({ listening: false, pollingReason: 'database.listen is false' });
    // a real device change (metadata of the admin) still bumps the marker and updated_at
    await getDb().query(`UPDATE devices SET metadata = metadata || '{"site":"b"}' WHERE id = $1`, [DEVICE]);
    const bumped = (
      await getDb().query<{ version: string; u: Date }>(
        'SELECT version, (SELECT updated_at FROM devices WHERE id = $1) AS u FROM config_versions WHERE device_id = $1',
        [DEVICE],
      )
    ).rows[0];
    expect(bumped?.version).not.toBe(marker);
    expect(bumped?.u.getTime()).toBeGreaterThan(after?.updated_at.getTime() ?? Infinity);
    await sync.stop();
  });

  it('a global change reloads after a random delay within min(10 % of the tick, fleet x 2 ms); a device change at once', async () => {
    const { sync, loads } = syncAtEndOfSpread(getDb(), false);
    await sync.loadInitial();
    const bound = Math.min(300 * 100, 1000 * RELOAD_SPREAD_MS_PER_DEVICE); // sync 300 s; ~1 000 devices
    await getDb().query(
      "UPDATE settings SET value = (value::int + 1)::text WHERE device_id IS NULL AND key = 'run_retention_days'",
    );
    const t0 = Date.now();
    await sync.checkNow('global change');
    const waited = Date.now() - t0;
    expect(loads()).toBe(2);
    expect(sync.reloadDelaysMs).toHaveLength(1);
    expect(sync.reloadDelaysMs[0]).toBeGreaterThan(0.9 * bound * 0.9); // reltuples is an estimate
    expect(sync.reloadDelaysMs[0]).toBeLessThanOrEqual(bound * 1.1);
    expect(waited).toBeGreaterThanOrEqual((sync.reloadDelaysMs[0] ?? 0) - 5);
    await getDb().query("UPDATE backup_jobs SET source_paths = ARRAY['/srv/new'] WHERE device_id = $1", [DEVICE]);
    await sync.checkNow('device change');
    expect(loads()).toBe(3);
    expect(sync.reloadDelaysMs).toHaveLength(1);
    await sync.stop();
  });

  it('a NOTIFY of a global change waits the spread, then reloads once without a check-in (no check-in herd)', async () => {
    const { sync, loads } = syncAtEndOfSpread(getDb(), 'auto');
    await sync.loadInitial();
    await sync.start();
    expect(sync.status().listening).toBe(true);
    const checks = sync.checks;
    const bound = Math.min(300 * 100, 1000 * RELOAD_SPREAD_MS_PER_DEVICE);
    const t0 = Date.now();
    await getDb().query(
      "UPDATE settings SET value = (value::int + 1)::text WHERE device_id IS NULL AND key = 'run_retention_days'",
    );
    // The NOTIFY arrives (on a loaded machine not always within a few ms) and the spread is chosen;
    // while it runs no check-in has been made yet.
    await expect.poll(() => sync.reloadDelaysMs.length, { timeout: bound / 2 }).toBe(1);
    expect(sync.checks).toBe(checks);
    expect(loads()).toBe(1);
    const spreadEnds = t0 + (sync.reloadDelaysMs[0] ?? 0);
    if (Date.now() < spreadEnds - 300) {
      await new Promise((r) => setTimeout(r, Math.min(bound / 2, spreadEnds - 300 - Date.now())));
      expect(sync.checks).toBe(checks); // still waiting
      expect(loads()).toBe(1);
    }
    while (loads() < 2 && Date.now() - t0 < bound * 3) await new Promise((r) => setTimeout(r, 20));
    expect(loads()).toBe(2);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(0.9 * bound * 0.9);
    // after the wait one full load and no check-in (the NOTIFY said a global change is there), and
    // no second spread
    expect(sync.checks).toBe(checks);
    expect(sync.reloadDelaysMs).toHaveLength(1);
    await sync.stop();
  });
});

describe('fleet scale: the pool between ticks', () => {
  it('an idle agent keeps its one pool connection between ticks (no reconnect per tick)', async () => {
    const tmp = await createTempPgDatabase();
    const db = await openPostgres({ connectionString: tmp.url, connectAttempts: 1 });
    try {
      const pid = async () => (await db.query<{ p: number }>('SELECT pg_backend_pid() AS p')).rows[0]?.p;
      const first = await pid();
      await new Promise((r) => setTimeout(r, 12_000)); // longer than the pool's idle time-out (10 s)
      expect(await pid()).toBe(first);
    } finally {
      await db.close();
      await tmp.drop();
    }
  }, 30_000);
});
