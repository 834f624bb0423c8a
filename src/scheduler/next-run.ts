/**
 * Next-run computation for one schedule (CONTRACTS §3 `schedules`): cron expressions through
 * croner 11 (pinned) in the schedule's IANA zone, intervals from the last run. Pure: the caller
 * passes the reference time and the device's local zone; nothing here reads the clock.
 *
 * Field behaviour (checked against croner 11.0.1, see test/scheduler/next-run.test.ts):
 * - day-of-week `7` is Sunday (croner accepts 0-7); `8` is rejected with croner's message;
 * - day-of-month and day-of-week both restricted combine with OR, as POSIX cron
 *   (`domAndDow: false`, croner's default, set explicitly so an upgrade cannot flip it);
 * - a fixed time inside a DST gap runs at the first valid time after the gap, a fixed time that
 *   occurs twice (fall-back) runs once (croner's `fixedTimeRule: 'single-value'`).
 */
import { Cron } from 'croner';
import { AppError } from '../errors.js';
import type { ScheduleConfig } from '../config/device-config.js';

/** Longest wait we accept for one next run: 8 years + 2 days covers `0 0 29 2 *` across 2100. */
export const MAX_HORIZON_MS = (8 * 366 + 2) * 86_400_000;

/** Largest interval schedule accepted: one year, in seconds. */
export const MAX_INTERVAL_SECONDS = 366 * 86_400;

const NICKNAMES = new Set(['@yearly', '@annually', '@monthly', '@weekly', '@daily', '@midnight', '@hourly']);

/** Options shared by next-run functions. */
export interface NextRunOptions {
  /** IANA zone used when the schedule's `timezone` is null (the device's local zone). */
  localZone: string;
  /** Start of the last run of this schedule's job; interval schedules count from it. */
  lastRunAt?: Date | null;
}

/** Returns why `zone` is not a usable IANA time zone name, or null when it is. */
export function validateTimeZone(zone: string): string | null {
  if (zone.trim() === '') return 'time zone is empty';
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return null;
  } catch {
    return `unknown time zone "${zone}" (use an IANA name such as Europe/Prague)`;
  }
}

function buildCron(expr: string, zone: string): Cron {
  return new Cron(expr, {
    paused: true,
    timezone: zone,
    mode: '5-or-6-parts',
    domAndDow: false,
    fixedTimeRule: 'single-value',
  });
}

/** Syntax and zone check without the horizon probe; the parsed Cron or a reason. */
function parseCron(expr: string, zone: string): Cron | string {
  const zoneProblem = validateTimeZone(zone);
  if (zoneProblem) return zoneProblem;
  const trimmed = expr.trim();
  if (trimmed === '') return 'cron expression is empty';
  if (trimmed.startsWith('@')) {
    if (!NICKNAMES.has(trimmed.toLowerCase())) return `unknown cron nickname "${trimmed}"`;
  } else {
    const fields = trimmed.split(/\s+/).length;
    if (fields !== 5 && fields !== 6) {
      return `cron expression "${trimmed}" has ${fields} fields; expected 5 (minute hour day month weekday) or 6 (seconds first)`;
    }
  }
  try {
    return buildCron(trimmed, zone);
  } catch (err) {
    const msg = err instanceof Error ? err.message.replace(/^CronPattern:\s*/, '') : String(err);
    return `invalid cron expression "${trimmed}": ${msg}`;
  }
}

/**
 * Checks a cron expression: 5 fields (minute hour day-of-month month day-of-week) or 6 with
 * seconds first, or a nickname such as `@daily`; the zone must be a valid IANA name; the
 * expression must fire within MAX_HORIZON_MS (so `0 0 30 2 *` is refused). Returns a one-line
 * reason naming the problem, or null when the expression is usable.
 */
export function validateCron(expr: string, zone: string): string | null {
  const parsed = parseCron(expr, zone);
  if (typeof parsed === 'string') return parsed;
  // Any reference works: a pattern that fires at all fires within 8 years of every instant.
  const probe = new Date(Date.UTC(2000, 0, 1));
  const next = parsed.nextRun(probe);
  if (!next || next.getTime() - probe.getTime() > MAX_HORIZON_MS) {
    return `cron expression "${expr.trim()}" never fires (no matching date, e.g. 30 February)`;
  }
  return null;
}

/** The zone a schedule's times are read in: its own, or the device's local zone. */
export function scheduleZone(schedule: ScheduleConfig, localZone: string): string {
  return schedule.timezone ?? localZone;
}

function invalid(schedule: ScheduleConfig, reason: string): AppError {
  return new AppError('SCHEDULE_INVALID', `schedule ${schedule.id} of job ${schedule.jobId}: ${reason}`);
}

function nextCron(schedule: ScheduleConfig, after: Date, zone: string): Date | null {
  const expr = schedule.cronExpression ?? '';
  const parsed = parseCron(expr, zone);
  if (typeof parsed === 'string') throw invalid(schedule, parsed);
  const next = parsed.nextRun(after);
  if (!next) throw invalid(schedule, validateCron(expr, zone) ?? `cron "${expr}" has no next run`);
  return next;
}

function nextInterval(schedule: ScheduleConfig, after: Date, lastRunAt: Date | null | undefined): Date {
  const seconds = schedule.intervalSeconds;
  if (seconds === null || !Number.isInteger(seconds) || seconds < 1 || seconds > MAX_INTERVAL_SECONDS) {
    throw invalid(
      schedule,
      `interval_seconds must be a whole number from 1 to ${MAX_INTERVAL_SECONDS}, got ${String(seconds)}`,
    );
  }
  if (!lastRunAt) return new Date(after.getTime());
  const step = seconds * 1000;
  const first = lastRunAt.getTime() + step;
  if (first > after.getTime()) return new Date(first);
  // Overdue: the first point of the lastRunAt + k*interval grid strictly after `after`.
  const k = Math.floor((after.getTime() - lastRunAt.getTime()) / step) + 1;
  return new Date(lastRunAt.getTime() + k * step);
}

/**
 * The next time `schedule` is due after `after`.
 * - cron: the first match strictly after `after`, in the schedule's zone (or opts.localZone);
 * - interval: lastRunAt + interval_seconds, or the first lastRunAt + k*interval after `after`
 *   when that is already past; an interval schedule never run is due at `after` itself (the one
 *   case where the result is not strictly later).
 * Returns null when the schedule is disabled. Throws AppError SCHEDULE_INVALID for a bad
 * expression, zone or interval, and when the result breaks the sanity check (not after `after`,
 * or beyond MAX_HORIZON_MS), so a croner bug can never make the agent spin or wait forever.
 */
export function nextRunTime(schedule: ScheduleConfig, after: Date, opts: NextRunOptions): Date | null {
  if (!schedule.enabled) return null;
  if (schedule.type === 'interval') return nextInterval(schedule, after, opts.lastRunAt);
  if (schedule.type !== 'cron') throw invalid(schedule, `unknown schedule_type "${String(schedule.type)}"`);
  const next = nextCron(schedule, after, scheduleZone(schedule, opts.localZone));
  if (!next) throw invalid(schedule, `cron "${schedule.cronExpression ?? ''}" has no next run`);
  const delta = next.getTime() - after.getTime();
  if (delta <= 0 || delta > MAX_HORIZON_MS) {
    throw invalid(schedule, `next run ${next.toISOString()} is outside (${after.toISOString()}, +8 years]`);
  }
  return next;
}

/**
 * The next `n` due times after `after` (for the UI preview, C11), at most 100. Interval
 * schedules continue from each previous result; a disabled schedule gives []. Errors as
 * nextRunTime.
 */
export function nextRunTimes(schedule: ScheduleConfig, after: Date, n: number, opts: NextRunOptions): Date[] {
  const out: Date[] = [];
  const count = Math.max(0, Math.min(100, Math.floor(n)));
  let ref = after;
  let last = opts.lastRunAt ?? null;
  for (let i = 0; i < count; i += 1) {
    const next = nextRunTime(schedule, ref, { localZone: opts.localZone, lastRunAt: last });
    if (!next) break;
    out.push(next);
    ref = next;
    last = next;
  }
  return out;
}
