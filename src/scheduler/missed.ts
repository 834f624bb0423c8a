/**
 * Missed-run detection (C08): when a due time passed while the agent was off or the machine
 * slept, a job with `catch_up` (Relica's "flexible") owes exactly ONE catch-up run
 * (`triggered_by = 'missed'`), however many periods were missed; a job without it waits for its
 * next regular time. Pure: times are passed in.
 */
import type { ScheduleConfig } from '../config/device-config.js';
import { nextRunTime } from './next-run.js';

/** Default for the `missed_run_grace_seconds` setting: a due time less late than this is on time. */
export const DEFAULT_GRACE_SECONDS = 300;

/** How a due time relates to now: not yet, due (late by at most grace), or missed. */
export type DueState = 'pending' | 'due' | 'missed';

/** Classifies `dueAt` against `now` (ms since epoch) with `graceSeconds` of tolerated lateness. */
export function classifyDue(dueAt: number, now: number, graceSeconds: number): DueState {
  if (dueAt > now) return 'pending';
  return now - dueAt > graceSeconds * 1000 ? 'missed' : 'due';
}

/** One schedule's current due time, as the scheduler tracks it. */
export interface DueEntry {
  scheduleId: number;
  dueAt: number | null;
  catchUp: boolean;
}

/** The one run a job should start now, if any, and which due times have passed. */
export interface JobRunDecision {
  run: {
    triggeredBy: 'schedule' | 'missed';
    scheduleId: number;
    /** The due time (ms) that caused it: the latest on-time one, else the latest missed one. */
    dueAt: number;
  } | null;
  /** Schedules whose due time has passed (each must be moved to its next time). */
  passed: number[];
}

/**
 * Decides the single run a job owes at `now` from its schedules' due times: an on-time due time
 * (within grace) wins and gives a 'schedule' run; otherwise a missed due time of a schedule with
 * catch_up gives one 'missed' run; missed due times without catch_up give none. Several
 * schedules due together still give one run (C08: never one per period or per schedule).
 */
export function decideJobRun(entries: readonly DueEntry[], now: number, graceSeconds: number): JobRunDecision {
  let onTime: DueEntry | null = null;
  let missed: DueEntry | null = null;
  const passed: number[] = [];
  for (const e of entries) {
    if (e.dueAt === null) continue;
    const state = classifyDue(e.dueAt, now, graceSeconds);
    if (state === 'pending') continue;
    passed.push(e.scheduleId);
    if (state === 'due') {
      if (!onTime || (onTime.dueAt ?? 0) < e.dueAt) onTime = e;
    } else if (e.catchUp && (!missed || (missed.dueAt ?? 0) < e.dueAt)) {
      missed = e;
    }
  }
  if (onTime)
    return { run: { triggeredBy: 'schedule', scheduleId: onTime.scheduleId, dueAt: onTime.dueAt ?? now }, passed };
  if (missed)
    return { run: { triggeredBy: 'missed', scheduleId: missed.scheduleId, dueAt: missed.dueAt ?? now }, passed };
  return { run: null, passed };
}

/** Input of detectMissedRun. */
export interface MissedRunInput {
  schedules: readonly ScheduleConfig[];
  /** Start of the job's last run (any trigger); null = never ran, so nothing can be missed. */
  lastRunAt: Date | null;
  now: Date;
  graceSeconds?: number;
  /** Device local zone for schedules whose timezone is null. */
  localZone: string;
}

/** A catch-up run owed by a job. */
export interface MissedRun {
  scheduleId: number;
  /** The latest missed due time among the schedules with catch_up. */
  dueAt: Date;
}

/**
 * The catch-up run a job owes after the agent was off or asleep, or null: for each enabled
 * schedule the first due time after `lastRunAt` is computed; if one passed more than
 * `graceSeconds` (default 300) ago and its schedule has catch_up, the job owes ONE run.
 * A schedule whose next run cannot be computed (invalid) is skipped. Never returns more than one
 * run, however long the agent was off.
 */
export function detectMissedRun(input: MissedRunInput): MissedRun | null {
  const { lastRunAt, now, localZone } = input;
  if (!lastRunAt) return null;
  const grace = input.graceSeconds ?? DEFAULT_GRACE_SECONDS;
  const entries: DueEntry[] = [];
  for (const s of input.schedules) {
    if (!s.enabled) continue;
    let due: Date | null = null;
    try {
      due = nextRunTime(s, lastRunAt, { localZone, lastRunAt });
    } catch {
      continue;
    }
    entries.push({ scheduleId: s.id, dueAt: due ? due.getTime() : null, catchUp: s.catchUp });
  }
  const missedOnly = entries.filter((e) => e.dueAt !== null && classifyDue(e.dueAt, now.getTime(), grace) === 'missed');
  const { run } = decideJobRun(missedOnly, now.getTime(), grace);
  if (!run) return null;
  return { scheduleId: run.scheduleId, dueAt: new Date(run.dueAt) };
}
