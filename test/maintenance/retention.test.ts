/**
 * Issue 18 point 1-2 without agents: the retention policy check (keys, values, at least one rule),
 * the settings of the maintenance schedules, Relica's retention_days on import (keep_within "<n>d",
 * 0 keeps everything, written once and kept on re-import, on PostgreSQL and PGlite), and the forget
 * of one job's history on the real restic 0.14: one group across hosts, paths and name tags, never
 * another job's snapshot, and the preview without a lock while another restic holds one.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobConfig } from '../../src/config/device-config.js';
import { settingProblem as settingValueProblem } from '../../src/config/settings-registry.js';
import { migrate } from '../../src/db/migrate.js';
import { maintenancePlan } from '../../src/maintenance/maintenance-settings.js';
import { parseRetention, parseRetentionText, keepPolicyOf } from '../../src/maintenance/retention-policy.js';
import { applyImportPlan } from '../../src/relica/apply.js';
import { planImport } from '../../src/relica/plan.js';
import { forget } from '../../src/restic/forget.js';
import { snapshots } from '../../src/restic/snapshots.js';
import { previewForget } from '../../src/tasks/forget-task.js';
import { forEachDatabase } from '../helpers/databases.js';
import { backupDirect, resticDirect, tempRepo } from '../restic/helpers.js';
import { loadSample } from '../relica/fixture.js';

describe('retention policy check', () => {
  it('accepts restic keep options and refuses unknown keys, bad values and a policy that keeps nothing', () => {
    expect(parseRetention({ keep_last: 2, keep_within: '30d' })).toEqual({
      ok: true,
      policy: { keep_last: 2, keep_within: '30d' },
    });
    expect(parseRetention(null)).toEqual({ ok: true, policy: null });
    const bad = (v: unknown) => {
      const r = parseRetention(v);
      return r.ok ? 'ok' : r.problem;
    };
    expect(bad({ keep_lats: 2 })).toMatch(/unknown key keep_lats/);
    expect(bad({ keep_last: -1 })).toMatch(/keep_last/);
    expect(bad({ keep_daily: 1.5 })).toMatch(/keep_daily/);
    expect(bad({ keep_within: '30 days' })).toMatch(/keep_within: must be a duration/);
    expect(bad({ keep_within: '0d' })).toMatch(/longer than zero/);
    expect(bad({})).toMatch(/keeps nothing/);
    expect(bad({ keep_last: 0 })).toMatch(/keeps nothing/);
    expect(bad([1])).not.toBe('ok');
    expect(parseRetentionText('none')).toEqual({ ok: true, policy: null });
    expect(parseRetentionText('{"keep_daily": 7')).toMatchObject({ ok: false });
    expect(keepPolicyOf({ keep_last: 2, keep_weekly: 4, keep_within: '1y' })).toEqual({
      last: 2,
      weekly: 4,
      within: '1y',
    });
  });

  it('maintenance settings are checked where settings are set, and a repository column overrides the setting', () => {
    expect(settingValueProblem('retention', '{"keep_last": "x"}')).toMatch(/setting retention: keep_last/);
    expect(settingValueProblem('retention', '{"keep_last": 3}')).toBeNull();
    expect(settingValueProblem('prune_schedule', '0 3 * * 0')).toBeNull();
    expect(settingValueProblem('prune_schedule', 'off')).toBeNull();
    expect(settingValueProblem('prune_schedule', 'weekly-ish')).toMatch(/prune_schedule/);
    expect(settingValueProblem('check_read_data_subset', '5%')).toBeNull();
    expect(settingValueProblem('check_read_data_subset', '150%')).toMatch(/at most 100/);
    expect(settingValueProblem('check_read_data_subset', 'half')).toMatch(/like 5%/);
    expect(settingValueProblem('prune_timeout_seconds', '5')).toMatch(/from 60/);
    const settings = { prune_schedule: '0 3 * * 0', check_schedule: '0 4 1 * *', check_read_data_subset: '' };
    expect(maintenancePlan({}, settings)).toEqual({ prune: '0 3 * * 0', check: '0 4 1 * *', readDataSubset: null });
    expect(maintenancePlan({ pruneSchedule: 'off', checkReadDataSubset: '1/10' }, settings)).toEqual({
      prune: null,
      check: '0 4 1 * *',
      readDataSubset: '1/10',
    });
  });
});

forEachDatabase('Relica retention_days on import', (getDb) => {
  beforeAll(async () => {
    await migrate(getDb());
  });
  const withRepo = { repositoryUrl: '/srv/relica-repo', password: { kind: 'file' as const, path: '/etc/rb2/pw' } };

  it('retention_days > 0 becomes keep_within "<n>d" on every job; 0 keeps everything; a re-import keeps an edited policy', async () => {
    const db = getDb();
    const zero = planImport(loadSample(), 'device1', withRepo);
    expect(zero.jobs.every((j) => j.retention === null)).toBe(true);
    const plan = planImport(
      loadSample((j) => {
        for (const d of j.read_only.destinations) d.retention_days = 30;
      }),
      'device1',
      withRepo,
    );
    expect(plan.jobs.length).toBeGreaterThan(0);
    expect(plan.jobs.every((j) => j.retention?.keep_within === '30d')).toBe(true);
    expect(plan.notCarriedOver.join('\n')).not.toMatch(/retention/);
    await applyImportPlan(db, plan);
    const ids = plan.jobs.map((j) => j.id);
    const rows = await db.query<{ retention: unknown }>(
      'SELECT retention FROM backup_jobs WHERE id = ANY($1::uuid[])',
      [ids],
    );
    expect(rows.rows.map((r) => r.retention)).toEqual(ids.map(() => ({ keep_within: '30d' })));
    await db.query(`UPDATE backup_jobs SET retention = '{"keep_last": 9}' WHERE id = $1`, [ids[0]]);
    const again = await applyImportPlan(db, plan);
    expect(again.updated.jobs).toBe(0);
    const first = await db.query<{ retention: unknown }>('SELECT retention FROM backup_jobs WHERE id = $1', [ids[0]]);
    expect(first.rows[0]?.retention).toEqual({ keep_last: 9 });
  });
});

describe('forget of one job on the real restic 0.14', () => {
  const JOB = '33333333-3333-4333-8333-333333333333';
  const OTHER = '44444444-4444-4444-8444-444444444444';
  let t: ReturnType<typeof tempRepo>;
  beforeAll(() => {
    t = tempRepo('rb2-forget-job-');
    resticDirect(t.conn, ['init']);
    const other = path.join(t.dir, 'other-src');
    fs.mkdirSync(other);
    fs.writeFileSync(path.join(other, 'b.txt'), 'b');
    // The job's history: Relica era (other host, other path, old name), then renamed, then new paths.
    backupDirect(t.conn, other, 'relica-pc', [`backup:${JOB}`, 'backup_name=device1/Docs']);
    backupDirect(t.conn, t.source, 'pc1', [`backup:${JOB}`, 'backup_name=docs']);
    backupDirect(t.conn, t.source, 'pc1', [`backup:${JOB}`, 'backup_name=docs']);
    backupDirect(t.conn, t.source, 'pc2', [`backup:${JOB}`, 'backup_name=docs-renamed']);
    backupDirect(t.conn, other, 'pc2', [`backup:${JOB}`, 'backup_name=docs-renamed']);
    // Another job's snapshots (also of pc1 and the same paths).
    backupDirect(t.conn, t.source, 'pc1', [`backup:${OTHER}`, 'backup_name=docs']);
    backupDirect(t.conn, t.source, 'pc1', [`backup:${OTHER}`, 'backup_name=docs']);
  });
  afterAll(() => t.cleanup());

  const job = (): JobConfig =>
    ({
      id: JOB,
      name: 'docs-renamed',
      repository: {
        id: null,
        name: 'test',
        url: t.conn.url,
        password: 'secret-pw',
        passwordFile: null,
        passwordCommand: null,
        cacheDir: t.conn.cacheDir,
        env: {},
      },
      retention: { keep_last: 2 },
      retentionProblem: null,
    }) as unknown as JobConfig;

  it('the preview takes no lock: it works beside a running backup, where a locking dry run fails', async () => {
    // A slow backup (300 KB at 1 KiB/s) holds restic's lock while we ask.
    const big = path.join(t.dir, 'big');
    fs.mkdirSync(big);
    fs.writeFileSync(path.join(big, 'random.bin'), randomBytes(300 * 1024));
    const env = {
      PATH: process.env.PATH,
      RESTIC_REPOSITORY: t.conn.url,
      RESTIC_PASSWORD: 'secret-pw',
      RESTIC_CACHE_DIR: t.conn.cacheDir,
    };
    const holder = spawn('restic', ['backup', '--limit-upload', '1', '--tag', 'slow', big], { env, stdio: 'ignore' });
    const exited = new Promise((r) => holder.once('exit', r));
    try {
      const locksDir = path.join(t.conn.url, 'locks');
      for (let i = 0; i < 500 && fs.readdirSync(locksDir).length === 0; i++)
        await new Promise((r) => setTimeout(r, 10));
      expect(fs.readdirSync(locksDir).length).toBe(1);
      const plan = await previewForget(job(), { connect: () => t.conn });
      expect(plan.keep.length).toBe(2);
      expect(plan.remove.length).toBe(3);
      expect(plan.keep.every((k) => k.reasons.includes('last snapshot'))).toBe(true);
      // The same dry run with a lock fails at once on the backup's lock (why previews use --no-lock).
      await expect(
        forget(t.conn, { tags: [`backup:${JOB}`], keep: { last: 2 }, groupBy: [], dryRun: true }),
      ).rejects.toMatchObject({ kind: 'locked' });
    } finally {
      holder.kill('SIGKILL');
      await exited;
      resticDirect(t.conn, ['unlock']);
    }
  }, 60_000);

  it('keep_last 2 leaves exactly the newest 2 of the job, across hosts, paths and names; the other job keeps all', async () => {
    const before = await snapshots(t.conn, { tags: [`backup:${JOB}`] });
    const groups = await forget(t.conn, {
      tags: [`backup:${JOB}`],
      keep: { last: 2 },
      groupBy: [],
      dryRun: false,
    });
    expect(groups).toHaveLength(1);
    const after = await snapshots(t.conn, { tags: [`backup:${JOB}`] });
    expect(after.map((s) => s.id).sort()).toEqual(
      [...before]
        .sort((a, b) => (a.time < b.time ? 1 : -1))
        .slice(0, 2)
        .map((s) => s.id)
        .sort(),
    );
    expect(await snapshots(t.conn, { tags: [`backup:${OTHER}`] })).toHaveLength(2);
  });
});
