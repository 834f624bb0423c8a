/**
 * When a job is stale and a device silent (issue 19 point 4). Pure: times come in as arguments.
 *
 * - A job is stale when it has an enabled schedule and its last success is older than
 *   `stale_after_seconds`, or (setting unset) than twice the longest gap between two consecutive
 *   due times of its schedules over the next 30 days, plus `missed_run_grace_seconds`.
 * - A device is silent when `devices.last_seen` is older than `silent_after_seconds` (3 days).
 * StaleLimits keeps the limits of the fleet queries' jobs (the watcher's passes, the dashboard's
 * pages) per schedule set, so a per-minute cron costs its 2000 due times once an hour, not per job
 * and pass.
 */
import { DEFAULT_SETTINGS, type ScheduleConfig } from '../config/device-config.js';
import type { ScheduleRow } from '../db/queries/notifications.js';
import { DEFAULT_GRACE_SECONDS } from '../scheduler/missed.js';
import { nextRunTime } from '../scheduler/next-run.js';

export const STALE_HORIZON_SECONDS = 30 * 86_400;
/** `silent_after_seconds` when no row sets it (3 days; DEFAULT_SETTINGS, as migration 012 inserts). */
export const DEFAULT_SILENT_AFTER_SECONDS = Number(DEFAULT_SETTINGS.silent_after_seconds);
/** Due times looked at per schedule (a per-minute cron has 43 200 in 30 days; the gap is small anyway). */
const MAX_DUE_TIMES = 2000;

/**
 * The longest gap (seconds) between two consecutive due times of `schedules` (merged) in the 30
 * days after `now`, with `now` as the first point. A schedule set with no due time in the window
 * counts the whole window. Invalid schedules are skipped; null when none is usable.
 */
export function longestGapSeconds(schedules: readonly ScheduleConfig[], now: Date, localZone: string): number | null {
  const end = now.getTime() + STALE_HORIZON_SECONDS * 1000;
  const times: number[] = [];
  let usable = 0;
  for (const s of schedules) {
    if (!s.enabled) continue;
    if (s.type === 'interval') {
      if (!s.intervalSeconds || s.intervalSeconds < 1) continue;
      usable++;
      const step = s.intervalSeconds * 1000;
      // an interval longer than the window still has that gap: one due time beyond the end
      for (let t = now.getTime() + step, i = 0; i < MAX_DUE_TIMES; t += step, i++) {
        times.push(t);
        if (t > end) break;
      }
      continue;
    }
    let at = now;
    try {
      for (let i = 0; i < MAX_DUE_TIMES; i++) {
        const next = nextRunTime({ ...s, lastRunAt: null }, at, { localZone });
        if (!next) break;
        times.push(next.getTime());
        if (next.getTime() > end) break;
        at = next;
      }
      usable++;
    } catch {
      // SCHEDULE_INVALID: the agent reports it; it does not make a job stale-checkable
    }
  }
  if (usable === 0) return null;
  // consecutive due times from now; the first time past the window ends the list (or the window's end)
  const sorted = [now.getTime(), ...times.sort((a, b) => a - b)];
  const cut = sorted.findIndex((t) => t > end);
  const list = cut === -1 ? [...sorted, end] : sorted.slice(0, cut + 1);
  let gap = 0;
  for (let i = 1; i < list.length; i++) gap = Math.max(gap, list[i]! - list[i - 1]!);
  return Math.round(gap / 1000);
}

/**
 * The age (seconds) after which a job is stale: `staleAfterSeconds` when set, else
 * 2 x longest gap + `graceSeconds`; null when the job has no usable enabled schedule.
 */
export function staleThresholdSeconds(
  schedules: readonly ScheduleConfig[],
  now: Date,
  localZone: string,
  staleAfterSeconds: number | null,
  graceSeconds: number,
): number | null {
  if (!schedules.some((s) => s.enabled)) return null;
  if (staleAfterSeconds !== null) return staleAfterSeconds;
  const gap = longestGapSeconds(schedules, now, localZone);
  return gap === null ? null : 2 * gap + graceSeconds;
}

/** A setting's raw text as a whole number of seconds, or null (unset or not a number). */
export const intOrNull = (s: string | null): number | null =>
  s !== null && /^\d{1,9}$/.test(s.trim()) ? Number(s) : null;

/** A job's schedules and effective stale settings as the fleet queries read them (raw setting text). */
export interface StaleInputs {
  schedules: readonly ScheduleRow[];
  staleAfter: string | null;
  grace: string | null;
}

/**
 * staleThresholdSeconds of fleet-query jobs (enabled schedules, `missed_run_grace_seconds` default
 * 300), remembered per schedule set and settings for `maxAgeMs` (default 1 h); at most `maxEntries`
 * sets are kept (default 10 000; beyond that the cache starts over).
 */
export class StaleLimits {
  private readonly cache = new Map<string, { value: number | null; at: number }>();

  constructor(
    private readonly localZone: string,
    private readonly maxAgeMs = 3_600_000,
    private readonly maxEntries = 10_000,
  ) {}

  limit(j: StaleInputs, now: Date): number | null {
    const key = JSON.stringify([
      j.schedules.map((s) => [s.type, s.cron_expression, s.interval_seconds, s.timezone]),
      j.staleAfter,
      j.grace,
    ]);
    const hit = this.cache.get(key);
    if (hit && now.getTime() - hit.at < this.maxAgeMs) return hit.value;
    const schedules: ScheduleConfig[] = j.schedules.map((s) => ({
      id: s.id,
      jobId: '',
      type: s.type,
      cronExpression: s.cron_expression,
      intervalSeconds: s.interval_seconds,
      timezone: s.timezone,
      catchUp: true,
      enabled: true,
      lastRunAt: null,
      nextRunAt: null,
    }));
    const value = staleThresholdSeconds(
      schedules,
      now,
      this.localZone,
      intOrNull(j.staleAfter),
      intOrNull(j.grace) ?? DEFAULT_GRACE_SECONDS,
    );
    if (this.cache.size >= this.maxEntries) this.cache.clear();
    this.cache.set(key, { value, at: now.getTime() });
    return value;
  }
}
