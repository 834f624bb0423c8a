// C25 (a source that is a symlink to a folder) and C28 (an empty mount point where the last
// success found files), with real restic 0.14 and the run lifecycle on PostgreSQL and PGlite.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ActiveRepositories } from '../../src/backup/active-repositories.js';
import { discoverRestic, type ResticVersion } from '../../src/restic/version.js';
import { runBackup } from '../../src/backup/run-backup.js';
import { systemClock } from '../../src/clock.js';
import { lastSuccessFiles, migrate, recordResticHost, upsertDevice } from '../../src/db/index.js';
import { EventBus } from '../../src/events.js';
import { silentLogger } from '../../src/logging.js';
import { observeRunMetrics } from '../../src/metrics/run-events.js';
import { BackupMetrics } from '../../src/metrics/backup-metrics.js';
import { RunLifecycle } from '../../src/runs/run-lifecycle.js';
import { DbRunStore } from '../../src/runs/run-store.js';
import { forEachDatabase } from '../helpers/databases.js';
import { makeJob, makeRepo, restic, tempDir } from './helpers.js';

let tmp: { dir: string; cleanup: () => void };
let version: ResticVersion;
beforeAll(async () => {
  tmp = tempDir('rbackup2-sources-');
  version = (await discoverRestic('restic')).version;
});
afterAll(() => tmp.cleanup());

function newRepo(name: string): string {
  const dir = path.join(tmp.dir, name);
  restic(['init', '--repo', dir], { RESTIC_PASSWORD: 'pw' });
  return dir;
}

describe('C25 a source that is a symbolic link to a folder', () => {
  it('C25 the folder the link points to is backed up (3 files, not an empty snapshot of the link), with a note', async () => {
    const real = path.join(tmp.dir, 'real-photos');
    fs.mkdirSync(real);
    for (const n of ['a', 'b', 'c']) fs.writeFileSync(path.join(real, `${n}.jpg`), n);
    const link = path.join(tmp.dir, 'Photos');
    fs.symlinkSync(real, link);
    const repo = newRepo('repo-c25');
    const r = await runBackup({
      job: makeJob({ sourcePaths: [link], repository: makeRepo({ url: repo, password: 'pw' }) }),
      restic: { path: 'restic', version },
      dataDir: path.join(tmp.dir, 'data'),
    });
    expect(r.status).toBe('success');
    expect(r.totalFilesProcessed).toBe(3);
    expect(r.warnings.join('\n')).toContain(`Source ${link} is a symbolic link to the folder ${real}`);
    const snaps = JSON.parse(restic(['snapshots', '--json', '--repo', repo], { RESTIC_PASSWORD: 'pw' })) as {
      paths: string[];
    }[];
    expect(snaps[0]?.paths).toEqual([real]);
  }, 60_000);
});

forEachDatabase('C28 empty source folder', (getDb) => {
  it('C28 C29 an emptied source folder after a successful backup with files: partial "is the disk mounted?", twice, and the last-success metric does not move; the first backup records the restic host', async () => {
    const db = getDb();
    await migrate(db);
    await upsertDevice(db, { id: 'dev-c28', name: 'c28' });
    const disk = fs.mkdtempSync(path.join(tmp.dir, 'mnt-'));
    for (let i = 0; i < 4; i++) fs.writeFileSync(path.join(disk, `f${i}`), String(i));
    const repo = newRepo(`repo-c28-${path.basename(disk)}`);
    const { rows } = await db.query<{ id: string }>(
      "INSERT INTO backup_jobs (device_id, name, source_paths) VALUES ('dev-c28', 'disk', ARRAY[$1]) RETURNING id",
      [disk],
    );
    const job = makeJob({
      id: rows[0]!.id,
      deviceId: 'dev-c28',
      name: 'disk',
      sourcePaths: [disk],
      repository: makeRepo({ url: repo, password: 'pw' }),
    });
    const metrics = new BackupMetrics({ deviceId: 'dev-c28' });
    // Metrics observe the run through the event bus, as in the agent (src/app.ts).
    const events = new EventBus();
    observeRunMetrics(events, metrics, silentLogger());
    const lifecycle = new RunLifecycle({
      deviceId: 'dev-c28',
      dataDir: path.join(tmp.dir, 'data'),
      clock: systemClock,
      events,
      store: new DbRunStore(db),
      logger: silentLogger(),
      activeRepositories: new ActiveRepositories(),
      restic: () => ({ path: 'restic', version }),
      resticError: () => null,
      previousFiles: (id) => lastSuccessFiles(db, id),
      recordResticHost: (id, h) => recordResticHost(db, id, h),
    });
    const first = await lifecycle.execute(job, 'manual');
    expect(first.status).toBe('success');
    // C29: the first backup records the job's restic host.
    expect((await db.query('SELECT restic_host FROM backup_jobs WHERE id = $1', [job.id])).rows[0]).toEqual({
      restic_host: os.hostname(),
    });
    const successLine = () => metrics.registry.getSingleMetricAsString('backup_last_success_timestamp');
    const before = await successLine();
    for (const f of fs.readdirSync(disk)) fs.rmSync(path.join(disk, f)); // the disk is "unmounted"
    for (let i = 0; i < 2; i++) {
      const r = await lifecycle.execute(job, 'manual');
      expect(r.status).toBe('partial');
      expect(r.result.errorMessage).toContain(`Source folder ${disk} is empty: is the disk mounted?`);
      expect(r.result.errorMessage).toContain('found 4 files');
    }
    expect(await successLine()).toBe(before);
    expect(await lastSuccessFiles(db, job.id)).toBe(4);
  }, 90_000);

  it('C28 an empty folder on the first backup is a plain success (nothing says it ever held files)', async () => {
    const empty = fs.mkdtempSync(path.join(tmp.dir, 'empty-'));
    const repo = newRepo(`repo-c28b-${path.basename(empty)}`);
    const r = await runBackup({
      job: makeJob({ sourcePaths: [empty], repository: makeRepo({ url: repo, password: 'pw' }) }),
      restic: { path: 'restic', version },
      dataDir: path.join(tmp.dir, 'data'),
      previousFiles: null,
    });
    expect(r.status).toBe('success');
  }, 60_000);
});
