/**
 * What the HTTP API needs from the running agent. src/app.ts implements it; the API module only
 * sees this interface, so routes are tested against a real agent or a small in-memory one alike.
 */
import type { EventBus, RunProgress } from '../events.js';
import type { FieldError } from '../errors.js';

export interface JobStatus {
  id: string;
  name: string;
  enabled: boolean;
  sourcePaths: string[];
  /** Reason when the job row is invalid and is not scheduled. */
  invalidReason: string | null;
  lastRun: RunSummary | null;
  /** ISO 8601 or null. */
  nextRunAt: string | null;
  running: boolean;
  queued: boolean;
  progress: RunProgress | null;
}

export interface RunSummary {
  id: number;
  jobId: string;
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
  device: { id: string; name: string; hostname: string; platform: string; agentVersion: string; resticVersion: string | null };
  database: { kind: 'postgres' | 'pglite'; connected: boolean; lastSyncAt: string | null; usingCachedConfig: boolean; cachedConfigSince: string | null; downSince: string | null; pendingJournalEntries: number; listening: boolean; pollingReason: string | null };
  restic: { ok: boolean; version: string | null; error: string | null };
  jobs: JobStatus[];
  running: { jobId: string; runId: number | null; startTime: string; progress: RunProgress | null }[];
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

export interface AgentPort {
  readonly events: EventBus;
  status(): Promise<AgentStatus>;
  getConfig(): Promise<ConfigView>;
  /** Validate and apply; resolves with field errors (nothing written) or the new config. */
  postConfig(body: unknown): Promise<{ ok: true; config: ConfigView } | { ok: false; errors: FieldError[] }>;
  /** Throws AppError NOT_FOUND for an unknown job. */
  triggerJob(jobId: string): Promise<TriggerResult>;
  listRuns(q: { limit: number; offset: number; jobId?: string }): Promise<RunSummary[]>;
  /** null when unknown. */
  getRun(id: number): Promise<RunDetail | null>;
  /** Cancel a running run; false when it is not running. */
  cancelRun(id: number): Promise<boolean>;
  /** Next n run times (ISO) of the job's schedules; throws NOT_FOUND. Also used for a cron preview. */
  nextRuns(jobId: string, n: number): Promise<string[]>;
  previewCron(expression: string, timezone: string | null, n: number): Promise<string[]>;
}
