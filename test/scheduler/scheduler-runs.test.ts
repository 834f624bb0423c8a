import { describe, expect, it } from 'vitest';
import { isAppError } from '../../src/errors.js';
import { cron, device, every, job } from './helpers.js';
import { harness } from './harness.js';

const MIN = 60_000;

describe('Scheduler: when runs start', () => {
  it('C10 30 2 * * * in Europe/Prague (device zone) across spring-forward runs once each day', async () => {
    const h = harness(device([job('p', [cron('30 2 * * *')])]), {
      start: '2026-03-27T00:00:00Z',
      localZone: 'Europe/Prague',
    });
    h.scheduler.start();
    await h.clock.advanceTo('2026-04-01T00:00:00Z');
    expect(h.calls.map((c) => c.at)).toEqual([
      '2026-03-27T01:30:00.000Z',
      '2026-03-28T01:30:00.000Z',
      '2026-03-29T01:00:00.000Z',
      '2026-03-30T00:30:00.000Z',
      '2026-03-31T00:30:00.000Z',
    ]);
    h.assertTimerDelaysCapped();
  });

  it('C10 30 2 * * * in Europe/Prague across fall-back runs once each day, never on the repeated hour', async () => {
    const h = harness(device([job('p', [cron('30 2 * * *', { timezone: 'Europe/Prague' })])]), {
      start: '2026-10-23T12:00:00Z',
    });
    h.scheduler.start();
    await h.clock.advanceTo('2026-10-28T00:00:00Z');
    expect(h.calls.map((c) => c.at)).toEqual([
      '2026-10-24T00:30:00.000Z',
      '2026-10-25T00:30:00.000Z',
      '2026-10-26T01:30:00.000Z',
      '2026-10-27T01:30:00.000Z',
    ]);
  });

  it('one schedule per time zone: 0 9 * * * in America/New_York and Asia/Tokyo', async () => {
    const h = harness(
      device([
        job('ny', [cron('0 9 * * *', { timezone: 'America/New_York' })]),
        job('tokyo', [cron('0 9 * * *', { timezone: 'Asia/Tokyo' })]),
      ]),
      { start: '2026-06-01T00:00:01Z' },
    );
    h.scheduler.start();
    await h.clock.advanceTo('2026-06-02T12:00:00Z');
    expect(h.summary()).toEqual(['ny schedule 2026-06-01T13:00:00.000Z', 'tokyo schedule 2026-06-02T00:00:00.000Z']);
    await h.clock.advanceTo('2026-06-02T13:00:30Z');
    expect(h.summary()[2]).toBe('ny schedule 2026-06-02T13:00:00.000Z');
  });

  it('a job with two cron schedules (Relica: 09:00 and 21:00) runs at both, naming the schedule', async () => {
    const morning = cron('0 9 * * *');
    const evening = cron('0 21 * * *');
    const h = harness(device([job('r', [morning, evening])]), { start: '2026-05-01T08:00:00Z' });
    h.scheduler.start();
    await h.clock.advanceTo('2026-05-02T22:00:00Z');
    expect(h.calls.map((c) => `${c.scheduleId} ${c.at}`)).toEqual([
      `${morning.id} 2026-05-01T09:00:00.000Z`,
      `${evening.id} 2026-05-01T21:00:00.000Z`,
      `${morning.id} 2026-05-02T09:00:00.000Z`,
      `${evening.id} 2026-05-02T21:00:00.000Z`,
    ]);
    const st = h.scheduler.status()[0];
    expect(st?.nextRunAt?.toISOString()).toBe('2026-05-03T09:00:00.000Z');
    expect(st?.nextScheduleId).toBe(morning.id);
  });

  it('a 6-field cron fires on its second', async () => {
    const h = harness(device([job('s', [cron('30 15 4 * * *')])]), { start: '2026-01-01T04:00:00Z' });
    h.scheduler.start();
    await h.clock.advance(20 * MIN);
    expect(h.calls.map((c) => c.at)).toEqual(['2026-01-01T04:15:30.000Z']);
  });

  it('an interval schedule never run starts at once, then every interval from the run start', async () => {
    const h = harness(device([job('i', [every(900)])]), { start: '2026-01-01T00:00:00Z' });
    h.scheduler.start();
    await h.clock.advance(31 * MIN);
    expect(h.calls.map((c) => `${c.triggeredBy} ${c.at}`)).toEqual([
      'schedule 2026-01-01T00:00:00.000Z',
      'schedule 2026-01-01T00:15:00.000Z',
      'schedule 2026-01-01T00:30:00.000Z',
    ]);
  });

  it('a schedule that cannot be computed is reported; other jobs still run', async () => {
    const h = harness(device([job('bad', [cron('0 0 30 2 *')]), job('ok', [cron('*/10 * * * *')])]), {
      start: '2026-01-01T00:01:00Z',
    });
    h.scheduler.start();
    await h.clock.advance(10 * MIN);
    expect(h.summary()).toEqual(['ok schedule 2026-01-01T00:10:00.000Z']);
    const bad = h.scheduler.status().find((s) => s.jobId === 'bad');
    expect(bad?.nextRunAt).toBeNull();
    expect(bad?.scheduleErrors[0]?.error).toMatch(/never fires/);
  });
});

describe('Scheduler: queue, coalescing and concurrency (C12)', () => {
  it('C12 manual trigger while the job runs: never two executions, answered already_running', async () => {
    const h = harness(device([job('a', [cron('0 3 * * *')])]), {
      start: '2026-01-01T02:59:00Z',
      durationMs: () => 30 * MIN,
    });
    h.scheduler.start();
    await h.clock.advance(2 * MIN);
    expect(h.calls).toHaveLength(1);
    expect(h.scheduler.trigger('a')).toEqual({ state: 'already_running' });
    expect(h.scheduler.status()[0]).toMatchObject({ running: true, queued: false, runningTriggeredBy: 'schedule' });
    await h.clock.advance(40 * MIN);
    expect(h.calls).toHaveLength(1);
    expect(h.scheduler.trigger('a')).toEqual({ state: 'started', position: 0 });
    expect(h.calls.map((c) => c.triggeredBy)).toEqual(['schedule', 'manual']);
    expect(h.overlaps).toEqual([]);
  });

  it('C12 a 5-minute interval job whose backup takes 10 minutes does not pile up', async () => {
    const h = harness(device([job('a', [every(300)])]), { start: '2026-01-01T00:00:00Z', durationMs: () => 10 * MIN });
    h.scheduler.start();
    let maxQueued = 0;
    for (let i = 0; i < 120; i += 1) {
      await h.clock.advance(30_000);
      if (h.scheduler.status()[0]?.queued) maxQueued += 1;
    }
    expect(h.overlaps).toEqual([]);
    expect(maxQueued).toBe(0);
    // Back to back at most (starts at 0, 10, ..., 60 min), never 13 runs for 13 due times.
    expect(h.calls.length).toBeGreaterThanOrEqual(5);
    expect(h.calls.length).toBeLessThanOrEqual(7);
    const starts = h.calls.map((c) => Date.parse(c.at));
    for (let i = 1; i < starts.length; i += 1)
      expect((starts[i] ?? 0) - (starts[i - 1] ?? 0)).toBeGreaterThanOrEqual(10 * MIN);
    expect(h.calls.every((c) => c.triggeredBy === 'schedule')).toBe(true);
  });

  it('max_concurrent_backups is respected and manual triggers go ahead of scheduled runs', async () => {
    const jobs = ['a', 'b', 'c', 'd'].map((id) => job(id, [cron('0 3 * * *')]));
    jobs.push(job('m', []));
    const h = harness(device(jobs, { max_concurrent_backups: '2' }), {
      start: '2026-01-01T02:59:30Z',
      durationMs: () => 10 * MIN,
    });
    h.scheduler.start();
    await h.clock.advance(MIN);
    expect(h.calls.map((c) => c.jobId).sort()).toEqual(['a', 'b']);
    expect(h.scheduler.trigger('m')).toEqual({ state: 'queued', position: 1 });
    expect(h.scheduler.trigger('m')).toEqual({ state: 'already_queued', position: 1 });
    await h.clock.advance(10 * MIN);
    expect(h.calls.slice(2).map((c) => `${c.jobId} ${c.triggeredBy}`)).toEqual(['m manual', 'c schedule']);
    await h.clock.advance(30 * MIN);
    expect(h.calls.map((c) => c.jobId)).toContain('d');
    expect(h.maxRunning).toBe(2);
    expect(() => h.scheduler.trigger('nope')).toThrow(/job nope not found/);
  });
});

describe('Scheduler: retries', () => {
  it('a failed scheduled run is retried after retry_delay_seconds until it succeeds', async () => {
    const h = harness(device([job('a', [cron('0 3 * * *')])], { retry_delay_seconds: '600' }), {
      start: '2026-01-01T02:59:00Z',
      status: (_j, n) => (n < 2 ? 'failed' : 'success'),
    });
    h.scheduler.start();
    await h.clock.advance(3 * 60 * MIN);
    // Runs take 1 min: 03:00 fails, 03:11 (03:01 + 10 min) fails, 03:22 succeeds, then nothing.
    expect(h.calls.map((c) => `${c.triggeredBy} ${c.at}`)).toEqual([
      'schedule 2026-01-01T03:00:00.000Z',
      'schedule 2026-01-01T03:11:00.000Z',
      'schedule 2026-01-01T03:22:00.000Z',
    ]);
    expect(h.scheduler.status()[0]).toMatchObject({ retryAt: null, retryAttemptsMade: 0 });
  });

  it('gives up after retry_max_attempts and never retries past the next regular run', async () => {
    const h = harness(
      device([job('a', [cron('0 * * * *')])], { retry_delay_seconds: '1500', retry_max_attempts: '3' }),
      {
        start: '2026-01-01T02:59:00Z',
        status: () => 'failed',
      },
    );
    h.scheduler.start();
    await h.clock.advance(62 * MIN);
    // 03:00 fails at 03:01; a retry at 03:26 is before 04:00; it fails at 03:27, and 03:52 is before 04:00 too;
    // that fails at 03:53 and 04:18 would be after 04:00: no third retry.
    expect(h.calls.map((c) => c.at)).toEqual([
      '2026-01-01T03:00:00.000Z',
      '2026-01-01T03:26:00.000Z',
      '2026-01-01T03:52:00.000Z',
      '2026-01-01T04:00:00.000Z',
    ]);
    const h2 = harness(
      device([job('a', [cron('0 3 * * *')])], { retry_delay_seconds: '60', retry_max_attempts: '3' }),
      {
        start: '2026-01-01T02:59:00Z',
        status: () => 'failed',
      },
    );
    h2.scheduler.start();
    await h2.clock.advance(3 * 60 * MIN);
    expect(h2.calls).toHaveLength(4);
    expect(h2.logs.some((l) => /gave up after 3 retries/.test(l.msg))).toBe(true);
  });
});

describe('Scheduler: stop', () => {
  it('stop() starts nothing new, drops pending runs and resolves when the running backup ends', async () => {
    const h = harness(device([job('a', [cron('0 3 * * *')]), job('b', [cron('0 3 * * *')])]), {
      start: '2026-01-01T02:59:30Z',
      durationMs: () => 5 * MIN,
    });
    h.scheduler.start();
    await h.clock.advance(MIN);
    expect(h.calls).toHaveLength(1);
    let stopped = false;
    const p = h.scheduler.stop().then(() => {
      stopped = true;
    });
    await h.clock.advance(MIN);
    expect(stopped).toBe(false);
    await h.clock.advance(5 * MIN);
    await p;
    expect(stopped).toBe(true);
    expect(h.calls).toHaveLength(1);
    try {
      h.scheduler.trigger('a');
      expect.unreachable();
    } catch (err) {
      expect(isAppError(err, 'CONFLICT')).toBe(true);
    }
    expect(h.clock.pendingTimers).toBe(0);
  });
});
