/**
 * A Scheduler on a FakeClock with a fake executor that records every call, checks that one job
 * never runs twice at once, and takes a configurable time per run (on the fake clock).
 */
import { expect } from 'vitest';
import type { DeviceConfig, JobConfig } from '../../src/config/device-config.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { Scheduler } from '../../src/scheduler/scheduler.js';
import type { SchedulerLogger, TriggeredBy } from '../../src/scheduler/types.js';

export interface Call {
  jobId: string;
  triggeredBy: TriggeredBy;
  scheduleId: number | null;
  at: string;
  job: JobConfig;
}

export interface HarnessOptions {
  start: string;
  localZone?: string;
  /** Run duration per job in ms (default 60 s). */
  durationMs?: (jobId: string) => number;
  /** Status of the n-th (0-based) run of a job (default success). */
  status?: (jobId: string, n: number) => string;
}

export function harness(config: DeviceConfig | null, opts: HarnessOptions) {
  const clock = new FakeClock(opts.start);
  const calls: Call[] = [];
  const runningJobs = new Set<string>();
  let maxRunning = 0;
  const overlaps: string[] = [];
  const nextRuns = new Map<number, string | null>();
  const logs: Array<{ level: string; msg: string; obj: object }> = [];
  const logger: SchedulerLogger = {
    info: (obj, msg) => logs.push({ level: 'info', msg, obj }),
    warn: (obj, msg) => logs.push({ level: 'warn', msg, obj }),
    error: (obj, msg) => logs.push({ level: 'error', msg, obj }),
  };
  const scheduler = new Scheduler({
    clock,
    localZone: opts.localZone ?? 'UTC',
    logger,
    onNextRunComputed: (id, d) => nextRuns.set(id, d ? d.toISOString() : null),
    execute: (job, triggeredBy, scheduleId) => {
      const n = calls.filter((c) => c.jobId === job.id).length;
      calls.push({ jobId: job.id, triggeredBy, scheduleId, at: new Date(clock.now()).toISOString(), job });
      if (runningJobs.has(job.id)) overlaps.push(job.id);
      runningJobs.add(job.id);
      maxRunning = Math.max(maxRunning, runningJobs.size);
      const status = opts.status?.(job.id, n) ?? 'success';
      return new Promise((resolve) => {
        clock.setTimer(
          () => {
            runningJobs.delete(job.id);
            resolve({ status });
          },
          opts.durationMs?.(job.id) ?? 60_000,
        );
      });
    },
  });
  if (config) scheduler.load(config);
  return {
    clock,
    scheduler,
    calls,
    nextRuns,
    logs,
    get maxRunning() {
      return maxRunning;
    },
    get overlaps() {
      return overlaps;
    },
    /** Calls as `jobId by at` strings, for compact assertions. */
    summary: () => calls.map((c) => `${c.jobId} ${c.triggeredBy} ${c.at}`),
    /** Asserts no timer delay ever exceeded the cap (and so 2^31-1). */
    assertTimerDelaysCapped(capMs = 60_000) {
      expect(clock.maxRequestedDelay).toBeLessThanOrEqual(capMs);
    },
  };
}
