/** The scheduler's public API, for the composition root, the API routes and the UI preview. */
export { Scheduler, type SchedulerOptions, type TriggerResult, type JobScheduleStatus } from './scheduler.js';
export { nextRunTime, nextRunTimes, validateCron, validateTimeZone, MAX_HORIZON_MS, type NextRunOptions } from './next-run.js';
export { detectMissedRun, DEFAULT_GRACE_SECONDS, type MissedRun } from './missed.js';
export { retryDecision, type RetryDecision } from './retry.js';
export { diffDeviceConfig, describeSchedule, type ConfigChange, type ConfigChangeKind } from './reload-diff.js';
export { FakeClock } from './fake-clock.js';
export type { ExecuteFn, ExecuteResult, SchedulerLogger, TriggeredBy } from './types.js';
