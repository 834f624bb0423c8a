import { describe, expect, it } from 'vitest';
import type { RepositoryConfig } from '../../src/config/device-config.js';
import { describeSchedule, diffDeviceConfig } from '../../src/config/config-diff.js';
import { cron, device, every, job } from './helpers.js';
import { harness } from './harness.js';

const MIN = 60_000;

describe('diffDeviceConfig', () => {
  it('names added, removed and changed jobs, schedules and settings', () => {
    const s1 = cron('0 3 * * *', { id: 1 });
    const before = device([job('a', [s1], { name: 'Docs' }), job('b', [], { name: 'Photos' })], {
      max_concurrent_backups: '1',
    });
    const after = device(
      [
        job('a', [{ ...s1, cronExpression: '0 4 * * *', lastRunAt: '2026-01-01T03:00:00Z' }, every(600, { id: 2 })], {
          name: 'Docs',
          sourcePaths: ['/x'],
        }),
        job('c', [], { name: 'Mail' }),
      ],
      { max_concurrent_backups: '2' },
    );
    expect(diffDeviceConfig(before, after).map((c) => c.message)).toEqual([
      'job changed: Docs (source_paths)',
      'schedule changed: Docs cron "0 3 * * *" (local time) -> cron "0 4 * * *" (local time)',
      'schedule added: Docs every 600 s',
      'job added: Mail',
      'job removed: Photos',
      'setting changed: max_concurrent_backups 1 -> 2',
    ]);
  });

  it('ignores last_run_at/next_run_at; reports renames; never shows secrets', () => {
    const repo = (password: string): RepositoryConfig => ({
      id: 'r',
      name: 'r',
      url: '/repo',
      password,
      passwordFile: null,
      passwordCommand: null,
      cacheDir: null,
      env: {},
    });
    const s1 = cron('0 3 * * *', { id: 1 });
    const before = device([job('a', [s1], { name: 'Old', repository: repo('hunter2') })], {
      repository_password: 'pa$$',
      repository_url: 'rest:https://u:topsecret@h/r',
    });
    const after = device(
      [job('a', [{ ...s1, nextRunAt: '2026-01-02T03:00:00Z' }], { name: 'New', repository: repo('s3cr3t') })],
      {
        repository_password: 'other',
        repository_url: 'rest:https://u:changed@h/r',
      },
    );
    const msgs = diffDeviceConfig(before, after).map((c) => c.message);
    expect(msgs).toEqual([
      'job renamed: Old -> New',
      'job changed: New (repository)',
      'setting changed: repository_password (redacted)',
      'setting changed: repository_url rest:https://u:***@h/r -> rest:https://u:***@h/r',
    ]);
    expect(msgs.join('\n')).not.toMatch(/hunter2|s3cr3t|pa\$\$|other|topsecret|changed@/);
    expect(diffDeviceConfig(after, after)).toEqual([]);
    expect(describeSchedule(cron('0 3 * * *', { timezone: 'Asia/Tokyo', catchUp: false, enabled: false }))).toBe(
      'cron "0 3 * * *" (Asia/Tokyo) [disabled] [no catch-up]',
    );
  });
});

describe('Scheduler.reload', () => {
  it('moves a changed schedule, keeps the running backup on its old definition, applies the new one next time', async () => {
    const s1 = cron('0 3 * * *', { id: 1 });
    const before = device([job('a', [s1], { sourcePaths: ['/old'] })]);
    const h = harness(before, {
      start: '2026-01-01T02:59:30Z',
      durationMs: () => 10 * MIN,
    });
    h.scheduler.start();
    await h.clock.advance(MIN);
    const after = device([job('a', [{ ...s1, cronExpression: '0 5 * * *' }], { sourcePaths: ['/new'] })]);
    h.scheduler.reload(after);
    const changes = diffDeviceConfig(before, after); // what the config sync hands over with `after`
    expect(changes.map((c) => c.kind)).toEqual(['job_changed', 'schedule_changed']);
    expect(h.nextRuns.get(1)).toBe('2026-01-01T05:00:00.000Z');
    await h.clock.advanceTo('2026-01-01T05:00:30Z');
    expect(h.calls.map((c) => `${c.at} ${c.job.sourcePaths.join(',')}`)).toEqual([
      '2026-01-01T03:00:00.000Z /old',
      '2026-01-01T05:00:00.000Z /new',
    ]);
    expect(changes.map((c) => c.message)).toContain(
      'schedule changed: job-a cron "0 3 * * *" (local time) -> cron "0 5 * * *" (local time)',
    );
  });

  it('C12 removing a job drops its pending run; a removed running job just finishes', async () => {
    const before = device([job('a', [cron('0 3 * * *')]), job('b', [cron('0 3 * * *')])]);
    const h = harness(before, {
      start: '2026-01-01T02:59:30Z',
      durationMs: () => 10 * MIN,
    });
    h.scheduler.start();
    await h.clock.advance(MIN);
    expect(h.calls.map((c) => c.jobId)).toEqual(['a']);
    expect(h.scheduler.status().find((s) => s.jobId === 'b')?.queued).toBe(true);
    h.scheduler.reload(device([]));
    const changes = diffDeviceConfig(before, device([]));
    expect(changes.map((c) => c.message)).toEqual(['job removed: job-a', 'job removed: job-b']);
    expect(
      h.logs.some((l) => l.msg === 'pending run dropped: job removed' && (l.obj as { jobId: string }).jobId === 'b'),
    ).toBe(true);
    await h.clock.advance(60 * MIN);
    expect(h.calls.map((c) => c.jobId)).toEqual(['a']);
    expect(h.scheduler.status()).toEqual([]);
    expect(() => h.scheduler.trigger('a')).toThrow(/not found/);
  });

  it('max_concurrent_backups raised by reload lets queued runs start', async () => {
    const jobs = ['a', 'b', 'c'].map((id) => job(id, [cron('0 3 * * *')]));
    const h = harness(device(jobs), { start: '2026-01-01T02:59:30Z', durationMs: () => 30 * MIN });
    h.scheduler.start();
    await h.clock.advance(MIN);
    expect(h.calls).toHaveLength(1);
    h.scheduler.reload(device(jobs, { max_concurrent_backups: '3' }));
    await h.clock.advance(0);
    expect(h.calls).toHaveLength(3);
    expect(h.maxRunning).toBe(3);
  });

  it('a disabled job stops running and loses its pending run; an added schedule counts from now (no catch-up)', async () => {
    const a = job('a', [every(600, { id: 5 })]);
    const h = harness(device([a]), { start: '2026-01-01T00:00:00Z' });
    h.scheduler.start();
    await h.clock.advance(MIN);
    expect(h.calls).toHaveLength(1);
    h.scheduler.reload(device([{ ...a, enabled: false }]));
    expect(h.nextRuns.get(5)).toBeNull();
    await h.clock.advance(60 * MIN);
    expect(h.calls).toHaveLength(1);
    h.scheduler.reload(device([job('a', [every(600, { id: 5 }), cron('0 0 * * *', { id: 6 })])]));
    expect(h.nextRuns.get(6)).toBe('2026-01-02T00:00:00.000Z');
    await h.clock.advance(MIN);
    expect(h.calls.map((c) => c.triggeredBy)).toEqual(['schedule']);
  });
});
