/**
 * Run-history cleanup (src/runs/run-history-cleanup.ts) on both databases: old finished runs go, running
 * ones and young ones stay, a device's own run_retention_days wins over the global one, the prune
 * happens at most once per period fleet-wide (marker row), and two agents cleaning up at the same
 * moment never both delete (advisory lock).
 */
import { expect, it } from 'vitest';
import { migrate, setSetting, upsertDevice, type Database } from '../../src/db/index.js';
import { openPostgres } from '../../src/db/postgres.js';
import {
  deleteOldRuns,
  RunHistoryCleanup,
  RUN_HISTORY_CLEANUP_LOCK_KEY,
  RUN_HISTORY_CLEANUP_MARKER_KEY,
} from '../../src/runs/run-history-cleanup.js';
import type { Clock } from '../../src/clock.js';
import { forEachDatabase } from '../helpers/databases.js';

const JOB = '11111111-1111-4111-8111-111111111111';

async function addRun(db: Database, device: string, daysAgo: number, status = 'success'): Promise<number> {
  const { rows } = await db.query<{ id: number }>(
    `INSERT INTO runs (job_id, device_id, start_time, end_time, status) VALUES ($1, $2, now() - make_interval(days => $3), now() - make_interval(days => $3), $4) RETURNING id`,
    [JOB, device, daysAgo, status],
  );
  return Number(rows[0]?.id);
}

async function runIds(db: Database): Promise<number[]> {
  const { rows } = await db.query<{ id: number }>('SELECT id FROM runs ORDER BY id');
  return rows.map((r) => Number(r.id));
}

async function configVersion(db: Database): Promise<number> {
  const { rows } = await db.query<{ v: string }>(
    "SELECT COALESCE((SELECT version FROM config_versions WHERE device_id = '*'), 0)::text AS v",
  );
  return Number(rows[0]?.v);
}

forEachDatabase('run history cleanup', (getDb, getInfo) => {
  it('deletes finished runs older than run_retention_days (device value over global), keeps running and young ones, once per period', async () => {
    const db = getDb();
    await migrate(db);
    await upsertDevice(db, { id: 'dev-a' });
    await upsertDevice(db, { id: 'dev-b' });
    await setSetting(db, { deviceId: null, key: 'run_retention_days', value: '30' });
    await setSetting(db, { deviceId: 'dev-b', key: 'run_retention_days', value: '400' });
    const oldA = await addRun(db, 'dev-a', 45);
    const oldFailedA = await addRun(db, 'dev-a', 31, 'failed');
    const youngA = await addRun(db, 'dev-a', 10);
    const runningA = await addRun(db, 'dev-a', 100, 'running');
    const oldB = await addRun(db, 'dev-b', 45); // device b keeps 400 days
    const veryOldB = await addRun(db, 'dev-b', 500);
    const goneDevice = await addRun(db, 'removed-device', 60); // history of a removed device: global value

    const r1 = await deleteOldRuns(db, { batchSize: 2 }); // several batches
    expect(r1).toEqual({ outcome: 'deleted', deleted: 4, marker: true });
    expect(await runIds(db)).toEqual([youngA, runningA, oldB]);
    expect([oldA, oldFailedA, veryOldB, goneDevice].every((id) => id > 0)).toBe(true);

    // Within the period nobody cleans up again, even with new old runs; the marker UPDATE bumped no config version.
    const v = await configVersion(db);
    const late = await addRun(db, 'dev-a', 50);
    expect(await deleteOldRuns(db)).toEqual({ outcome: 'not-due', deleted: 0, marker: true });
    expect(await runIds(db)).toContain(late);
    // A period of 0 s is due at once.
    expect(await deleteOldRuns(db, { periodSeconds: 0 })).toMatchObject({ outcome: 'deleted', deleted: 1 });
    expect(await configVersion(db)).toBe(v);
    const marker = await db.query('SELECT count(*)::int AS n FROM settings WHERE key = $1 AND device_id IS NULL', [
      RUN_HISTORY_CLEANUP_MARKER_KEY,
    ]);
    expect(Number(marker.rows[0]?.n)).toBe(1);
  });

  it('an invalid run_retention_days falls back to the global value, then 90 days', async () => {
    const db = getDb();
    await db.query('DELETE FROM runs');
    await setSetting(db, { deviceId: 'dev-a', key: 'run_retention_days', value: 'forever' });
    await setSetting(db, { deviceId: null, key: 'run_retention_days', value: '0' });
    const d80 = await addRun(db, 'dev-a', 80);
    await addRun(db, 'dev-a', 95);
    expect(await deleteOldRuns(db, { periodSeconds: 0 })).toMatchObject({ outcome: 'deleted', deleted: 1 });
    expect(await runIds(db)).toEqual([d80]);
  });

  it('another agent holding the cleanup lock makes this one skip (busy) [PostgreSQL: agents are processes]', async (ctx) => {
    const info = getInfo();
    if (info.kind === 'pglite') ctx.skip(); // one process per PGlite folder (C18): no second agent exists
    const other = await openPostgres({ connectionString: info.url ?? '', connectAttempts: 1 });
    try {
      await other.transaction(async (tx) => {
        await tx.query('SELECT pg_advisory_xact_lock($1)', [RUN_HISTORY_CLEANUP_LOCK_KEY]);
        const old = await addRun(getDb(), 'dev-a', 400);
        expect(await deleteOldRuns(getDb(), { periodSeconds: 0 })).toEqual({
          outcome: 'busy',
          deleted: 0,
          marker: true,
        });
        expect(await runIds(getDb())).toContain(old);
      });
      expect(await deleteOldRuns(getDb(), { periodSeconds: 0 })).toMatchObject({ outcome: 'deleted', deleted: 1 });
    } finally {
      await other.close();
    }
  });

  it('the RunHistoryCleanup timer checks after firstDelaySeconds and then every checkIntervalSeconds; stop() ends it', async () => {
    const db = getDb();
    await db.query('DELETE FROM settings WHERE key = $1', [RUN_HISTORY_CLEANUP_MARKER_KEY]); // re-created as never cleaned up
    const timers: { ms: number; fn: () => void; cancelled: boolean }[] = [];
    const clock: Clock = {
      now: () => Date.now(),
      monotonic: () => performance.now(),
      setTimer(fn, ms) {
        const t = { ms, fn, cancelled: false };
        timers.push(t);
        return () => {
          t.cancelled = true;
        };
      },
    } as Clock;
    const logs: string[] = [];
    const logger = {
      info: (_o: object, m: string) => logs.push(m),
      warn: (_o: object, m: string) => logs.push(`WARN ${m}`),
      debug: () => {},
    };
    const old = await addRun(db, 'dev-a', 1000);
    const r = new RunHistoryCleanup({ db, clock, logger, firstDelaySeconds: 5, checkIntervalSeconds: 1e9 });
    r.start();
    expect(timers.map((t) => t.ms)).toEqual([5000]);
    timers[0]?.fn();
    await expect.poll(() => timers.length, { timeout: 10_000 }).toBe(2);
    expect(timers[1]?.ms).toBe(86_400_000); // interval clamped to a day (never above 2^31-1 ms)
    expect(await runIds(db)).not.toContain(old);
    expect(logs).toContain('run history cleanup: old runs deleted');
    await r.stop();
    expect(timers[1]?.cancelled).toBe(true);
  });
});
