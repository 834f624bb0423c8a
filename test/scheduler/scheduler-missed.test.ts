import { describe, expect, it } from 'vitest';
import { cron, device, every, job } from './helpers.js';
import { harness } from './harness.js';

const H = 3_600_000;

/** Asserts the ISO time `at` lies in [from, from + ms]. */
function within(at: string, from: number, ms: number): void {
  const t = Date.parse(at);
  expect(t).toBeGreaterThanOrEqual(from);
  expect(t).toBeLessThanOrEqual(from + ms);
}

describe('Scheduler: missed runs (C08) and clock jumps (C09)', () => {
  it('C08 interval: agent off for five periods -> one missed run at start, then the regular one', async () => {
    const h = harness(device([job('a', [every(3600, { lastRunAt: '2026-01-01T10:00:00Z' })])]), {
      start: '2026-01-01T15:00:00Z',
    });
    h.scheduler.start();
    await h.clock.advance(0);
    expect(h.summary()).toEqual(['a missed 2026-01-01T15:00:00.000Z']);
    await h.clock.advance(H + 1000);
    expect(h.summary()).toEqual(['a missed 2026-01-01T15:00:00.000Z', 'a schedule 2026-01-01T16:00:00.000Z']);
    h.assertTimerDelaysCapped();
  });

  it('C08 cron: agent off for one period (a day) -> exactly one missed run', async () => {
    const h = harness(device([job('a', [cron('0 3 * * *', { lastRunAt: '2026-01-01T03:00:00Z' })])]), {
      start: '2026-01-02T10:00:00Z',
    });
    h.scheduler.start();
    await h.clock.advance(10 * 60_000);
    expect(h.summary()).toEqual(['a missed 2026-01-02T10:00:00.000Z']);
  });

  it('C08 machine sleeps over many hourly and daily periods -> one catch-up per job, never two after wake-up', async () => {
    const h = harness(
      device([job('hourly', [cron('0 * * * *')]), job('daily', [cron('0 3 * * *'), cron('0 4 * * *')])], {
        max_concurrent_backups: '2',
      }),
      { start: '2026-01-01T01:59:00Z' },
    );
    h.scheduler.start();
    await h.clock.advance(2 * 60_000); // the 02:00 hourly run happens
    expect(h.summary()).toEqual(['hourly schedule 2026-01-01T02:00:00.000Z']);
    h.clock.jumpWallClock(7 * H); // suspended from 02:01 to 09:01 (monotonic clock stopped)
    const woke = h.clock.now();
    await h.clock.advance(60_000);
    expect(h.logs.some((l) => l.level === 'warn' && /wall clock jumped/.test(l.msg))).toBe(true);
    expect(
      h.calls
        .slice(1)
        .map((c) => `${c.jobId} ${c.triggeredBy}`)
        .sort(),
    ).toEqual(['daily missed', 'hourly missed']);
    for (const c of h.calls.slice(1)) within(c.at, woke, 60_000);
    await h.clock.advance(50 * 60_000); // up to 09:52: nothing more
    expect(h.calls).toHaveLength(3);
    await h.clock.advance(10 * 60_000); // 10:00 hourly
    expect(h.summary().slice(3)).toEqual(['hourly schedule 2026-01-01T10:00:00.000Z']);
    expect(h.overlaps).toEqual([]);
    h.assertTimerDelaysCapped();
  });

  it('C08 catch_up false: nothing after wake-up; the next regular time still runs', async () => {
    const h = harness(device([job('a', [cron('0 3 * * *', { catchUp: false })])]), { start: '2026-01-01T02:00:00Z' });
    h.scheduler.start();
    h.clock.jumpWallClock(5 * H);
    await h.clock.advance(2 * H);
    expect(h.calls).toEqual([]);
    await h.clock.advanceTo('2026-01-02T03:00:01Z');
    expect(h.summary()).toEqual(['a schedule 2026-01-02T03:00:00.000Z']);
  });

  it('C08 waking within the grace period gives an on-time scheduled run, not a missed one', async () => {
    const h = harness(device([job('a', [cron('0 3 * * *')])]), { start: '2026-01-01T02:58:00Z' });
    h.scheduler.start();
    await h.clock.advance(30_000);
    h.clock.jumpWallClock(3 * 60_000); // 02:58:30 -> 03:01:30
    const woke = h.clock.now();
    await h.clock.advance(60_000);
    expect(h.calls.map((c) => c.triggeredBy)).toEqual(['schedule']);
    within(h.calls[0]?.at ?? '', woke, 60_000);
  });

  it('C09 monthly 0 3 1 * *: fires once at the right time, every timer delay capped at 60 s', async () => {
    const h = harness(device([job('m', [cron('0 3 1 * *', { lastRunAt: '2026-01-01T03:00:00Z' })])]), {
      start: '2026-01-01T04:00:00Z',
    });
    h.scheduler.start();
    const sid = [...h.nextRuns.keys()][0];
    expect(h.nextRuns.get(sid as number)).toBe('2026-02-01T03:00:00.000Z');
    await h.clock.advanceTo('2026-02-01T02:59:59Z');
    expect(h.calls).toEqual([]);
    await h.clock.advance(2000);
    expect(h.summary()).toEqual(['m schedule 2026-02-01T03:00:00.000Z']);
    await h.clock.advanceTo('2026-02-02T00:00:00Z');
    expect(h.calls).toHaveLength(1);
    expect(h.nextRuns.get(sid as number)).toBe('2026-03-01T03:00:00.000Z');
    h.assertTimerDelaysCapped();
    expect(h.clock.maxRequestedDelay).toBeLessThan(2 ** 31 - 1);
  });

  it('C09 a wall-clock jump past the due time is noticed within 60 s; a backward jump does not repeat the run', async () => {
    const h = harness(device([job('m', [cron('0 3 1 * *')])]), { start: '2026-01-31T02:00:00Z' });
    h.scheduler.start();
    await h.clock.advance(10_000);
    h.clock.jumpWallClock(26 * H); // NTP step / resume: now 2026-02-01T04:00:10
    const jumped = h.clock.now();
    await h.clock.advance(60_000);
    expect(h.calls.map((c) => c.triggeredBy)).toEqual(['missed']);
    within(h.calls[0]?.at ?? '', jumped, 60_000);
    h.clock.jumpWallClock(-2 * H); // back to 02:01:10 on Feb 1, before the 03:00 run time
    await h.clock.advance(3 * H);
    expect(h.calls).toHaveLength(1);
    expect(h.logs.filter((l) => /wall clock jumped/.test(l.msg))).toHaveLength(2);
  });
});
