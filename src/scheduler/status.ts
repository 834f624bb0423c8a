/**
 * The scheduler's view of each job for `GET /status` (CONTRACTS §5): next run, running, queued,
 * retry and schedule errors. Pure: built from the scheduler's state.
 */
import { nextRegularDue, nextRegularSchedule, type JobState } from './job-state.js';
import type { TaskQueue } from './queue.js';
import type { TriggeredBy } from './types.js';

/** What the scheduler knows about one job, for /status. */
export interface JobScheduleStatus {
  jobId: string;
  jobName: string;
  enabled: boolean;
  /** The earliest next regular run, or null (no active schedule). */
  nextRunAt: Date | null;
  nextScheduleId: number | null;
  running: boolean;
  runningSince: Date | null;
  runningTriggeredBy: TriggeredBy | null;
  queued: boolean;
  queuePosition: number | null;
  retryAt: Date | null;
  retryAttemptsMade: number;
  /** Schedules whose next run cannot be computed, with the reason. */
  scheduleErrors: Array<{ scheduleId: number; error: string }>;
}

/** One status entry per job, sorted by job name. */
export function buildStatus(states: Iterable<JobState>, queue: TaskQueue): JobScheduleStatus[] {
  const out: JobScheduleStatus[] = [];
  for (const state of states) {
    const next = nextRegularDue(state);
    const req = queue.runningRequest(state.job.id);
    const pos = queue.positionOf(state.job.id);
    out.push({
      jobId: state.job.id,
      jobName: state.job.name,
      enabled: state.job.enabled,
      nextRunAt: next === null ? null : new Date(next),
      nextScheduleId: nextRegularSchedule(state),
      running: req !== null,
      runningSince: state.runningSince === null ? null : new Date(state.runningSince),
      runningTriggeredBy: req ? req.triggeredBy : null,
      queued: pos !== null,
      queuePosition: pos,
      retryAt: state.retry.retryAt === null ? null : new Date(state.retry.retryAt),
      retryAttemptsMade: state.retry.attemptsMade,
      scheduleErrors: [...state.schedules.values()]
        .filter((s) => s.error !== null)
        .map((s) => ({ scheduleId: s.schedule.id, error: s.error ?? '' })),
    });
  }
  return out.sort((a, b) => a.jobName.localeCompare(b.jobName));
}
