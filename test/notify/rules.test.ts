/**
 * Issue 19 pure rules: one notification per streak; the stale limit when stale_after_seconds is
 * unset (2 x the longest gap between due times over 30 days + grace), with cron and interval
 * schedules; stable notification ids.
 */
import { expect, it } from 'vitest';
import type { ScheduleConfig } from '../../src/config/device-config.js';
import { stableId } from '../../src/notify/events.js';
import { longestGapSeconds, staleThresholdSeconds } from '../../src/notify/stale.js';
import { streakEvent } from '../../src/notify/streak.js';

const sched = (p: Partial<ScheduleConfig>): ScheduleConfig => ({
  id: 1,
  jobId: 'j',
  type: 'cron',
  cronExpression: null,
  intervalSeconds: null,
  timezone: 'UTC',
  catchUp: true,
  enabled: true,
  lastRunAt: null,
  nextRunAt: null,
  ...p,
});
const now = new Date('2026-03-02T10:00:00Z'); // a Monday

it('one notification per streak', () => {
  expect(streakEvent(null, 'failed')).toBe('run.failed');
  expect(streakEvent('success', 'failed')).toBe('run.failed');
  expect(streakEvent('failed', 'failed')).toBeNull();
  expect(streakEvent('failed', 'success')).toBe('run.recovered');
  expect(streakEvent('partial', 'success')).toBe('run.recovered');
  expect(streakEvent('success', 'success')).toBeNull();
  expect(streakEvent(null, 'success')).toBeNull();
  expect(streakEvent('success', 'partial')).toBe('run.partial');
  expect(streakEvent('partial', 'partial')).toBeNull();
});

it('stale limit: daily cron, weekdays-only cron, interval, several schedules, explicit setting', () => {
  expect(longestGapSeconds([sched({ cronExpression: '0 12 * * *' })], now, 'UTC')).toBe(86_400);
  // Mon-Fri at 12:00: the longest gap is Friday 12:00 -> Monday 12:00
  expect(longestGapSeconds([sched({ cronExpression: '0 12 * * 1-5' })], now, 'UTC')).toBe(3 * 86_400);
  expect(longestGapSeconds([sched({ type: 'interval', intervalSeconds: 3600 })], now, 'UTC')).toBe(3600);
  // an interval longer than the 30-day window keeps its own gap
  expect(longestGapSeconds([sched({ type: 'interval', intervalSeconds: 40 * 86_400 })], now, 'UTC')).toBe(40 * 86_400);
  // weekdays + a Saturday schedule: longest gap Saturday 09:00 -> Monday 12:00
  expect(
    longestGapSeconds(
      [sched({ cronExpression: '0 12 * * 1-5' }), sched({ id: 2, cronExpression: '0 9 * * 6' })],
      now,
      'UTC',
    ),
  ).toBe(2 * 86_400 + 3 * 3600);
  expect(staleThresholdSeconds([sched({ cronExpression: '0 12 * * *' })], now, 'UTC', null, 300)).toBe(
    2 * 86_400 + 300,
  );
  expect(staleThresholdSeconds([sched({ cronExpression: '0 12 * * *' })], now, 'UTC', 7200, 300)).toBe(7200);
  expect(
    staleThresholdSeconds([sched({ enabled: false, cronExpression: '0 12 * * *' })], now, 'UTC', null, 300),
  ).toBeNull();
  expect(staleThresholdSeconds([sched({ cronExpression: 'not a cron' })], now, 'UTC', null, 300)).toBeNull();
});

it('stable ids: same facts, same UUID; other facts, another', () => {
  const a = stableId('job.stale', 'j1', '2026-01-01T00:00:00Z');
  expect(a).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  expect(stableId('job.stale', 'j1', '2026-01-01T00:00:00Z')).toBe(a);
  expect(stableId('job.stale', 'j1', '2026-01-02T00:00:00Z')).not.toBe(a);
});
