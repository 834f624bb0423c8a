/**
 * The backup task: one `restic backup` of a job with its hooks, path checks and lock handling
 * (src/backup/run-backup.ts), recorded as a run with operation 'backup'. Keyed by the job id, so
 * the queue never runs two backups of one job; holds the per-job cross-process lock (C33).
 */
import type { ActiveRepositories } from '../backup/active-repositories.js';
import type { BackupResult } from '../backup/backup-result.js';
import type { ProgressEvent } from '../restic/backup-output.js';
import type { ResticVersion } from '../restic/version.js';
import { runBackup } from '../backup/run-backup.js';
import type { EarlyBackup } from '../backup/early-backup.js';
import type { JobConfig } from '../config/device-config.js';
import type { TriggeredBy } from '../db/queries/runs.js';
import { errorMessage } from '../errors.js';
import type { RunProgress } from '../events.js';
import { NO_RUN_STATS, runStatsOf } from '../run-stats.js';
import { repositoryKey, type Task, type TaskContext, type TaskOutcome } from './task.js';

/** What a backup needs besides the job (the agent and `rbackup2 backup` build it once). */
export interface BackupTaskDeps {
  activeRepositories: ActiveRepositories;
  /** The restic found at start; null = missing (every run fails with that reason). */
  restic: () => { path: string; version: ResticVersion } | null;
  resticError: () => string | null;
  cancelGraceSeconds?: number;
  /** The device's effective stall/backup time-outs at the moment a run starts (settings, C27). */
  timeouts?: () => { stallTimeoutSeconds: number; backupTimeoutSeconds: number };
  /** Check after each backup that the snapshot carries backup:<uuid> (the agent: true; the CLI: false, C30). */
  verifySnapshotTag?: boolean;
  /** Record the job's restic --host after its first backup that wrote a snapshot (C29). */
  recordResticHost?: (jobId: string, host: string) => Promise<unknown>;
  /** Files of the job's last successful backup (C28); a failure to read it counts as unknown. */
  previousFiles?: (jobId: string) => Promise<number | null>;
  /**
   * Runs the backup under its repository's shared lease (issue 18, src/maintenance/backup-gate.ts)
   * so no prune or check of the fleet overlaps it; absent = no lease.
   */
  repositoryGate?: <T>(job: JobConfig, signal: AbortSignal, fn: () => Promise<T>) => Promise<T>;
  /** Run restic below normal priority (runBackup's option; the agent: default true; the CLI: false). */
  lowerPriority?: boolean;
}

/** A backup task plus the full BackupResult once it ran (the CLI prints it). */
export interface BackupTask extends Task {
  result: BackupResult | null;
}

function toRunProgress(p: ProgressEvent): RunProgress {
  return {
    percentDone: p.percentDone,
    totalFiles: p.totalFiles,
    filesDone: p.filesDone,
    totalBytes: p.totalBytes,
    bytesDone: p.bytesDone,
    secondsElapsed: p.secondsElapsed,
    secondsRemaining: p.secondsRemaining,
    currentFiles: p.currentFiles.slice(0, 5),
  };
}

/** The run-row outcome of a backup result (runs columns and metadata keys as before issue 14). */
export function backupOutcome(job: JobConfig, result: BackupResult): TaskOutcome {
  return {
    status: result.status,
    errorKind: result.errorKind,
    exitCode: result.exitCode,
    errorMessage: result.errorMessage,
    snapshotId: result.snapshotId,
    resticOutput: result.resticOutput,
    resticErrors: result.resticErrors,
    endTime: result.endTime,
    durationSeconds: result.durationSeconds,
    ...runStatsOf(result),
    metadata: {
      job_name: job.name,
      warnings: result.warnings,
      unreadable_paths: result.unreadablePaths.slice(0, 100),
      error_kind: result.errorKind,
      error_count: result.errorCount,
      restic_version: result.resticVersion,
      attempts: result.attempts,
    },
  };
}

/** The result of a backup that never started restic (restic missing, job already running elsewhere). */
export function notStartedResult(
  job: JobConfig,
  startTime: string,
  endTime: string,
  message: string,
  kind: BackupResult['errorKind'],
): BackupResult {
  return {
    jobId: job.id,
    status: kind === 'already_running' ? 'cancelled' : 'failed',
    errorKind: kind,
    exitCode: null,
    errorMessage: message,
    startTime,
    endTime,
    ...NO_RUN_STATS,
    durationSeconds: 0,
    snapshotId: null,
    resticOutput: '',
    resticErrors: '',
    errorItems: [],
    errorCount: 0,
    warnings: [],
    unreadablePaths: [],
    hooks: [],
    attempts: 0,
    resticVersion: 'none',
    args: [],
  };
}

/**
 * A backup of `job`. With `early` (a restic the one-shot CLI started before the run, whose caller
 * holds the job's cross-process lock already), the run offers it to runBackup and starts when it did.
 */
export function backupTask(
  job: JobConfig,
  triggeredBy: TriggeredBy,
  deps: BackupTaskDeps,
  early?: EarlyBackup,
): BackupTask {
  const task: BackupTask = {
    kind: 'backup',
    key: job.id,
    job,
    repositoryId: null,
    repository: repositoryKey(job.repository, job.id),
    triggeredBy,
    label: job.name,
    jobLock: !early,
    ...(early ? { startedAt: early.startedAt } : {}),
    result: null,
    async run(ctx: TaskContext): Promise<TaskOutcome> {
      const startTime = new Date(ctx.clock.now()).toISOString();
      const restic = deps.restic();
      let result: BackupResult;
      if (!restic) {
        const now = new Date(ctx.clock.now()).toISOString();
        result = notStartedResult(job, startTime, now, deps.resticError() ?? 'restic is not available', null);
      } else {
        // Only read after restic ends (C28): asked now, not waited for before restic starts.
        const previousFiles = deps.previousFiles?.(job.id).catch(() => null) ?? null;
        const gate = deps.repositoryGate ?? (<T>(_j: JobConfig, _s: AbortSignal, fn: () => Promise<T>) => fn());
        result = await gate(job, ctx.signal, () =>
          runBackup({
            early,
            ...(deps.lowerPriority !== undefined ? { lowerPriority: deps.lowerPriority } : {}),
            previousFiles,
            verifySnapshotTag: deps.verifySnapshotTag ?? false,
            job,
            restic,
            dataDir: ctx.dataDir,
            signal: ctx.signal,
            clock: ctx.clock,
            logger: ctx.logger,
            activeRepositories: deps.activeRepositories,
            cancelGraceSeconds: deps.cancelGraceSeconds ?? 30,
            ...deps.timeouts?.(),
            onProgress: (p) => ctx.onProgress(toRunProgress(p)),
          }),
        );
      }
      task.result = result;
      return backupOutcome(job, result);
    },
    ...(deps.repositoryGate
      ? {
          gate: (signal, proceed) =>
            (deps.repositoryGate as NonNullable<BackupTaskDeps['repositoryGate']>)(job, signal, proceed),
        }
      : {}),
    async afterRun(): Promise<void> {
      const r = task.result;
      if (!job.resticHost && r?.resticHost && r.snapshotId && deps.recordResticHost) {
        await deps.recordResticHost(job.id, r.resticHost).catch((err: unknown) => {
          throw new Error(`could not record the job's restic host: ${errorMessage(err)}`);
        });
      }
    },
  };
  return task;
}
