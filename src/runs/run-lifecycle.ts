/**
 * The life of one run of any kind (issue 14), as the scheduler and the API see it: record it
 * `running` (operation, job, repository), run the task, publish progress, record the outcome,
 * publish `run.finished`. Metrics, the SSE stream and later notifications observe runs only through
 * those events (src/events.ts). Holds the in-memory view of what runs now (for /status and
 * cancel). One instance per agent, built in src/app.ts. What a kind does is its task module
 * (src/tasks/); nothing here knows restic.
 */
import { randomUUID } from 'node:crypto';
import type { Clock } from '../clock.js';
import type { JobConfig } from '../config/device-config.js';
import type { RunOperation, TriggeredBy } from '../db/queries/runs.js';
import { errorMessage } from '../errors.js';
import type { EventBus, RunEventBase, RunProgress } from '../events.js';
import type { Logger } from '../logging.js';
import type { BackupResult } from '../backup/backup-result.js';
import type { EarlyBackup } from '../backup/early-backup.js';
import { backupTask, notStartedResult, type BackupTaskDeps } from '../tasks/backup-task.js';
import { failedOutcome, type Task, type TaskOutcome } from '../tasks/task.js';
import { acquireJobLock } from './job-lock.js';
import { currentOwner, type RunOwner } from './run-owner.js';
import type { RunStartRecord, RunStore } from './run-store.js';

export interface RunningRun {
  clientRunId: string;
  runId: number | null;
  operation: RunOperation;
  /** The task's queue key (a backup's: its job id). */
  key: string;
  jobId: string | null;
  jobName: string;
  repositoryId: string | null;
  triggeredBy: TriggeredBy;
  startTime: string;
  progress: RunProgress | null;
  abort: AbortController;
}

/** What the lifecycle needs; the backup part (BackupTaskDeps) serves `execute(job, ...)`. */
export interface RunLifecycleOptions extends BackupTaskDeps {
  deviceId: string;
  dataDir: string;
  clock: Clock;
  events: EventBus;
  store: RunStore;
  logger: Logger;
}

/** What a finished run resolves with. */
export interface RunResult {
  status: TaskOutcome['status'];
  runId: number | null;
  outcome: TaskOutcome;
}

export class RunLifecycle {
  private readonly running = new Map<string, RunningRun>();
  /** Tasks waiting at their gate (not recorded yet), by key: cancelAll aborts the wait. */
  private readonly waiting = new Map<string, AbortController>();

  constructor(private readonly opts: RunLifecycleOptions) {}

  /**
   * Run one backup of `job` and record it (the scheduler's and `rbackup2 backup`'s entry).
   * `early`: a restic the one-shot CLI started before (backupTask). Resolves with the final status
   * and the full backup result; never rejects.
   */
  async execute(
    job: JobConfig,
    triggeredBy: TriggeredBy,
    early?: EarlyBackup,
  ): Promise<{ status: string; runId: number | null; result: BackupResult }> {
    const task = backupTask(job, triggeredBy, this.opts, early);
    const r = await this.run(task);
    const now = new Date(this.opts.clock.now()).toISOString();
    const kind = r.outcome.errorKind === 'already_running' ? 'already_running' : null;
    const result =
      task.result ?? notStartedResult(job, now, now, r.outcome.errorMessage ?? 'the backup did not run', kind);
    return { status: r.status, runId: r.runId, result };
  }

  /**
   * Run one task of any kind and record it. Resolves with the final status; never rejects (a task
   * that throws is recorded `failed` with the error; a failure to record is logged: the journal in
   * front of the store keeps the record).
   */
  async run(task: Task): Promise<RunResult> {
    const { clock, logger } = this.opts;
    if (!task.jobLock || !task.job) return this.runUnlocked(task, currentOwner());
    const owner = currentOwner();
    const job = task.job;
    // C33: one restic per job across processes (the agent and `rbackup2 backup`), database or not.
    const lock = acquireJobLock(this.opts.dataDir, job.id, owner);
    if (!lock.ok) {
      const h = lock.heldBy;
      const message = `Job "${job.name}" is already being backed up by process ${h.pid} on ${h.host}${h.startedAt ? ` (started ${h.startedAt})` : ''}; this run did not start.`;
      logger.warn({ jobId: job.id, holder: h }, 'job already running in another process; not started');
      const now = clock.now();
      const outcome = failedOutcome(now, now, message, 'already_running', 'cancelled');
      return { status: 'cancelled', runId: null, outcome };
    }
    if (lock.unlockedBecause)
      logger.warn(
        { jobId: job.id, err: lock.unlockedBecause },
        'the per-job lock file cannot be written; backing up without the cross-process lock',
      );
    try {
      return await this.runUnlocked(task, owner);
    } finally {
      lock.release();
    }
  }

  private async runUnlocked(task: Task, owner: RunOwner): Promise<RunResult> {
    const { clock, logger } = this.opts;
    if (task.prepare) {
      const startedAt = clock.now();
      const skip = await task
        .prepare({ signal: new AbortController().signal })
        .catch((err: unknown) => `could not prepare: ${errorMessage(err)}`);
      if (skip !== null) {
        logger.info({ op: task.kind, task: task.key, reason: skip }, `${task.kind} skipped`);
        const outcome = failedOutcome(startedAt, clock.now(), skip, 'skipped', 'cancelled');
        return { status: 'cancelled', runId: null, outcome };
      }
    }
    const abort = new AbortController();
    // A gate (issue 18: the repository lease) is waited for before the run is recorded, so a run's
    // start and end times are the times it really held the repository.
    if (task.gate) {
      this.waiting.set(task.key, abort);
      let entered = false;
      try {
        return await task.gate(abort.signal, () => {
          entered = true;
          this.waiting.delete(task.key);
          return this.record(task, owner, abort);
        });
      } finally {
        if (!entered) this.waiting.delete(task.key);
      }
    }
    return this.record(task, owner, abort);
  }

  private async record(task: Task, owner: RunOwner, abort: AbortController): Promise<RunResult> {
    const { clock, events, logger } = this.opts;
    const jobName = task.job?.name ?? task.label;
    const start: RunStartRecord = {
      clientRunId: randomUUID(),
      jobId: task.job?.id ?? null,
      operation: task.kind,
      repositoryId: task.repositoryId,
      resticRepositoryId: task.resticRepositoryId ?? null,
      deviceId: this.opts.deviceId,
      startTime: new Date(task.startedAt ?? clock.now()),
      triggeredBy: task.triggeredBy,
      metadata: { ...task.startMetadata, job_name: jobName },
      owner,
    };
    const run: RunningRun = {
      clientRunId: start.clientRunId,
      runId: null,
      operation: task.kind,
      key: task.key,
      jobId: start.jobId,
      jobName,
      repositoryId: task.repositoryId,
      triggeredBy: task.triggeredBy,
      startTime: start.startTime.toISOString(),
      progress: null,
      abort,
    };
    const log = { op: task.kind, jobId: run.jobId, repositoryId: run.repositoryId };
    this.running.set(task.key, run);
    const base = (): RunEventBase => ({
      runId: run.runId,
      operation: run.operation,
      jobId: run.jobId,
      jobName,
      repositoryId: run.repositoryId,
    });
    try {
      run.runId = await this.opts.store.started(start);
    } catch (err) {
      logger.warn({ ...log, err: errorMessage(err) }, 'could not record the run start; the run goes ahead');
    }
    events.emit('run.started', { ...base(), triggeredBy: task.triggeredBy, startTime: run.startTime });
    try {
      let outcome: TaskOutcome;
      try {
        outcome = await task.run({
          signal: run.abort.signal,
          clock,
          logger,
          dataDir: this.opts.dataDir,
          onProgress: (p) => {
            run.progress = p;
            events.emit('run.progress', { ...base(), progress: p });
          },
        });
      } catch (err) {
        logger.error({ ...log, err: errorMessage(err) }, 'task failed');
        outcome = failedOutcome(start.startTime.getTime(), clock.now(), errorMessage(err), 'task_error');
      }
      await task
        .afterRun?.(outcome)
        .catch((err: unknown) => logger.warn({ ...log, err: errorMessage(err) }, 'after-run step failed'));
      const completion = {
        ...outcome,
        endTime: new Date(outcome.endTime),
        metadata: { job_name: jobName, ...outcome.metadata },
      };
      try {
        const id = await this.opts.store.finished(
          {
            clientRunId: start.clientRunId,
            jobId: start.jobId,
            operation: task.kind,
            completion,
            startTime: start.startTime,
          },
          start,
          run.runId,
        );
        if (id !== null) run.runId = id;
      } catch (err) {
        logger.error({ ...log, err: errorMessage(err) }, 'could not record the run outcome');
      }
      events.emit('run.finished', {
        ...base(),
        triggeredBy: task.triggeredBy,
        status: outcome.status,
        endTime: outcome.endTime,
        durationSeconds: outcome.durationSeconds,
        snapshotId: outcome.snapshotId ?? null,
        exitCode: outcome.exitCode ?? null,
        errorMessage: outcome.errorMessage ?? null,
        errorKind: outcome.errorKind,
        totalFilesProcessed: outcome.totalFilesProcessed ?? null,
        dataAddedBytes: outcome.dataAddedBytes ?? null,
      });
      logger.info(
        {
          ...log,
          job: jobName,
          status: outcome.status,
          snapshotId: outcome.snapshotId ?? null,
          durationSeconds: Math.round(outcome.durationSeconds),
          error: outcome.errorMessage ?? null,
        },
        `${task.kind} finished`,
      );
      return { status: outcome.status, runId: run.runId, outcome };
    } finally {
      this.running.delete(task.key);
    }
  }

  /** What runs now (copies). */
  list(): Omit<RunningRun, 'abort'>[] {
    return [...this.running.values()].map(({ abort: _abort, ...rest }) => ({ ...rest }));
  }

  /** The running backup of a job, if any. */
  byJob(jobId: string): Omit<RunningRun, 'abort'> | null {
    return this.list().find((x) => x.operation === 'backup' && x.jobId === jobId) ?? null;
  }

  /** Cancel the run with database id `runId`; false when no such run is running. */
  cancelRun(runId: number): boolean {
    for (const r of this.running.values()) {
      if (r.runId === runId) {
        r.abort.abort();
        return true;
      }
    }
    return false;
  }

  /** Cancel every running run (shutdown). */
  cancelAll(): void {
    for (const a of this.waiting.values()) a.abort();
    for (const r of this.running.values()) r.abort.abort();
  }

  /** Runs in progress plus tasks waiting at their gate. */
  get size(): number {
    return this.running.size + this.waiting.size;
  }
}
