/**
 * Relica backup schedules as cron expressions. Pure.
 *
 * Relica's schedule (state file `read_only.backups[].schedule`): `scheduled` (false = manual
 * only), `times_of_day` ("HH:MM" in the computer's local time), `days_of_week` (0 = Sunday, as
 * Go's time.Weekday), `days_of_month` (1-31), `months_of_year` (1-12), each list empty = no
 * restriction, and `flexible` (run when the computer is back if it was off at the due time).
 * Relica's restrictions all apply at once (AND). POSIX cron combines a restricted day-of-month and
 * a restricted day-of-week with OR, so when both are set the day-of-week field is written with
 * croner's `+` prefix (OCPS 1.4 AND modifier, understood by the scheduler's croner 11) and a
 * warning says the expression is not portable POSIX cron.
 * Relica runs a backup set for a day the month lacks (the 30th in February) on that month's last
 * day (relicabackup.com/docs/backup-schedules); cron would skip the month, so days 29-31 add
 * croner's `L` (last day of the month): exact for 31, and for 29/30 a warning says longer months
 * then also run on their last day (one extra backup rather than a missed month).
 */
import type { RelicaSchedule } from './state-schema.js';

/** One cron schedule made from one `times_of_day` entry. */
export interface CronFromRelica {
  /** 5 fields: minute hour day-of-month month day-of-week (0 = Sunday). */
  cron: string;
  /** The Relica time it came from, "HH:MM". */
  timeOfDay: string;
  /** Relica's `flexible`: run once after a missed due time. */
  catchUp: boolean;
}

export interface ScheduleConversion {
  /** One per distinct `times_of_day` entry, in Relica's order; empty when not scheduled. */
  schedules: CronFromRelica[];
  /** Things the user should know (duplicates dropped, AND modifier used, no times given). */
  warnings: string[];
}

/** The day-of-month field: `*`, or the days ascending, with 31 written as `L` and L added after 29/30. */
function dayOfMonthField(days: readonly number[], label: string, warnings: string[]): string {
  if (days.length === 0) return '*';
  const distinct = [...new Set(days)].sort((a, b) => a - b);
  if ((distinct.at(-1) ?? 0) < 29) return distinct.join(',');
  const short = distinct.filter((d) => d === 29 || d === 30);
  if (short.length > 0) {
    warnings.push(
      `${label}: Relica runs day ${short.join(', ')} on the last day of shorter months; the cron adds L (last day), ` +
        'so longer months also get a run on their last day',
    );
  }
  return [...distinct.filter((d) => d < 31), 'L'].join(',');
}

/** A cron list field: `*` for an empty list, else the distinct values ascending, comma-joined. */
function field(values: readonly number[]): string {
  if (values.length === 0) return '*';
  return [...new Set(values)].sort((a, b) => a - b).join(',');
}

/**
 * Convert one Relica schedule (already validated by state-schema.ts: times match HH:MM, days and
 * months in range) into cron schedules, one per `times_of_day` entry, all with the same day,
 * month and weekday restriction. `label` (the backup's name) prefixes warnings.
 * Example: times ["13:00","23:00"], days_of_week [2,5] -> "0 13 * * 2,5" and "0 23 * * 2,5".
 */
export function relicaScheduleToCron(schedule: RelicaSchedule, label: string): ScheduleConversion {
  const warnings: string[] = [];
  if (!schedule.scheduled) return { schedules: [], warnings };
  if (schedule.times_of_day.length === 0) {
    warnings.push(
      `${label}: scheduled in Relica but with no time of day; imported without a schedule (run it manually or add one)`,
    );
    return { schedules: [], warnings };
  }
  const dom = dayOfMonthField(schedule.days_of_month, label, warnings);
  const month = field(schedule.months_of_year);
  // every weekday listed is no restriction (and must not turn a day-of-month list into AND)
  let dow = new Set(schedule.days_of_week).size === 7 ? '*' : field(schedule.days_of_week);
  if (dom !== '*' && dow !== '*') {
    dow = `+${dow}`;
    warnings.push(
      `${label}: Relica restricts both days of month (${dom}) and days of week (${dow.slice(1)}), which must both match; ` +
        `the cron expression uses croner's "+" (AND) day-of-week modifier, which plain POSIX cron does not understand`,
    );
  }
  const seen = new Set<string>();
  const schedules: CronFromRelica[] = [];
  for (const time of schedule.times_of_day) {
    const [h, m] = time.split(':').map(Number) as [number, number];
    const cron = `${m} ${h} ${dom} ${month} ${dow}`;
    if (seen.has(cron)) {
      warnings.push(`${label}: time of day ${time} is listed twice; imported once`);
      continue;
    }
    seen.add(cron);
    schedules.push({ cron, timeOfDay: time, catchUp: schedule.flexible });
  }
  return { schedules, warnings };
}
