/**
 * The agent's Prometheus metrics (CONTRACTS §7), in a Registry of their own (never prom-client's
 * global default registry), served at GET /metrics and pushed to the Pushgateway as one group per
 * device (see pushgateway.ts).
 *
 * Labels are `device`, `job_id`, `job_name` (never `job`/`instance`: the Pushgateway owns those).
 * Semantics chosen here:
 * - `partial` (restic exit 3: "snapshot created, but some source files could not be read", restic
 *   docs) counts as `backup_runs_total{status="partial"}`, never as failed (C04), and DOES update
 *   `backup_last_success_timestamp`: a snapshot was saved, and a job with one permanently locked
 *   file would otherwise look as if it never backed up. Alert on partial runs with
 *   `increase(backup_runs_total{status="partial"}[1d]) > 0`. This matches the scheduler, which
 *   also treats `partial` as done (src/scheduler/retry.ts).
 * - `backup_files_total` / `backup_bytes_added` describe the last run that saved a snapshot
 *   (success or partial) and reported the value; other runs leave them unchanged.
 * - `backup_duration_seconds` observes every finished run with a finite duration >= 0.
 * - The success timestamp never moves backwards (a run recorded late, e.g. from the journal).
 * - A rename keeps the gauges (job state) under the new `job_name`; the counter and histogram
 *   (events) start again at zero under the new name, which Prometheus sees as a new series anyway.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { AppError } from '../errors.js';

/** The run statuses counted by `backup_runs_total` (the `runs.status` values of a finished run). */
export const RUN_STATUSES = ['success', 'partial', 'failed', 'cancelled', 'interrupted'] as const;
export type MetricRunStatus = (typeof RUN_STATUSES)[number];

/** Buckets of `backup_duration_seconds`: 1 s .. 24 h. */
export const DURATION_BUCKETS_SECONDS = [
  1, 5, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14400, 28800, 43200, 86400,
];

/** One finished run, as the run lifecycle reports it. */
export interface RunMetricsInput {
  /** Optional; when given it must equal the deviceId the metrics were built for. */
  deviceId?: string;
  jobId: string;
  jobName: string;
  status: MetricRunStatus;
  endTime: Date;
  /** Seconds; null when unknown. */
  durationSeconds: number | null;
  /** restic summary `total_files_processed`; null when there was no summary. */
  totalFilesProcessed: number | null;
  /** restic summary `data_added` in bytes; null when there was no summary. */
  dataAddedBytes: number | null;
  /** A `partial` run that saved an empty snapshot of an unmounted disk (C28): not a success. */
  notASuccess?: boolean;
}

/**
 * One finished run of another kind than backup (forget, prune, check, restore, unlock), as the
 * `run.finished` event reports it. Counted in `rbackup2_operation_runs_total` (the backup_* names
 * of CONTRACTS §7 stay about backups).
 */
export interface OperationMetricsInput {
  operation: string;
  /** The job, or null for a repository-level run. */
  jobId: string | null;
  jobName: string;
  /** runs.repository_id, or null (the settings repository). */
  repositoryId: string | null;
  status: MetricRunStatus;
  endTime: Date;
  durationSeconds: number | null;
}

type OperationLabels = { device: string; operation: string; job_id: string; job_name: string; repository_id: string };
const OPERATION_LABELS = ['device', 'operation', 'job_id', 'job_name', 'repository_id'] as const;

/** A job as the config knows it (id is the stable `backup_jobs.id`). */
export interface MetricsJob {
  id: string;
  name: string;
}

type JobLabels = { device: string; job_id: string; job_name: string };

interface JobState {
  name: string;
  lastSuccess: number | null;
  files: number | null;
  bytes: number | null;
}

const LABELS = ['device', 'job_id', 'job_name'] as const;

/** Metrics of one device's backup jobs. */
export class BackupMetrics {
  readonly registry = new Registry();
  readonly deviceId: string;
  private readonly jobs = new Map<string, JobState>();
  private readonly lastSuccess: Gauge<'device' | 'job_id' | 'job_name'>;
  private readonly duration: Histogram<'device' | 'job_id' | 'job_name'>;
  private readonly files: Gauge<'device' | 'job_id' | 'job_name'>;
  private readonly bytes: Gauge<'device' | 'job_id' | 'job_name'>;
  private readonly runs: Counter<'device' | 'job_id' | 'job_name' | 'status'>;
  private readonly journalPending: Gauge<'device'>;
  private readonly opRuns: Counter<(typeof OPERATION_LABELS)[number] | 'status'>;
  private readonly opLastSuccess: Gauge<(typeof OPERATION_LABELS)[number]>;
  private readonly opDuration: Gauge<(typeof OPERATION_LABELS)[number]>;
  private readonly repoSize: Gauge<'device' | 'repository' | 'restic_repository_id'>;
  private readonly repoSnapshots: Gauge<'device' | 'repository' | 'restic_repository_id'>;
  /** Label sets of the operation series, by job id ('' = repository-level), for removal with the job. */
  private readonly opSeries = new Map<string, Map<string, OperationLabels>>();

  /** `deviceId` is `devices.id`; it becomes the `device` label of every series. */
  constructor(opts: { deviceId: string }) {
    this.deviceId = opts.deviceId;
    const registers = [this.registry];
    this.lastSuccess = new Gauge({
      name: 'backup_last_success_timestamp',
      help: 'Unix time (seconds) when the last successful or partial backup run of the job ended.',
      labelNames: LABELS,
      registers,
    });
    this.duration = new Histogram({
      name: 'backup_duration_seconds',
      help: 'Duration of finished backup runs in seconds.',
      labelNames: LABELS,
      buckets: DURATION_BUCKETS_SECONDS,
      registers,
    });
    this.files = new Gauge({
      name: 'backup_files_total',
      help: 'Files processed by the last backup run that saved a snapshot (restic total_files_processed).',
      labelNames: LABELS,
      registers,
    });
    this.bytes = new Gauge({
      name: 'backup_bytes_added',
      help: 'Bytes added to the repository by the last backup run that saved a snapshot (restic data_added).',
      labelNames: LABELS,
      registers,
    });
    this.runs = new Counter({
      name: 'backup_runs_total',
      help: 'Finished backup runs by status (success, partial, failed, cancelled, interrupted).',
      labelNames: [...LABELS, 'status'],
      registers,
    });
    this.journalPending = new Gauge({
      name: 'rbackup2_journal_entries_pending',
      help: 'Run results kept locally that are not yet written to the database.',
      labelNames: ['device'],
      registers,
    });
    this.journalPending.set({ device: this.deviceId }, 0);
    this.opRuns = new Counter({
      name: 'rbackup2_operation_runs_total',
      help: 'Finished runs other than backups (forget, prune, check, restore, unlock) by operation and status.',
      labelNames: [...OPERATION_LABELS, 'status'],
      registers,
    });
    this.opLastSuccess = new Gauge({
      name: 'rbackup2_operation_last_success_timestamp',
      help: 'Unix time (seconds) when the last successful run of the operation ended.',
      labelNames: OPERATION_LABELS,
      registers,
    });
    this.opDuration = new Gauge({
      name: 'rbackup2_operation_last_duration_seconds',
      help: 'Duration in seconds of the last finished run of the operation.',
      labelNames: OPERATION_LABELS,
      registers,
    });
    this.repoSize = new Gauge({
      name: 'backup_repository_size_bytes',
      help: 'Size of the restic repository in bytes (restic stats --mode raw-data, refreshed after each prune).',
      labelNames: ['device', 'repository', 'restic_repository_id'],
      registers,
    });
    this.repoSnapshots = new Gauge({
      name: 'backup_repository_snapshots',
      help: 'Snapshots in the restic repository (restic stats, refreshed after each prune).',
      labelNames: ['device', 'repository', 'restic_repository_id'],
      registers,
    });
  }

  /** The size (bytes) and snapshot count of a repository, as last measured (issue 18). */
  setRepositorySize(repository: string, resticId: string, sizeBytes: number, snapshots: number | null): void {
    const labels = { device: this.deviceId, repository, restic_repository_id: resticId };
    if (isNonNegative(sizeBytes)) this.repoSize.set(labels, sizeBytes);
    if (snapshots !== null && isNonNegative(snapshots)) this.repoSnapshots.set(labels, snapshots);
  }

  /**
   * Record one finished run of a non-backup operation. Throws AppError INVALID_INPUT for an
   * unknown status or for 'backup' (those go through recordRun).
   */
  recordOperation(run: OperationMetricsInput): void {
    if (run.operation === 'backup') throw new AppError('INVALID_INPUT', 'metrics: a backup run goes to recordRun');
    if (!(RUN_STATUSES as readonly string[]).includes(run.status)) {
      throw new AppError('INVALID_INPUT', `metrics: unknown run status ${String(run.status)}`);
    }
    const labels: OperationLabels = {
      device: this.deviceId,
      operation: run.operation,
      job_id: run.jobId ?? '',
      job_name: run.jobId ? run.jobName : '',
      repository_id: run.repositoryId ?? '',
    };
    const byJob = this.opSeries.get(labels.job_id) ?? new Map<string, OperationLabels>();
    this.opSeries.set(labels.job_id, byJob);
    const id = JSON.stringify(labels);
    if (!byJob.has(id)) {
      byJob.set(id, labels);
      for (const status of RUN_STATUSES) this.opRuns.inc({ ...labels, status }, 0);
    }
    this.opRuns.inc({ ...labels, status: run.status }, 1);
    if (isNonNegative(run.durationSeconds)) this.opDuration.set(labels, run.durationSeconds);
    const endSeconds = run.endTime.getTime() / 1000;
    if (run.status === 'success' && Number.isFinite(endSeconds)) this.opLastSuccess.set(labels, endSeconds);
  }

  /**
   * Record one finished run. Throws AppError INVALID_INPUT for an unknown status or a deviceId
   * other than this instance's (a wiring mistake; the Pushgateway group is per device).
   */
  recordRun(run: RunMetricsInput): void {
    if (run.deviceId !== undefined && run.deviceId !== this.deviceId) {
      throw new AppError(
        'INVALID_INPUT',
        `metrics: run of device ${run.deviceId} recorded on the metrics of device ${this.deviceId}`,
      );
    }
    if (!(RUN_STATUSES as readonly string[]).includes(run.status)) {
      throw new AppError('INVALID_INPUT', `metrics: unknown run status ${String(run.status)}`);
    }
    const state = this.ensureJob({ id: run.jobId, name: run.jobName });
    const labels = this.labels(run.jobId, state.name);
    this.runs.inc({ ...labels, status: run.status }, 1);
    if (isNonNegative(run.durationSeconds)) this.duration.observe(labels, run.durationSeconds);
    if ((run.status !== 'success' && run.status !== 'partial') || run.notASuccess) return;
    const endSeconds = run.endTime.getTime() / 1000;
    if (Number.isFinite(endSeconds) && (state.lastSuccess === null || endSeconds > state.lastSuccess))
      state.lastSuccess = endSeconds;
    if (isNonNegative(run.totalFilesProcessed)) state.files = run.totalFilesProcessed;
    if (isNonNegative(run.dataAddedBytes)) state.bytes = run.dataAddedBytes;
    this.setGauges(labels, state);
  }

  /**
   * Fill a job's last-success gauges from its last successful run in the `runs` table (C32), so
   * the first push after a restart does not replace the Pushgateway group without them. Counters
   * are not touched (they count this process's runs). A newer value already recorded wins.
   */
  restoreLastSuccess(
    job: MetricsJob,
    last: { endTime: Date; totalFilesProcessed: number | null; dataAddedBytes: number | null },
  ): void {
    const state = this.ensureJob(job);
    const endSeconds = last.endTime.getTime() / 1000;
    if (!Number.isFinite(endSeconds) || (state.lastSuccess !== null && state.lastSuccess >= endSeconds)) return;
    state.lastSuccess = endSeconds;
    if (isNonNegative(last.totalFilesProcessed)) state.files = last.totalFilesProcessed;
    if (isNonNegative(last.dataAddedBytes)) state.bytes = last.dataAddedBytes;
    this.setGauges(this.labels(job.id, state.name), state);
  }

  /** Drop every series of a job (job deleted, C23). Returns false when the job had none. */
  removeJob(jobId: string): boolean {
    const state = this.jobs.get(jobId);
    if (!state) return false;
    this.removeSeries(this.labels(jobId, state.name));
    this.jobs.delete(jobId);
    for (const labels of this.opSeries.get(jobId)?.values() ?? []) {
      for (const status of RUN_STATUSES) this.opRuns.remove({ ...labels, status });
      this.opLastSuccess.remove(labels);
      this.opDuration.remove(labels);
    }
    this.opSeries.delete(jobId);
    return true;
  }

  /**
   * Make the series match the configured jobs: jobs no longer listed are removed (C23), a renamed
   * job loses its old `job_name` series (gauges move to the new name), new jobs get zeroed
   * counters so the first failure is visible to `increase()`.
   */
  syncJobs(jobs: readonly MetricsJob[]): void {
    const wanted = new Map(jobs.map((j) => [j.id, j.name]));
    for (const id of [...this.jobs.keys()]) if (!wanted.has(id)) this.removeJob(id);
    for (const [id, name] of wanted) this.ensureJob({ id, name });
  }

  /** Number of run results waiting in the local journal (C17). */
  setJournalPending(count: number): void {
    this.journalPending.set({ device: this.deviceId }, isNonNegative(count) ? count : 0);
  }

  /** Ids of the jobs that currently have series. */
  jobIds(): string[] {
    return [...this.jobs.keys()];
  }

  /** Text exposition format 0.0.4, for GET /metrics and the Pushgateway body. */
  metricsText(): Promise<string> {
    return this.registry.metrics();
  }

  /** Content-Type header value of metricsText(). */
  get contentType(): string {
    return this.registry.contentType;
  }

  private ensureJob(job: MetricsJob): JobState {
    const state = this.jobs.get(job.id);
    if (state && state.name === job.name) return state;
    if (state) this.removeSeries(this.labels(job.id, state.name));
    const next: JobState = state
      ? { ...state, name: job.name }
      : { name: job.name, lastSuccess: null, files: null, bytes: null };
    this.jobs.set(job.id, next);
    const labels = this.labels(job.id, job.name);
    for (const status of RUN_STATUSES) this.runs.inc({ ...labels, status }, 0);
    this.duration.zero(labels);
    this.setGauges(labels, next);
    return next;
  }

  private setGauges(labels: JobLabels, state: JobState): void {
    if (state.lastSuccess !== null) this.lastSuccess.set(labels, state.lastSuccess);
    if (state.files !== null) this.files.set(labels, state.files);
    if (state.bytes !== null) this.bytes.set(labels, state.bytes);
  }

  private removeSeries(labels: JobLabels): void {
    this.lastSuccess.remove(labels);
    this.files.remove(labels);
    this.bytes.remove(labels);
    this.duration.remove(labels);
    for (const status of RUN_STATUSES) this.runs.remove({ ...labels, status });
  }

  private labels(jobId: string, jobName: string): JobLabels {
    return { device: this.deviceId, job_id: jobId, job_name: jobName };
  }
}

function isNonNegative(v: number | null): v is number {
  return typeof v === 'number' && Number.isFinite(v) && v >= 0;
}
