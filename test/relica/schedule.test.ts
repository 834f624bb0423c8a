import { describe, expect, it } from 'vitest';
import { relicaScheduleToCron } from '../../src/relica/schedule.js';
import type { RelicaSchedule } from '../../src/relica/state-schema.js';
import { nextRunTimes, validateCron } from '../../src/scheduler/next-run.js';
import type { ScheduleConfig } from '../../src/config/device-config.js';

const base: RelicaSchedule = {
  days_of_month: [],
  days_of_week: [],
  flexible: true,
  months_of_year: [],
  scheduled: true,
  times_of_day: [],
};
const conv = (s: Partial<RelicaSchedule>) => relicaScheduleToCron({ ...base, ...s }, 'dev/job');

function cronSchedule(cron: string): ScheduleConfig {
  return {
    id: 1,
    jobId: 'j',
    type: 'cron',
    cronExpression: cron,
    intervalSeconds: null,
    timezone: null,
    catchUp: true,
    enabled: true,
    lastRunAt: null,
    nextRunAt: null,
  };
}

describe('Relica schedule to cron', () => {
  it('makes one cron per time of day, every day when no day is restricted', () => {
    expect(conv({ times_of_day: ['13:00', '23:00'] })).toEqual({
      schedules: [
        { cron: '0 13 * * *', timeOfDay: '13:00', catchUp: true },
        { cron: '0 23 * * *', timeOfDay: '23:00', catchUp: true },
      ],
      warnings: [],
    });
    expect(conv({ times_of_day: ['22:30', '00:00', '9:05'] }).schedules.map((s) => s.cron)).toEqual([
      '30 22 * * *',
      '0 0 * * *',
      '5 9 * * *',
    ]);
  });

  it('keeps days_of_week as cron day-of-week (0 = Sunday), sorted and without duplicates', () => {
    expect(conv({ times_of_day: ['03:00'], days_of_week: [5, 1, 3, 1] }).schedules[0]?.cron).toBe('0 3 * * 1,3,5');
    expect(conv({ times_of_day: ['10:00'], days_of_week: [0] }).schedules[0]?.cron).toBe('0 10 * * 0');
    expect(conv({ times_of_day: ['10:00'], days_of_week: [0, 1, 2, 3, 4, 5, 6] }).schedules[0]?.cron).toBe(
      '0 10 * * *',
    );
  });

  it('restricts by days_of_month and months_of_year', () => {
    expect(conv({ times_of_day: ['01:15'], days_of_month: [15, 1], months_of_year: [12, 6] }).schedules[0]?.cron).toBe(
      '15 1 1,15 6,12 *',
    );
  });

  it('runs day 29-31 backups on the last day of shorter months, as Relica does (croner L)', () => {
    const d31 = conv({ times_of_day: ['03:00'], days_of_month: [31] });
    expect(d31).toEqual({ schedules: [{ cron: '0 3 L * *', timeOfDay: '03:00', catchUp: true }], warnings: [] });
    const d30 = conv({ times_of_day: ['03:00'], days_of_month: [30, 1] });
    expect(d30.schedules[0]?.cron).toBe('0 3 1,30,L * *');
    expect(d30.warnings).toEqual([
      'dev/job: Relica runs day 30 on the last day of shorter months; the cron adds L (last day), so longer months also get a run on their last day',
    ]);
    const runs = nextRunTimes(cronSchedule('0 3 1,30,L * *'), new Date('2025-02-01T12:00:00Z'), 4, {
      localZone: 'UTC',
    });
    expect(runs.map((d) => d.toISOString().slice(0, 10))).toEqual([
      '2025-02-28',
      '2025-03-01',
      '2025-03-30',
      '2025-03-31',
    ]);
  });

  it('maps flexible to catch-up and gives no schedule when not scheduled', () => {
    expect(conv({ times_of_day: ['12:00'], flexible: false }).schedules[0]?.catchUp).toBe(false);
    expect(conv({ scheduled: false, times_of_day: ['12:00'] })).toEqual({ schedules: [], warnings: [] });
    const none = conv({ times_of_day: [] });
    expect(none.schedules).toEqual([]);
    expect(none.warnings[0]).toMatch(/^dev\/job: scheduled in Relica but with no time of day/);
  });

  it('imports a time listed twice once, with a warning', () => {
    const r = conv({ times_of_day: ['12:00', '12:00'] });
    expect(r.schedules.map((s) => s.cron)).toEqual(['0 12 * * *']);
    expect(r.warnings).toEqual(['dev/job: time of day 12:00 is listed twice; imported once']);
  });

  it('C11 day-of-month and day-of-week both restricted: Relica means AND; written with croner "+" and warned', () => {
    const r = conv({ times_of_day: ['12:00'], days_of_month: [13], days_of_week: [5] });
    expect(r.schedules[0]?.cron).toBe('0 12 13 * +5');
    expect(r.warnings[0]).toMatch(/both match.*"\+" \(AND\)/);
    // the scheduler (croner 11, POSIX OR by default) accepts it and runs only on Friday the 13th
    expect(validateCron('0 12 13 * +5', 'UTC')).toBeNull();
    const runs = nextRunTimes(cronSchedule('0 12 13 * +5'), new Date('2025-01-01T00:00:00Z'), 3, { localZone: 'UTC' });
    expect(runs.map((d) => d.toISOString())).toEqual([
      '2025-06-13T12:00:00.000Z',
      '2026-02-13T12:00:00.000Z',
      '2026-03-13T12:00:00.000Z',
    ]);
  });

  it('every cron it writes is accepted by the scheduler', () => {
    const crons = [
      conv({ times_of_day: ['23:59', '00:00'], days_of_week: [0, 6], months_of_year: [2] }),
      conv({ times_of_day: ['07:30'], days_of_month: [31, 1], days_of_week: [1, 2] }),
    ].flatMap((c) => c.schedules.map((s) => s.cron));
    for (const cron of crons) expect(validateCron(cron, 'Europe/Prague')).toBeNull();
  });
});
