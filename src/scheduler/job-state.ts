/**
 * The scheduler's memory of one job: its current definition, each schedule's due time, the start
 * of its last run and its retry chain. The functions here compute due times (pure, `now` passed
 * in); the Scheduler class owns the objects.
 */
import type { JobConfig, ScheduleConfig } from '../config/device-config.js';
import { errorMessage } from '../errors.js';
import { nextRunTime } from './next-run.js';
import type { TriggeredBy } from './types.js';

/** One schedule and when it is next due (ms since epoch; null = never: disabled or invalid). */
export interface ScheduleState {
  schedule: ScheduleConfig;
  dueAt: number | null;
  /** Why the next run cannot be computed (bad cron, zone, interval), or null. */
  error: string | null;
}

/** A pending retry of a failed automatic run. */
export interface RetryState {
  attemptsMade: number;
  retryAt: number | null;
  triggeredBy: TriggeredBy;
  scheduleId: number | null;
}

export interface JobState {
  job: JobConfig;
  schedules: Map<number, ScheduleState>;
  /** Start of the job's last run (ms), from the config's last_run_at or our own runs. */
  lastRunAt: number | null;
  runningSince: number | null;
  retry: RetryState;
}

/** The latest `last_run_at` of the job's schedules (ms), or null. */
export function configLastRunAt(job: JobConfig): number | null {
  let best: number | null = null;
  for (const s of job.schedules) {
    const t = s.lastRunAt ? Date.parse(s.lastRunAt) : NaN;
    if (Number.isFinite(t) && (best === null || t > best)) best = t;
  }
  return best;
}

/** A fresh state for a job the scheduler has not seen (no schedules computed yet). */
export function newJobState(job: JobConfig): JobState {
  return {
    job,
    schedules: new Map(),
    lastRunAt: configLastRunAt(job),
    runningSince: null,
    retry: { attemptsMade: 0, retryAt: null, triggeredBy: 'schedule', scheduleId: null },
  };
}

/** The due time after `after`, or an error message; null for a disabled schedule or job. */
export function computeDue(
  job: JobConfig,
  s: ScheduleConfig,
  after: number,
  lastRunAt: number | null,
  localZone: string,
): { dueAt: number | null; error: string | null } {
  if (!job.enabled || !s.enabled) return { dueAt: null, error: null };
  try {
    const next = nextRunTime(s, new Date(after), {
      localZone,
      lastRunAt: lastRunAt === null ? null : new Date(lastRunAt),
    });
    return { dueAt: next ? next.getTime() : null, error: null };
  } catch (err) {
    return { dueAt: null, error: errorMessage(err) };
  }
}

/**
 * The first due time of a schedule when the agent starts (or first sees the job): the first one
 * after the job's last run, which may lie in the past (then the scheduler's tick decides between
 * an on-time run, one catch-up run, or none: missed.ts); with no last run, the next one after
 * now (an interval schedule never run is due now). Returns {dueAt ms|null, error|null}.
 */
export function initialDue(job: JobConfig, s: ScheduleConfig, lastRunAt: number | null, now: number, zone: string) {
  if (lastRunAt === null) return computeDue(job, s, now, null, zone);
  // A last run in the future (clock skew between machines) counts as a run just now.
  const ref = Math.min(lastRunAt, now);
  return computeDue(job, s, ref, ref, zone);
}

/**
 * The due time after a wall-clock jump backwards: counted from now, but a cron time at or before
 * a last run that now lies up to a day in the future is not repeated; an interval counts from
 * min(last run, now) so a backward jump never postpones it by more than one interval.
 */
export function dueAfterBackwardJump(
  job: JobConfig,
  s: ScheduleConfig,
  lastRunAt: number | null,
  now: number,
  zone: string,
) {
  if (s.type === 'interval') return computeDue(job, s, now, lastRunAt === null ? now : Math.min(lastRunAt, now), zone);
  const ref = lastRunAt !== null && lastRunAt > now && lastRunAt - now <= 86_400_000 ? lastRunAt : now;
  return computeDue(job, s, ref, lastRunAt, zone);
}

/** The earliest regular due time of the job (ms), or null when no schedule is active. */
export function nextRegularDue(state: JobState): number | null {
  let best: number | null = null;
  for (const ss of state.schedules.values()) {
    if (ss.dueAt !== null && (best === null || ss.dueAt < best)) best = ss.dueAt;
  }
  return best;
}

/** The schedule id whose due time is nextRegularDue, or null. */
export function nextRegularSchedule(state: JobState): number | null {
  let best: ScheduleState | null = null;
  for (const ss of state.schedules.values()) {
    if (ss.dueAt !== null && (best === null || ss.dueAt < (best.dueAt ?? Infinity))) best = ss;
  }
  return best ? best.schedule.id : null;
}
