import { beforeAll, expect, it } from 'vitest';
import { CONFIG_CHANNEL, getConfigVersion } from '../../src/db/device-config-query.js';
import { migrate } from '../../src/db/migrate.js';
import { upsertDevice } from '../../src/db/queries/devices.js';
import { addJob } from '../../src/db/queries/jobs.js';
import { addSchedule } from '../../src/db/queries/schedules.js';
import { setSetting } from '../../src/db/queries/settings.js';
import { forEachDatabase } from '../helpers/databases.js';

async function waitFor(pred: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 20));
  }
}

forEachDatabase('config change marker', (getDb) => {
  beforeAll(async () => {
    await migrate(getDb());
    await upsertDevice(getDb(), { id: 'cm-1' });
    await upsertDevice(getDb(), { id: 'cm-2' });
  });

  it('an UPDATE of backup_jobs by plain SQL bumps the version and NOTIFY arrives on listen()', async () => {
    const db = getDb();
    const job = await addJob(db, { deviceId: 'cm-1', name: 'j', sourcePaths: ['/a'] });
    const got: string[] = [];
    const unlisten = await db.listen(CONFIG_CHANNEL, (p) => got.push(p));
    const v1 = await getConfigVersion(db, 'cm-1');
    const other = await getConfigVersion(db, 'cm-2');
    await db.query(`UPDATE backup_jobs SET source_paths = ARRAY['/srv/x'] WHERE id = '${job.id}'`);
    const v2 = await getConfigVersion(db, 'cm-1');
    expect(v2).not.toBe(v1);
    expect(await getConfigVersion(db, 'cm-2')).toBe(other);
    await waitFor(() => got.includes('cm-1'));
    // A no-op update (same values) does not bump.
    await db.query(`UPDATE backup_jobs SET source_paths = ARRAY['/srv/x'] WHERE id = '${job.id}'`);
    expect(await getConfigVersion(db, 'cm-1')).toBe(v2);
    await unlisten();
    const before = got.length;
    await db.query(`UPDATE backup_jobs SET source_paths = ARRAY['/srv/y'] WHERE id = '${job.id}'`);
    await new Promise((r) => setTimeout(r, 200));
    expect(got.length).toBe(before);
  });

  it('schedules, hooks, device settings bump the device; global settings and repositories bump "*" for everyone', async () => {
    const db = getDb();
    const job = await addJob(db, { deviceId: 'cm-1', name: 'k', sourcePaths: ['/a'] });
    let v = await getConfigVersion(db, 'cm-1');
    const step = async (sql: string, params: unknown[] = []) => {
      await db.query(sql, params);
      const n = await getConfigVersion(db, 'cm-1');
      expect(n, sql).not.toBe(v);
      v = n;
    };
    await addSchedule(db, { jobId: job.id, type: 'interval', intervalSeconds: 60 });
    expect(await getConfigVersion(db, 'cm-1')).not.toBe(v);
    v = await getConfigVersion(db, 'cm-1');
    await step('UPDATE schedules SET interval_seconds = 120 WHERE job_id = $1', [job.id]);
    await step("INSERT INTO backup_hooks (job_id, command, timing) VALUES ($1, 'true', 'start')", [job.id]);
    await step("UPDATE settings SET value = '7' WHERE device_id IS NULL AND key = 'run_retention_days'");
    await step("INSERT INTO repositories (name, url) VALUES ('r', '/r')");
    await setSetting(db, { deviceId: 'cm-1', key: 'max_concurrent_backups', value: '2' });
    expect(await getConfigVersion(db, 'cm-1')).not.toBe(v);
    v = await getConfigVersion(db, 'cm-1');
    await step('DELETE FROM backup_jobs WHERE id = $1', [job.id]);
    // The device heartbeat is not a config change.
    await db.query("UPDATE devices SET last_seen = now() WHERE id = 'cm-1'");
    expect(await getConfigVersion(db, 'cm-1')).toBe(v);
  });
});
