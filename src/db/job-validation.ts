/**
 * Checking a job as stored in the database before the agent uses it (pure). Admins write plain
 * SQL, so a row can hold anything the column types allow; one bad job must not stop the others
 * from loading. Each problem names the column (and the schedule id) it is about.
 */
import type { ScheduleConfig } from '../config/device-config.js';
import { MAX_INTERVAL_SECONDS, validateCron, validateTimeZone } from '../scheduler/next-run.js';
import type { Job } from './queries/jobs.js';

/** restic_args as argv entries, or a reason. */
export function checkResticArgs(v: unknown): string[] | string {
  if (v === null || v === undefined) return [];
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) {
    return `restic_args must be a JSON array of strings (got ${JSON.stringify(v).slice(0, 60)})`;
  }
  return v as string[];
}

/** Why an enabled schedule cannot be used, or null. `localZone` stands in for a NULL timezone. */
export function checkSchedule(s: ScheduleConfig, localZone: string): string | null {
  const at = `schedules[id=${s.id}]`;
  if (s.timezone !== null) {
    const tz = validateTimeZone(s.timezone);
    if (tz) return `${at}.timezone: ${tz}`;
  }
  if (s.type === 'cron') {
    if (!s.cronExpression) return `${at}.cron_expression is empty for a cron schedule`;
    const why = validateCron(s.cronExpression, s.timezone ?? localZone);
    return why ? `${at}.cron_expression: ${why}` : null;
  }
  const n = s.intervalSeconds;
  if (n === null || !Number.isInteger(n) || n <= 0 || n > MAX_INTERVAL_SECONDS) {
    return `${at}.interval_seconds must be a whole number of seconds from 1 to ${MAX_INTERVAL_SECONDS} (got ${n ?? 'NULL'})`;
  }
  return null;
}

/**
 * All reasons a job cannot be used (empty = usable): empty source_paths or an empty path in it,
 * restic_args not an array of strings, repository_id naming no repository, an enabled schedule
 * with a bad cron expression, time zone or interval. `localZone` (a zone, or a function giving it,
 * called only when an enabled schedule is checked) stands in for a schedule's NULL timezone.
 */
export function checkJob(
  job: Job,
  schedules: readonly ScheduleConfig[],
  repositoryExists: boolean,
  localZone: string | (() => string),
): string[] {
  const problems: string[] = [];
  if (job.sourcePaths.length === 0) problems.push('source_paths is empty');
  else if (job.sourcePaths.some((p) => p.trim() === '')) problems.push('source_paths contains an empty path');
  const args = checkResticArgs(job.resticArgs);
  if (typeof args === 'string') problems.push(args);
  if (job.repositoryId !== null && !repositoryExists)
    problems.push(`repository_id ${job.repositoryId} does not match any repository`);
  for (const s of schedules) {
    if (!s.enabled) continue;
    const why = checkSchedule(s, typeof localZone === 'string' ? localZone : localZone());
    if (why) problems.push(why);
  }
  return problems;
}
