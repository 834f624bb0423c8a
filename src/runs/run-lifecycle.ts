/**
 * The life of one run, as the scheduler and the API see it: record it `running`, run the backup,
 * publish progress, record the outcome, tell metrics. Holds the in-memory view of what runs now
 * (for /status and cancel). One instance per agent, built in src/app.ts.
 */
import { randomUUID } from 'node:crypto';
import type { Clock } from '../clock.js';
import type { JobConfig } from '../config/device-config.js';
import type { TriggeredBy } from '../db/index.js';
import { errorMessage } from '../errors.js';
import type { EventBus, RunProgress } from '../events.js';
import type { Logger } from '../logging.js';
import type { ActiveRepositories } from '../backup/active-repositories.js';
import type { BackupResult } from '../backup/backup-result.js';
import type { ProgressEvent } from '../backup/output-parser.js';
import type { ResticVersion } from '../backup/restic-version.js';
import { runBackup } from '../backup/run-backup.js';
import { NO_RUN_STATS, runStatsOf } from '../run-stats.js';
import { acquireJobLock } from './job-lock.js';
import { currentOwner, type RunOwner } from './run-owner.js';
import type { RunStartRecord, RunStore } from './run-store.js';

export interface RunningRun {
  clientRunId: string;
  runId: number | null;
  jobId: string;
  jobName: string;
  triggeredBy: TriggeredBy;
  startTime: string;
  progress: RunProgress | null;
  abort: AbortController;
}

export interface RunLifecycleOptions {
  deviceId: string;
  dataDir: string;
  clock: Clock;
  events: EventBus;
  store: RunStore;
  logger: Logger;
  activeRepositories: ActiveRepositories;
  /** The restic found at start; null = missing (every run fails with that reason). */
  restic: () => { path: string; version: ResticVersion } | null;
  resticError: () => string | null;
  /** Called after each finished run (metrics); errors are logged, never fail the run. */
  onFinished?: (job: JobConfig, result: BackupResult) => void;
  cancelGraceSeconds?: number;
  /** The device's effective stall/backup time-outs at the moment a run starts (settings, C27). */
  timeouts?: () => { stallTimeoutSeconds: number; backupTimeoutSeconds: number };
  /** Check after each backup that the snapshot carries backup:<uuid> (the agent: true; the CLI: false, C30). */
  verifySnapshotTag?: boolean;
  /** Record the job's restic --host after its first backup that wrote a snapshot (C29). */
  recordResticHost?: (jobId: string, host: string) => Promise<unknown>;
  /** Files of the job's last successful backup (C28); a failure to read it counts as unknown. */
  previousFiles?: (jobId: string) => Promise<number | null>;
}

function toRunProgress(p: ProgressEvent): RunProgress {
  return {
    percentDone: p.percentDone, totalFiles: p.totalFiles, filesDone: p.filesDone, totalBytes: p.totalBytes,
    bytesDone: p.bytesDone, secondsElapsed: p.secondsElapsed, secondsRemaining: p.secondsRemaining, currentFiles: p.currentFiles.slice(0, 5),
  };
}

export class RunLifecycle {
  private readonly running = new Map<string, RunningRun>();

  constructor(private readonly opts: RunLifecycleOptions) {}

  /**
   * Run one backup of `job` and record it. Resolves with the final status; never rejects (a
   * failure to record is logged: the journal in front of the store keeps the record).
   */
  async execute(job: JobConfig, triggeredBy: TriggeredBy): Promise<{ status: string; runId: number | null; result: BackupResult }> {
    const { clock, logger } = this.opts;
    const owner = currentOwner();
    // C33: one restic per job across processes (the agent and `rbackup2 backup`), database or not.
    const lock = acquireJobLock(this.opts.dataDir, job.id, owner);
    if (!lock.ok) {
      const h = lock.heldBy;
      const message = `Job "${job.name}" is already being backed up by process ${h.pid} on ${h.host}${h.startedAt ? ` (started ${h.startedAt})` : ''}; this run did not start.`;
      logger.warn({ jobId: job.id, holder: h }, 'job already running in another process; not started');
      return { status: 'cancelled', runId: null, result: this.notStarted(job, new Date(clock.now()).toISOString(), message, 'already_running') };
    }
    if (lock.unlockedBecause) logger.warn({ jobId: job.id, err: lock.unlockedBecause }, 'the per-job lock file cannot be written; backing up without the cross-process lock');
    try {
      return await this.executeLocked(job, triggeredBy, owner);
    } finally {
      lock.release();
    }
  }

  private async executeLocked(job: JobConfig, triggeredBy: TriggeredBy, owner: RunOwner): Promise<{ status: string; runId: number | null; result: BackupResult }> {
    const { clock, events, logger } = this.opts;
    const start: RunStartRecord = {
      clientRunId: randomUUID(), jobId: job.id, deviceId: this.opts.deviceId, startTime: new Date(clock.now()), triggeredBy,
      metadata: { job_name: job.name }, owner,
    };
    const run: RunningRun = {
      clientRunId: start.clientRunId, runId: null, jobId: job.id, jobName: job.name, triggeredBy,
      startTime: start.startTime.toISOString(), progress: null, abort: new AbortController(),
    };
    this.running.set(job.id, run);
    try {
      run.runId = await this.opts.store.started(start);
    } catch (err) {
      logger.warn({ jobId: job.id, err: errorMessage(err) }, 'could not record the run start; the backup goes ahead');
    }
    events.emit('run.started', { runId: run.runId, jobId: job.id, jobName: job.name, triggeredBy, startTime: run.startTime });
    try {
      const result = await this.backup(job, run);
      if (!job.resticHost && result.resticHost && result.snapshotId) {
        await this.opts.recordResticHost?.(job.id, result.resticHost).catch((err: unknown) => logger.warn({ jobId: job.id, err: errorMessage(err) }, 'could not record the job\'s restic host'));
      }
      const completion = {
        status: result.status, exitCode: result.exitCode, errorMessage: result.errorMessage, snapshotId: result.snapshotId,
        resticOutput: result.resticOutput, resticErrors: result.resticErrors, endTime: new Date(result.endTime),
        durationSeconds: result.durationSeconds, ...runStatsOf(result),
        metadata: {
          job_name: job.name, warnings: result.warnings, unreadable_paths: result.unreadablePaths.slice(0, 100),
          error_kind: result.errorKind, error_count: result.errorCount, restic_version: result.resticVersion, attempts: result.attempts,
        },
      };
      try {
        const id = await this.opts.store.finished({ clientRunId: start.clientRunId, jobId: job.id, completion, startTime: start.startTime }, start, run.runId);
        if (id !== null) run.runId = id;
      } catch (err) {
        logger.error({ jobId: job.id, err: errorMessage(err) }, 'could not record the run outcome');
      }
      try {
        this.opts.onFinished?.(job, result);
      } catch (err) {
        logger.warn({ jobId: job.id, err: errorMessage(err) }, 'run-finished hook failed');
      }
      events.emit('run.finished', {
        runId: run.runId, jobId: job.id, jobName: job.name, status: result.status, snapshotId: result.snapshotId, durationSeconds: result.durationSeconds,
      });
      logger.info({ jobId: job.id, job: job.name, status: result.status, snapshotId: result.snapshotId, durationSeconds: Math.round(result.durationSeconds), error: result.errorMessage }, 'backup finished');
      return { status: result.status, runId: run.runId, result };
    } finally {
      this.running.delete(job.id);
    }
  }

  private async backup(job: JobConfig, run: RunningRun): Promise<BackupResult> {
    const restic = this.opts.restic();
    if (!restic) return this.notStarted(job, run.startTime, this.opts.resticError() ?? 'restic is not available', null);
    const previousFiles = await this.opts.previousFiles?.(job.id).catch(() => null) ?? null;
    return runBackup({
      previousFiles, verifySnapshotTag: this.opts.verifySnapshotTag ?? false,
      job, restic, dataDir: this.opts.dataDir, signal: run.abort.signal, clock: this.opts.clock, logger: this.opts.logger,
      activeRepositories: this.opts.activeRepositories, cancelGraceSeconds: this.opts.cancelGraceSeconds ?? 30,
      ...this.opts.timeouts?.(),
      onProgress: (p) => {
        run.progress = toRunProgress(p);
        this.opts.events.emit('run.progress', { runId: run.runId, jobId: job.id, progress: run.progress });
      },
    });
  }

  /** The result of a run that never started restic. */
  private notStarted(job: JobConfig, startTime: string, message: string, kind: BackupResult['errorKind']): BackupResult {
    const now = new Date(this.opts.clock.now()).toISOString();
    return {
      jobId: job.id, status: kind === 'already_running' ? 'cancelled' : 'failed', errorKind: kind, exitCode: null, errorMessage: message, startTime, endTime: now,
      ...NO_RUN_STATS, durationSeconds: 0, snapshotId: null,
      resticOutput: '', resticErrors: '', errorItems: [], errorCount: 0, warnings: [], unreadablePaths: [], hooks: [],
      attempts: 0, resticVersion: 'none', args: [],
    };
  }

  /** What runs now (copies). */
  list(): Omit<RunningRun, 'abort'>[] {
    return [...this.running.values()].map(({ abort: _abort, ...rest }) => ({ ...rest }));
  }

  /** The running run of a job, if any. */
  byJob(jobId: string): Omit<RunningRun, 'abort'> | null {
    const r = this.running.get(jobId);
    return r ? this.list().find((x) => x.jobId === r.jobId) ?? null : null;
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

  /** Cancel every running backup (shutdown). */
  cancelAll(): void {
    for (const r of this.running.values()) r.abort.abort();
  }

  get size(): number {
    return this.running.size;
  }
}
