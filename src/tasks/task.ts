/**
 * A task: one thing the agent does with restic that becomes one `runs` row (issue 14). The task
 * queue (src/scheduler/queue.ts) decides when it may start from `kind`, `key` and `repository`;
 * the run lifecycle (src/runs/run-lifecycle.ts) records it, publishes its events and calls `run`.
 * A new kind is one module in this folder that builds a Task (backup-task.ts, forget-task.ts).
 */
import type { Clock } from '../clock.js';
import type { JobConfig, RepositoryConfig } from '../config/device-config.js';
import type { RunCompletion, RunOperation, TriggeredBy } from '../db/queries/runs.js';
import type { RunProgress } from '../events.js';
import type { Logger } from '../logging.js';

export type { RunOperation } from '../db/queries/runs.js';

/** What RunLifecycle.run resolves with (run-lifecycle.ts RunResult). */
export interface RunResultLike {
  status: TaskOutcome['status'];
  runId: number | null;
  outcome: TaskOutcome;
}

/** What a finished task reports; becomes the run's completion and the `run.finished` event. */
export interface TaskOutcome extends Omit<RunCompletion, 'endTime'> {
  /** ISO 8601. */
  endTime: string;
  /** A short machine-readable reason (backup: BackupResult.errorKind); null when none. */
  errorKind: string | null;
  durationSeconds: number;
}

/** What the lifecycle hands a running task. */
export interface TaskContext {
  signal: AbortSignal;
  clock: Clock;
  logger: Logger;
  dataDir: string;
  /** Live progress (backups); the lifecycle keeps the latest for /status and publishes it. */
  onProgress(p: RunProgress): void;
}

export interface Task {
  kind: RunOperation;
  /** One task per key at a time (queue and lifecycle); a backup's key is its job id. */
  key: string;
  /** The job, or null for a repository-level task. */
  job: JobConfig | null;
  /** runs.repository_id: the repository row worked on; null for a backup and for the settings repository. */
  repositoryId: string | null;
  /** Identity of the repository for the queue's exclusivity (repositoryKey below). */
  repository: string;
  triggeredBy: TriggeredBy;
  /** A name for logs and events: the job name, or the repository name. */
  label: string;
  /** Runs it; resolves with the outcome, never rejects for a restic failure (the lifecycle turns a throw into `failed`). */
  run(ctx: TaskContext): Promise<TaskOutcome>;
  /** Also hold the per-job cross-process lock (C33) while it runs (backups). */
  jobLock?: boolean;
  /** Runs after `run`, before the outcome is recorded (a backup records its restic host); errors are logged. */
  afterRun?(outcome: TaskOutcome): Promise<void>;
  /** Extra metadata of the run row at start (job_name is added by the lifecycle). */
  startMetadata?: Record<string, unknown>;
  /**
   * Runs before the run is recorded (issue 18): resolves restic's repository id, claims a
   * fleet-wide prune or check. Resolves with a reason to skip the task (no run is recorded; the
   * reason is logged), or null to go on. A throw skips it too, with the error logged.
   */
  prepare?(ctx: { signal: AbortSignal }): Promise<string | null>;
  /**
   * Wraps the recorded run (issue 18: the repository lease). `proceed` records the run, runs it
   * and records the outcome; the gate calls it exactly once (also when it could not get what it
   * waited for: the task's run then reports that) and resolves with its result.
   */
  gate?(signal: AbortSignal, proceed: () => Promise<RunResultLike>): Promise<RunResultLike>;
  /** runs.restic_repository_id, once known (set by prepare). */
  resticRepositoryId?: string | null;
  /**
   * When the run really began, ms since the epoch, if before it is recorded (a backup adopting a
   * restic started early, early-backup.ts); else the run starts when it is recorded.
   */
  startedAt?: number;
}

/**
 * The queue's identity of a repository: its URL (two rows, or a row and the settings, that name
 * one URL are one restic repository and one restic lock), else the job (no repository configured).
 */
export function repositoryKey(repository: RepositoryConfig | null, jobId: string | null): string {
  if (repository) return `url:${repository.url}`;
  return `job:${jobId ?? '?'}`;
}

/** An outcome for a task that failed before or outside restic (a throw, restic missing). */
export function failedOutcome(
  startedAt: number,
  now: number,
  message: string,
  errorKind: string | null = null,
  status: TaskOutcome['status'] = 'failed',
): TaskOutcome {
  return {
    status,
    errorKind,
    errorMessage: message,
    exitCode: null,
    endTime: new Date(now).toISOString(),
    durationSeconds: Math.max(0, (now - startedAt) / 1000),
  };
}
