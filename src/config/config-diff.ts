/**
 * What changed between two device configs (jobs, schedules, settings), as named, human-readable
 * changes: the scheduler applies them on reload and config sync logs them. Pure. Secrets never
 * appear: repository credentials are named, not shown, and settings whose key names a secret
 * (password, secret, token, key) are redacted.
 */
import type { DeviceConfig, JobConfig, ScheduleConfig } from './device-config.js';

export type ConfigChangeKind =
  | 'job_added'
  | 'job_removed'
  | 'job_changed'
  | 'job_invalid'
  | 'schedule_added'
  | 'schedule_removed'
  | 'schedule_changed'
  | 'setting_changed';

/** One change, e.g. `{kind: 'schedule_changed', message: 'schedule changed: X cron "a" -> "b"'}`. */
export interface ConfigChange {
  kind: ConfigChangeKind;
  jobId?: string;
  scheduleId?: number;
  /** Setting key for 'setting_changed'. */
  key?: string;
  message: string;
}

const SECRET_KEY = /pass|secret|token|key/i;

/** A short description of a schedule's timing, e.g. `cron "0 3 * * *" (Europe/Prague)`, `every 300 s`. */
export function describeSchedule(s: ScheduleConfig): string {
  const base = s.type === 'cron' ? `cron "${s.cronExpression ?? ''}"` : `every ${String(s.intervalSeconds)} s`;
  const zone = s.type === 'cron' ? ` (${s.timezone ?? 'local time'})` : '';
  return `${base}${zone}${s.enabled ? '' : ' [disabled]'}${s.catchUp ? '' : ' [no catch-up]'}`;
}

/** True when two versions of a schedule fire at the same times (lastRunAt/nextRunAt ignored). */
export function sameScheduleTiming(a: ScheduleConfig, b: ScheduleConfig): boolean {
  return (
    a.type === b.type &&
    a.cronExpression === b.cronExpression &&
    a.intervalSeconds === b.intervalSeconds &&
    a.timezone === b.timezone &&
    a.enabled === b.enabled &&
    a.catchUp === b.catchUp
  );
}

const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);

/** Names (DB column names) of the job fields that differ, schedules excluded. */
export function changedJobFields(a: JobConfig, b: JobConfig): string[] {
  const fields: Array<[string, unknown, unknown]> = [
    ['name', a.name, b.name],
    ['description', a.description, b.description],
    ['source_paths', a.sourcePaths, b.sourcePaths],
    ['exclude_patterns', a.excludePatterns, b.excludePatterns],
    ['tags', a.tags, b.tags],
    ['restic_args', a.resticArgs, b.resticArgs],
    ['repository', [a.repositoryId, a.repository], [b.repositoryId, b.repository]],
    ['enabled', a.enabled, b.enabled],
    ['origin_name', a.originName, b.originName],
    ['origin_id', a.originId, b.originId],
    ['account_id', a.accountId, b.accountId],
    ['hooks', a.hooks, b.hooks],
  ];
  return fields.filter(([, x, y]) => !same(x, y)).map(([name]) => name);
}

function diffSchedules(job: JobConfig, before: ScheduleConfig[], after: ScheduleConfig[], out: ConfigChange[]): void {
  const old = new Map(before.map((s) => [s.id, s]));
  for (const s of after) {
    const prev = old.get(s.id);
    old.delete(s.id);
    if (!prev) {
      out.push({
        kind: 'schedule_added',
        jobId: job.id,
        scheduleId: s.id,
        message: `schedule added: ${job.name} ${describeSchedule(s)}`,
      });
    } else if (!sameScheduleTiming(prev, s)) {
      out.push({
        kind: 'schedule_changed',
        jobId: job.id,
        scheduleId: s.id,
        message: `schedule changed: ${job.name} ${describeSchedule(prev)} -> ${describeSchedule(s)}`,
      });
    }
  }
  for (const s of old.values()) {
    out.push({
      kind: 'schedule_removed',
      jobId: job.id,
      scheduleId: s.id,
      message: `schedule removed: ${job.name} ${describeSchedule(s)}`,
    });
  }
}

function showSetting(key: string, value: string | undefined): string {
  if (value === undefined) return '(unset)';
  if (SECRET_KEY.test(key)) return '(redacted)';
  // A repository URL may carry credentials (rest:https://user:pass@host/): keep the user only.
  value = value.replace(/\/\/([^/@:\s]*):[^/@\s]*@/g, '//$1:***@');
  return value === '' || /\s/.test(value) ? JSON.stringify(value) : value;
}

function diffSettings(a: Record<string, string>, b: Record<string, string>, out: ConfigChange[]): void {
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
  for (const key of keys) {
    if (a[key] === b[key]) continue;
    const msg = SECRET_KEY.test(key)
      ? `setting changed: ${key} (redacted)`
      : `setting changed: ${key} ${showSetting(key, a[key])} -> ${showSetting(key, b[key])}`;
    out.push({ kind: 'setting_changed', key, message: msg });
  }
}

/**
 * The changes from `before` (null = nothing loaded yet) to `after`, jobs matched by id and
 * schedules by id, in a stable order: jobs (by name), then settings (by key). Examples:
 * 'job added: X', 'job changed: X (source_paths, tags)', 'schedule changed: X cron "0 3 * * *"
 * (local time) -> cron "0 4 * * *" (local time)', 'setting changed: max_concurrent_backups 1 -> 2'.
 */
export function diffDeviceConfig(before: DeviceConfig | null, after: DeviceConfig): ConfigChange[] {
  const out: ConfigChange[] = [];
  const oldJobs = new Map((before?.jobs ?? []).map((j) => [j.id, j]));
  const jobs = [...after.jobs].sort((x, y) => x.name.localeCompare(y.name));
  for (const job of jobs) {
    const prev = oldJobs.get(job.id);
    oldJobs.delete(job.id);
    if (!prev) {
      out.push({ kind: 'job_added', jobId: job.id, message: `job added: ${job.name}` });
      diffSchedules(job, [], job.schedules, out);
      continue;
    }
    const fields = changedJobFields(prev, job);
    if (fields.includes('name')) {
      out.push({ kind: 'job_changed', jobId: job.id, message: `job renamed: ${prev.name} -> ${job.name}` });
    }
    const rest = fields.filter((f) => f !== 'name');
    if (rest.length > 0)
      out.push({ kind: 'job_changed', jobId: job.id, message: `job changed: ${job.name} (${rest.join(', ')})` });
    diffSchedules(job, prev.schedules, job.schedules, out);
  }
  for (const job of oldJobs.values())
    out.push({ kind: 'job_removed', jobId: job.id, message: `job removed: ${job.name}` });
  const oldInvalid = new Set((before?.invalidJobs ?? []).map((j) => `${j.id}\u0000${j.reason}`));
  for (const j of after.invalidJobs) {
    if (!oldInvalid.has(`${j.id}\u0000${j.reason}`)) {
      out.push({ kind: 'job_invalid', jobId: j.id, message: `job invalid: ${j.name}: ${j.reason}` });
    }
  }
  diffSettings(before?.settings ?? {}, after.settings, out);
  return out;
}
