import { describe, expect, it } from 'vitest';
import { isAppError } from '../../src/errors.js';
import {
  MAX_HORIZON_MS,
  nextRunTime,
  nextRunTimes,
  validateCron,
  validateTimeZone,
} from '../../src/scheduler/next-run.js';
import { cron, every, iso } from './helpers.js';

const UTC = { localZone: 'UTC' };
const at = (s: string) => new Date(s);

/** Steps nextRunTime from `from` until `until`, asserting each result is after the previous and within the horizon. */
function walk(expr: string, zone: string, from: string, until: string): Date[] {
  const s = cron(expr, { timezone: zone });
  const out: Date[] = [];
  let ref = at(from);
  while (ref < at(until)) {
    const next = nextRunTime(s, ref, UTC);
    expect(next).not.toBeNull();
    const n = next as Date;
    expect(n.getTime()).toBeGreaterThan(ref.getTime());
    expect(n.getTime() - ref.getTime()).toBeLessThanOrEqual(MAX_HORIZON_MS);
    out.push(n);
    ref = n;
  }
  return out;
}

/** Calendar date (YYYY-MM-DD) of an instant in a zone. */
function localDay(d: Date, zone: string): string {
  return new Intl.DateTimeFormat('en-CA', { timeZone: zone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(
    d,
  );
}

describe('nextRunTime: cron', () => {
  it('C10 30 2 * * * in Europe/Prague runs once on the spring-forward day, at 03:00 CEST', () => {
    const s = cron('30 2 * * *', { timezone: 'Europe/Prague' });
    expect(nextRunTimes(s, at('2026-03-27T12:00:00Z'), 4, UTC).map(iso)).toEqual([
      '2026-03-28T01:30:00.000Z',
      '2026-03-29T01:00:00.000Z',
      '2026-03-30T00:30:00.000Z',
      '2026-03-31T00:30:00.000Z',
    ]);
  });

  it('C10 30 2 * * * in Europe/Prague runs once on the fall-back day (2:30 occurs twice)', () => {
    const s = cron('30 2 * * *', { timezone: 'Europe/Prague' });
    expect(nextRunTimes(s, at('2026-10-23T12:00:00Z'), 4, UTC).map(iso)).toEqual([
      '2026-10-24T00:30:00.000Z',
      '2026-10-25T00:30:00.000Z',
      '2026-10-26T01:30:00.000Z',
      '2026-10-27T01:30:00.000Z',
    ]);
    // Asked from between the two 2:30s, or from the first one, it goes to the next day.
    expect(iso(nextRunTime(s, at('2026-10-25T00:30:00Z'), UTC) as Date)).toBe('2026-10-26T01:30:00.000Z');
    expect(iso(nextRunTime(s, at('2026-10-25T01:00:00Z'), UTC) as Date)).toBe('2026-10-26T01:30:00.000Z');
  });

  it('C10 a whole year of 30 2 * * * in Prague: one run per local day, none skipped, each after the last', () => {
    const runs = walk('30 2 * * *', 'Europe/Prague', '2025-12-31T12:00:00Z', '2026-12-31T12:00:00Z');
    const days = runs.map((d) => localDay(d, 'Europe/Prague'));
    expect(new Set(days).size).toBe(days.length);
    expect(days.length).toBe(366); // 2026-01-01 .. 2027-01-01 inclusive
    expect(days[0]).toBe('2026-01-01');
  });

  it('C10 DST zones (New York, Lord Howe half-hour DST, Santiago, Chatham): hourly and daily crons always advance', () => {
    for (const zone of [
      'America/New_York',
      'Australia/Lord_Howe',
      'America/Santiago',
      'Pacific/Chatham',
      'Europe/Prague',
    ]) {
      const daily = walk('0 2 * * *', zone, '2026-01-01T00:00:00Z', '2027-01-01T00:00:00Z');
      const days = daily.map((d) => localDay(d, zone));
      expect(new Set(days).size, zone).toBe(days.length);
      expect(days.length, zone).toBeGreaterThanOrEqual(365);
      const halfHourly = walk('*/30 * * * *', zone, '2026-03-01T00:00:00Z', '2026-04-15T00:00:00Z');
      expect(halfHourly.length, zone).toBeGreaterThan(45 * 48 - 10);
    }
  });

  it('C11 day-of-week 7 is Sunday, like 0', () => {
    const seven = nextRunTimes(cron('0 4 * * 7', { timezone: 'UTC' }), at('2026-01-01T00:00:00Z'), 3, UTC).map(iso);
    const zero = nextRunTimes(cron('0 4 * * 0', { timezone: 'UTC' }), at('2026-01-01T00:00:00Z'), 3, UTC).map(iso);
    expect(seven).toEqual(['2026-01-04T04:00:00.000Z', '2026-01-11T04:00:00.000Z', '2026-01-18T04:00:00.000Z']);
    expect(seven).toEqual(zero);
    expect(validateCron('0 4 * * 5-7', 'UTC')).toBeNull();
  });

  it('C11 0 4 1 * 1 fires on the 1st OR on Mondays (POSIX), shown as the next runs', () => {
    const s = cron('0 4 1 * 1', { timezone: 'UTC' });
    expect(nextRunTimes(s, at('2026-01-01T00:00:00Z'), 10, UTC).map(iso)).toEqual([
      '2026-01-01T04:00:00.000Z', // Thursday the 1st
      '2026-01-05T04:00:00.000Z',
      '2026-01-12T04:00:00.000Z',
      '2026-01-19T04:00:00.000Z',
      '2026-01-26T04:00:00.000Z',
      '2026-02-01T04:00:00.000Z', // Sunday the 1st
      '2026-02-02T04:00:00.000Z',
      '2026-02-09T04:00:00.000Z',
      '2026-02-16T04:00:00.000Z',
      '2026-02-23T04:00:00.000Z',
    ]);
  });

  it('C11 day-of-week 8 and other bad fields are rejected with a clear reason, not a hang', () => {
    expect(validateCron('0 4 * * 8', 'UTC')).toMatch(/invalid cron expression "0 4 \* \* 8".*dayOfWeek/);
    expect(validateCron('61 4 * * *', 'UTC')).toMatch(/minute/);
    expect(validateCron('0 4 * *', 'UTC')).toMatch(/has 4 fields; expected 5/);
    expect(validateCron('0 0 4 * * * 2030', 'UTC')).toMatch(/has 7 fields/);
    expect(validateCron('2026-01-01T00:00:00', 'UTC')).toMatch(/has 1 fields/);
    expect(validateCron('', 'UTC')).toBe('cron expression is empty');
    expect(validateCron('0 0 30 2 *', 'UTC')).toMatch(/never fires/);
    expect(validateCron('0 4 * * *', 'Europe/Pargue')).toMatch(/unknown time zone "Europe\/Pargue"/);
    expect(validateTimeZone('Asia/Tokyo')).toBeNull();
    const bad = cron('0 4 * * 8');
    expect(() => nextRunTime(bad, at('2026-01-01T00:00:00Z'), UTC)).toThrow(/schedule \d+ of job job: invalid cron/);
    try {
      nextRunTime(bad, at('2026-01-01T00:00:00Z'), UTC);
    } catch (err) {
      expect(isAppError(err, 'SCHEDULE_INVALID')).toBe(true);
    }
  });

  it('the same cron in America/New_York and Asia/Tokyo; null timezone uses the device zone', () => {
    const after = at('2026-06-01T00:00:00Z');
    expect(iso(nextRunTime(cron('0 9 * * *', { timezone: 'America/New_York' }), after, UTC) as Date)).toBe(
      '2026-06-01T13:00:00.000Z',
    );
    expect(iso(nextRunTime(cron('0 9 * * *', { timezone: 'Asia/Tokyo' }), after, UTC) as Date)).toBe(
      '2026-06-02T00:00:00.000Z',
    );
    expect(iso(nextRunTime(cron('0 9 * * *'), after, { localZone: 'Asia/Tokyo' }) as Date)).toBe(
      '2026-06-02T00:00:00.000Z',
    );
  });

  it('a 6-field cron has seconds first', () => {
    const s = cron('30 15 4 * * *', { timezone: 'UTC' });
    expect(nextRunTimes(s, at('2026-01-01T00:00:00Z'), 2, UTC).map(iso)).toEqual([
      '2026-01-01T04:15:30.000Z',
      '2026-01-02T04:15:30.000Z',
    ]);
  });

  it('a leap-day cron 0 0 29 2 * finds Feb 29 years ahead, even across 2100 (8 years)', () => {
    const s = cron('0 0 29 2 *', { timezone: 'UTC' });
    expect(iso(nextRunTime(s, at('2026-03-01T00:00:00Z'), UTC) as Date)).toBe('2028-02-29T00:00:00.000Z');
    expect(iso(nextRunTime(s, at('2096-03-01T00:00:00Z'), UTC) as Date)).toBe('2104-02-29T00:00:00.000Z');
  });

  it('a monthly cron is strictly after `after`, also when `after` is exactly a run time', () => {
    const s = cron('0 3 1 * *', { timezone: 'UTC' });
    expect(iso(nextRunTime(s, at('2026-01-01T03:00:00Z'), UTC) as Date)).toBe('2026-02-01T03:00:00.000Z');
    expect(iso(nextRunTime(s, at('2026-01-01T02:59:59.500Z'), UTC) as Date)).toBe('2026-01-01T03:00:00.000Z');
  });

  it('a disabled schedule has no next run', () => {
    expect(nextRunTime(cron('0 3 * * *', { enabled: false }), at('2026-01-01T00:00:00Z'), UTC)).toBeNull();
    expect(nextRunTimes(cron('0 3 * * *', { enabled: false }), at('2026-01-01T00:00:00Z'), 5, UTC)).toEqual([]);
  });
});

describe('nextRunTime: interval', () => {
  it('is lastRunAt + interval, or now when never run', () => {
    const s = every(3600);
    const after = at('2026-01-01T10:30:00Z');
    expect(iso(nextRunTime(s, after, { localZone: 'UTC', lastRunAt: at('2026-01-01T10:00:00Z') }) as Date)).toBe(
      '2026-01-01T11:00:00.000Z',
    );
    expect(iso(nextRunTime(s, after, UTC) as Date)).toBe('2026-01-01T10:30:00.000Z');
    expect(nextRunTimes(s, after, 3, UTC).map(iso)).toEqual([
      '2026-01-01T10:30:00.000Z',
      '2026-01-01T11:30:00.000Z',
      '2026-01-01T12:30:00.000Z',
    ]);
  });

  it('when overdue, gives the next point of the lastRunAt grid after `after`', () => {
    const next = nextRunTime(every(3600), at('2026-01-02T10:30:00Z'), {
      localZone: 'UTC',
      lastRunAt: at('2026-01-01T10:00:00Z'),
    });
    expect(iso(next as Date)).toBe('2026-01-02T11:00:00.000Z');
  });

  it('refuses a zero, fractional, or absent interval', () => {
    for (const v of [0, 1.5, -60, null]) {
      expect(() => nextRunTime(every(60, { intervalSeconds: v }), at('2026-01-01T00:00:00Z'), UTC)).toThrow(
        /interval_seconds/,
      );
    }
  });
});
