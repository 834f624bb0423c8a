/**
 * Types shared by the scheduler modules and its callers (the composition root wires `execute` to
 * the backup executor).
 */
import type { JobConfig } from '../config/device-config.js';

/** `runs.triggered_by` (CONTRACTS §3). */
export type TriggeredBy = 'schedule' | 'manual' | 'missed';

/** What the executor reports back: `status` is a `runs.status` value (success, partial, ...). */
export interface ExecuteResult {
  status: string;
}

/**
 * Runs one backup of `job` and resolves when it has ended and been recorded. The scheduler never
 * starts two calls for one job at once and calls it with the job definition current at start.
 */
export type ExecuteFn = (job: JobConfig, triggeredBy: TriggeredBy, scheduleId: number | null) => Promise<ExecuteResult>;

/** The logging the scheduler does; a pino Logger fits. */
export interface SchedulerLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

/** A logger that drops everything (the default). */
export const silentLogger: SchedulerLogger = Object.freeze({
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
});
