/**
 * What the HTTP API needs from the running agent. src/app.ts implements it; the API module only
 * sees this interface, so routes are tested against a real agent or a small in-memory one alike.
 */
import type { RunOperation } from '../db/queries/runs.js';
import type { EventBus, RunProgress } from '../events.js';
import type { FieldError } from '../errors.js';
import type { RepositoryInput } from '../agent/repository-setup.js';

export interface JobStatus {
  id: string;
  name: string;
  enabled: boolean;
  sourcePaths: string[];
  /** Reason when the job row is invalid and is not scheduled. */
  invalidReason: string | null;
  /** The latest run, whatever its status (the last attempt). */
  lastRun: RunSummary | null;
  /** The latest run with status success or partial (issue 16: "last backup" is the last success). */
  lastSuccess: RunSummary | null;
  /** ISO 8601: start of the oldest failed/interrupted run after the last success; null when not failing. */
  failingSince: string | null;
  /** ISO 8601 or null. */
  nextRunAt: string | null;
  /** ISO 8601: when the scheduler retries a failed automatic run, or null. */
  retryAt: string | null;
  description: string | null;
  tags: string[];
  running: boolean;
  queued: boolean;
  progress: RunProgress | null;
}

export interface RunSummary {
  id: number;
  /** runs.operation (backup, forget, prune, check, restore, unlock). */
  operation: RunOperation;
  /** Null for a repository-level run. */
  jobId: string | null;
  repositoryId: string | null;
  jobName: string | null;
  status: string;
  triggeredBy: string;
  startTime: string;
  endTime: string | null;
  durationSeconds: number | null;
  snapshotId: string | null;
  dataAddedBytes: number | null;
  totalFilesProcessed: number | null;
  totalBytesProcessed: number | null;
  filesNew: number | null;
  filesChanged: number | null;
  filesUnmodified: number | null;
  errorMessage: string | null;
  exitCode: number | null;
}

export interface RunDetail extends RunSummary {
  /** Named failure class (repository_missing, locked, wrong_password, unreadable_files, ...), or null. */
  errorKind: string | null;
  resticOutput: string | null;
  /** Error items (capped) and unreadable paths. */
  resticErrors: string | null;
  warnings: string[];
  unreadablePaths: string[];
}

export interface AgentStatus {
  device: {
    id: string;
    name: string;
    hostname: string;
    platform: string;
    agentVersion: string;
    resticVersion: string | null;
  };
  database: {
    kind: 'postgres' | 'pglite';
    connected: boolean;
    lastSyncAt: string | null;
    usingCachedConfig: boolean;
    cachedConfigSince: string | null;
    downSince: string | null;
    pendingJournalEntries: number;
    listening: boolean;
    pollingReason: string | null;
  };
  restic: { ok: boolean; version: string | null; error: string | null };
  /** Stored setting values the agent cannot use (SQL-edited), one sentence each (settings-registry.ts). */
  settingProblems: string[];
  jobs: JobStatus[];
  /** Issue 19: whether a notifier delivers; `message` says "notifications are not being delivered". */
  notifications?: import('../notify/notifier-health.js').NotificationsStatus | null;
  running: {
    operation: RunOperation;
    jobId: string | null;
    repositoryId: string | null;
    runId: number | null;
    startTime: string;
    progress: RunProgress | null;
  }[];
}

/** The device config as the API shows and accepts it (snake_case, as in the database). */
export interface ConfigView {
  device: { id: string; name: string };
  jobs: Record<string, unknown>[];
  settings: Record<string, string>;
  repositories: Record<string, unknown>[];
}

export type TriggerResult =
  | { state: 'started' | 'queued'; position: number; jobId: string }
  | { state: 'already_running' | 'already_queued'; jobId: string };

import type { RepositoryView } from '../maintenance/repository-view.js';
import type { RetentionPolicy } from '../maintenance/retention-policy.js';
import type { ForgetPlan } from '../tasks/forget-task.js';

export interface AgentPort {
  readonly events: EventBus;
  status(): Promise<AgentStatus>;
  getConfig(): Promise<ConfigView>;
  /** Validate and apply; resolves with field errors (nothing written) or the new config. */
  postConfig(body: unknown): Promise<{ ok: true; config: ConfigView } | { ok: false; errors: FieldError[] }>;
  /** Throws AppError NOT_FOUND for an unknown job. */
  triggerJob(jobId: string): Promise<TriggerResult>;
  /** Recent runs of this device, newest first; `operation` filters by kind. */
  listRuns(q: { limit: number; offset: number; jobId?: string; operation?: RunOperation }): Promise<RunSummary[]>;
  /** null when unknown. */
  getRun(id: number): Promise<RunDetail | null>;
  /** Cancel a running run; false when it is not running. */
  cancelRun(id: number): Promise<boolean>;
  /** Next n run times (ISO) of the job's schedules; throws NOT_FOUND. Also used for a cron preview. */
  nextRuns(jobId: string, n: number): Promise<string[]>;
  previewCron(expression: string, timezone: string | null, n: number): Promise<string[]>;
  /**
   * Test (restic cat config) or create (restic init) a repository from URL and password, then store
   * it unless test_only; field errors when restic refused (nothing stored).
   */
  addRepository(
    input: RepositoryInput,
  ): Promise<{ ok: true; id: string | null; name: string; tested: true } | { ok: false; errors: FieldError[] }>;
  /** Issue 18: size, snapshots, last forget/prune/check and leases of each repository this device uses. */
  repositories?(): Promise<RepositoryView[]>;
  /**
   * Issue 18: what a forget of the job would keep and remove (no lock, nothing removed), with
   * `retention` instead of the job's own policy when given. Throws NOT_FOUND, INVALID_INPUT, ResticError.
   */
  previewForget?(jobId: string, retention: RetentionPolicy | null): Promise<ForgetPlan>;
  /**
   * Notification channels of the local UI (issue 19 point 1; src/notify/local-channels.ts): on the
   * embedded database only; on PostgreSQL each throws AppError CONFLICT naming where channels are
   * managed. Configs are redacted; NOT_FOUND for an unknown channel, INVALID_INPUT for a bad add.
   */
  readonly channels: {
    list(): Promise<import('../notify/channel-admin.js').ChannelView[]>;
    add(
      input: import('../notify/channel-admin.js').ChannelInput,
    ): Promise<import('../notify/channel-admin.js').ChannelView>;
    remove(nameOrId: string): Promise<void>;
    test(nameOrId: string): Promise<{ ok: true; id: string } | { ok: false; error: string }>;
  };
}
