import { describe, expect, it } from 'vitest';
import { classifyDue, decideJobRun, detectMissedRun } from '../../src/scheduler/missed.js';
import { cron, every, iso } from './helpers.js';

const t = (s: string) => new Date(s);

describe('detectMissedRun (pure)', () => {
  it('C08 interval: off for one period gives one catch-up', () => {
    const m = detectMissedRun({
      schedules: [every(3600, { id: 1 })],
      lastRunAt: t('2026-01-01T10:00:00Z'),
      now: t('2026-01-01T11:30:00Z'),
      localZone: 'UTC',
    });
    expect(m).toEqual({ scheduleId: 1, dueAt: t('2026-01-01T11:00:00Z') });
  });

  it('C08 interval and cron: off for many periods still gives exactly one run per job', () => {
    const schedules = [every(600, { id: 1 }), cron('0 * * * *', { id: 2 }), cron('0 9 * * *', { id: 3 })];
    const m = detectMissedRun({
      schedules,
      lastRunAt: t('2026-01-01T10:00:00Z'),
      now: t('2026-01-09T08:00:00Z'),
      localZone: 'UTC',
    });
    expect(m).not.toBeNull();
    // One answer per job, whatever the number of missed periods (hundreds here); the latest first due time wins.
    expect(iso((m as { dueAt: Date }).dueAt)).toBe('2026-01-02T09:00:00.000Z');
  });

  it('C08 no catch-up when catch_up is false, when within grace, or when never run', () => {
    const last = t('2026-01-01T10:00:00Z');
    expect(
      detectMissedRun({
        schedules: [every(3600, { catchUp: false })],
        lastRunAt: last,
        now: t('2026-01-03T00:00:00Z'),
        localZone: 'UTC',
      }),
    ).toBeNull();
    // Due 11:00, now 11:04: late by 4 min < 5 min grace: an on-time run, not a missed one.
    expect(
      detectMissedRun({ schedules: [every(3600)], lastRunAt: last, now: t('2026-01-01T11:04:00Z'), localZone: 'UTC' }),
    ).toBeNull();
    expect(
      detectMissedRun({
        schedules: [every(3600)],
        lastRunAt: last,
        now: t('2026-01-01T11:04:00Z'),
        graceSeconds: 60,
        localZone: 'UTC',
      }),
    ).not.toBeNull();
    expect(
      detectMissedRun({
        schedules: [cron('0 3 * * *')],
        lastRunAt: null,
        now: t('2026-01-03T00:00:00Z'),
        localZone: 'UTC',
      }),
    ).toBeNull();
  });

  it('C08 cron in the device zone: missed 03:00 Prague', () => {
    const m = detectMissedRun({
      schedules: [cron('0 3 * * *', { id: 7 })],
      lastRunAt: t('2026-01-01T02:00:00Z'),
      now: t('2026-01-02T08:00:00Z'),
      localZone: 'Europe/Prague',
    });
    expect(m).toEqual({ scheduleId: 7, dueAt: t('2026-01-02T02:00:00Z') });
  });

  it('skips invalid and disabled schedules instead of failing the job', () => {
    const m = detectMissedRun({
      schedules: [cron('0 4 * * 8', { id: 1 }), cron('0 * * * *', { id: 2, enabled: false })],
      lastRunAt: t('2026-01-01T00:00:00Z'),
      now: t('2026-01-05T00:00:00Z'),
      localZone: 'UTC',
    });
    expect(m).toBeNull();
  });
});

describe('decideJobRun', () => {
  it('an on-time due time wins over a missed one; one run for several schedules', () => {
    const now = Date.parse('2026-01-01T12:00:30Z');
    const d = decideJobRun(
      [
        { scheduleId: 1, dueAt: Date.parse('2026-01-01T09:00:00Z'), catchUp: true },
        { scheduleId: 2, dueAt: Date.parse('2026-01-01T12:00:00Z'), catchUp: true },
        { scheduleId: 3, dueAt: Date.parse('2026-01-01T13:00:00Z'), catchUp: true },
      ],
      now,
      300,
    );
    expect(d.run).toEqual({ triggeredBy: 'schedule', scheduleId: 2, dueAt: Date.parse('2026-01-01T12:00:00Z') });
    expect(d.passed.sort()).toEqual([1, 2]);
  });

  it('missed without catch-up passes the due time but starts nothing', () => {
    const d = decideJobRun([{ scheduleId: 1, dueAt: 0, catchUp: false }], 10_000_000, 300);
    expect(d).toEqual({ run: null, passed: [1] });
    expect(classifyDue(1000, 1000, 0)).toBe('due');
    expect(classifyDue(1001, 1000, 0)).toBe('pending');
    expect(classifyDue(0, 300_001, 300)).toBe('missed');
  });
});
