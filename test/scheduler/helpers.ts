/** Builders of DeviceConfig / JobConfig / ScheduleConfig for scheduler tests. */
import type { DeviceConfig, JobConfig, ScheduleConfig } from '../../src/config/device-config.js';

let nextScheduleId = 1000;

/** A cron schedule (timezone null = device local zone). */
export function cron(expr: string, over: Partial<ScheduleConfig> = {}): ScheduleConfig {
  return {
    id: nextScheduleId++,
    jobId: 'job',
    type: 'cron',
    cronExpression: expr,
    intervalSeconds: null,
    timezone: null,
    catchUp: true,
    enabled: true,
    lastRunAt: null,
    nextRunAt: null,
    ...over,
  };
}

/** An interval schedule of `seconds`. */
export function every(seconds: number, over: Partial<ScheduleConfig> = {}): ScheduleConfig {
  return {
    id: nextScheduleId++,
    jobId: 'job',
    type: 'interval',
    cronExpression: null,
    intervalSeconds: seconds,
    timezone: null,
    catchUp: true,
    enabled: true,
    lastRunAt: null,
    nextRunAt: null,
    ...over,
  };
}

/** A job with the given schedules (their jobId is set to the job's id). */
export function job(id: string, schedules: ScheduleConfig[], over: Partial<JobConfig> = {}): JobConfig {
  return {
    id,
    deviceId: 'dev',
    name: over.name ?? `job-${id}`,
    description: null,
    sourcePaths: ['/srv/data'],
    excludePatterns: [],
    tags: [],
    resticArgs: [],
    repositoryId: null,
    repository: null,
    enabled: true,
    originName: null,
    originId: null,
    accountId: null,
    hooks: [],
    updatedAt: '2026-01-01T00:00:00Z',
    ...over,
    schedules: schedules.map((s) => ({ ...s, jobId: id })),
  };
}

/** A device config of these jobs and settings (merged over max_concurrent_backups=1). */
export function device(jobs: JobConfig[], settings: Record<string, string> = {}): DeviceConfig {
  return {
    deviceId: 'dev',
    deviceName: 'Dev',
    settings: { max_concurrent_backups: '1', ...settings },
    jobs,
    invalidJobs: [],
    loadedAt: '2026-01-01T00:00:00Z',
  };
}

/** ISO string of a ms timestamp or Date. */
export const iso = (t: number | Date): string => new Date(t).toISOString();
