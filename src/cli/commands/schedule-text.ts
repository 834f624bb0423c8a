/** One-line text of a schedule for CLI tables, e.g. `#3 cron "0 3 * * *" Europe/Prague catch-up`. */
import type { ScheduleConfig } from '../../config/device-config.js';

/** `#id cron "expr" [zone]` or `#id every N s`, plus flags. */
export function describeScheduleShort(s: ScheduleConfig): string {
  const what =
    s.type === 'cron'
      ? `cron "${s.cronExpression ?? ''}"${s.timezone ? ` ${s.timezone}` : ''}`
      : `every ${s.intervalSeconds ?? '?'} s`;
  const flags = [s.catchUp ? 'catch-up' : 'no catch-up', s.enabled ? '' : 'disabled'].filter(Boolean).join(', ');
  return `#${s.id} ${what} (${flags})`;
}

/** A schedule as GET /config shows it (snake_case) in the ScheduleConfig shape. */
export function scheduleFromView(job: Record<string, unknown>, s: Record<string, unknown>): ScheduleConfig {
  const str = (v: unknown) => (typeof v === 'string' ? v : null);
  return {
    id: Number(s.id),
    jobId: String(job.id),
    type: s.schedule_type === 'cron' ? 'cron' : 'interval',
    cronExpression: str(s.cron_expression),
    intervalSeconds: typeof s.interval_seconds === 'number' ? s.interval_seconds : null,
    timezone: str(s.timezone),
    catchUp: s.catch_up !== false,
    enabled: s.enabled !== false,
    lastRunAt: str(s.last_run_at),
    nextRunAt: str(s.next_run_at),
  };
}
