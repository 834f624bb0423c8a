/**
 * `runs` rows (CONTRACTS §3): the run lifecycle (started -> completed), listing for the API and
 * UI, and closing runs a crash left `running` (case C07). Column names exactly as the contract.
 */
import type { Queryable } from '../database.js';
import type { RunStats } from '../../run-stats.js';
import { jsonParam, toIso, toNumber, toObject, toStr } from '../rows.js';

export type RunStatus = 'running' | 'success' | 'partial' | 'failed' | 'cancelled' | 'interrupted';
export type TriggeredBy = 'schedule' | 'manual' | 'missed';
/** `runs.operation` (migration 008): what a run did. */
export const RUN_OPERATIONS = ['backup', 'forget', 'prune', 'check', 'restore', 'unlock'] as const;
export type RunOperation = (typeof RUN_OPERATIONS)[number];

export type { RunStats } from '../../run-stats.js';

export interface Run extends RunStats {
  id: number;
  /** The job; null only for a repository-level run (a prune or check of a repository). */
  jobId: string | null;
  operation: RunOperation;
  /** The repository a non-backup operation worked on; null for backups and the settings repository. */
  repositoryId: string | null;
  deviceId: string;
  startTime: string;
  endTime: string | null;
  status: RunStatus;
  exitCode: number | null;
  errorMessage: string | null;
  durationSeconds: number | null;
  snapshotId: string | null;
  resticOutput: string | null;
  resticErrors: string | null;
  triggeredBy: TriggeredBy;
  createdAt: string;
  metadata: Record<string, unknown>;
  clientRunId: string | null;
}

const STAT_COLUMNS: ReadonlyArray<[keyof RunStats, string]> = [
  ['filesNew', 'files_new'],
  ['filesChanged', 'files_changed'],
  ['filesUnmodified', 'files_unmodified'],
  ['dirsNew', 'dirs_new'],
  ['dirsChanged', 'dirs_changed'],
  ['dirsUnmodified', 'dirs_unmodified'],
  ['dataAddedBytes', 'data_added_bytes'],
  ['totalFilesProcessed', 'total_files_processed'],
  ['totalBytesProcessed', 'total_bytes_processed'],
];

/** Map a `runs` row (BIGINT columns to numbers). */
export function mapRun(r: Record<string, unknown>): Run {
  const stats = Object.fromEntries(STAT_COLUMNS.map(([k, c]) => [k, toNumber(r[c])])) as unknown as RunStats;
  return {
    id: toNumber(r.id) ?? 0,
    jobId: toStr(r.job_id),
    operation: (toStr(r.operation) ?? 'backup') as RunOperation,
    repositoryId: toStr(r.repository_id),
    deviceId: String(r.device_id),
    startTime: toIso(r.start_time) ?? '',
    endTime: toIso(r.end_time),
    status: String(r.status) as RunStatus,
    exitCode: toNumber(r.exit_code),
    errorMessage: toStr(r.error_message),
    ...stats,
    durationSeconds: toNumber(r.duration_seconds),
    snapshotId: toStr(r.snapshot_id),
    resticOutput: toStr(r.restic_output),
    resticErrors: toStr(r.restic_errors),
    triggeredBy: String(r.triggered_by) as TriggeredBy,
    createdAt: toIso(r.created_at) ?? '',
    metadata: toObject(r.metadata),
    clientRunId: toStr(r.client_run_id),
  };
}

export interface RunStartInput {
  /** Null only for a repository-level run (then repositoryId is required: the schema checks it). */
  jobId: string | null;
  /** Default 'backup'. */
  operation?: RunOperation | undefined;
  repositoryId?: string | null | undefined;
  /** restic's repository id (migration 011) of a forget, prune, check or unlock. */
  resticRepositoryId?: string | null | undefined;
  deviceId: string;
  startTime: Date;
  triggeredBy: TriggeredBy;
  metadata?: Record<string, unknown> | undefined;
  /** The agent's own UUID for this run: inserting the same one twice returns the first row's id. */
  clientRunId?: string | undefined;
  /** Who runs it (C33): host, process id, process start time (ISO). */
  owner?: { host: string; pid: number; startedAt: string } | undefined;
}

/** Insert a run with status `running`; returns its id. Idempotent per clientRunId. */
export async function insertRunStarted(db: Queryable, r: RunStartInput): Promise<number> {
  const params = [
    r.jobId,
    r.deviceId,
    r.startTime,
    r.triggeredBy,
    jsonParam(r.metadata ?? {}),
    r.clientRunId ?? null,
    r.owner?.host ?? null,
    r.owner?.pid ?? null,
    r.owner?.startedAt ?? null,
    r.operation ?? 'backup',
    r.repositoryId ?? null,
    r.resticRepositoryId ?? null,
  ];
  const { rows } = await db.query<{ id: unknown }>(
    `INSERT INTO runs (job_id, device_id, start_time, status, triggered_by, metadata, client_run_id, owner_host, owner_pid,
       owner_started_at, operation, repository_id, restic_repository_id)
     VALUES ($1::uuid, $2, $3, 'running', $4, $5::jsonb, $6::uuid, $7, $8, $9::timestamptz, $10, $11::uuid, $12)
     ON CONFLICT (client_run_id) DO NOTHING RETURNING id`,
    params,
  );
  if (rows[0]) return toNumber(rows[0].id) ?? 0;
  const again = await db.query<{ id: unknown }>('SELECT id FROM runs WHERE client_run_id = $1', [
    r.clientRunId ?? null,
  ]);
  return toNumber(again.rows[0]?.id) ?? 0;
}

export interface RunCompletion extends Partial<RunStats> {
  status: Exclude<RunStatus, 'running'>;
  exitCode?: number | null | undefined;
  errorMessage?: string | null | undefined;
  snapshotId?: string | null | undefined;
  resticOutput?: string | null | undefined;
  resticErrors?: string | null | undefined;
  endTime: Date;
  durationSeconds?: number | null | undefined;
  /** Merged into the run's metadata (top-level keys replaced). */
  metadata?: Record<string, unknown> | undefined;
}

/** Record a run's outcome. Returns false when no run has that id. */
export async function completeRun(db: Queryable, id: number, c: RunCompletion): Promise<boolean> {
  const stats = STAT_COLUMNS.map(([k]) => c[k] ?? null);
  const sets = STAT_COLUMNS.map(([, col], i) => `${col} = $${i + 11}`).join(', ');
  const { rowCount } = await db.query(
    `UPDATE runs SET status = $2, exit_code = $3, error_message = $4, snapshot_id = $5, restic_output = $6,
       restic_errors = $7, end_time = $8, duration_seconds = $9, metadata = metadata || $10::jsonb, ${sets}
     WHERE id = $1`,
    [
      id,
      c.status,
      c.exitCode ?? null,
      c.errorMessage ?? null,
      c.snapshotId ?? null,
      c.resticOutput ?? null,
      c.resticErrors ?? null,
      c.endTime,
      c.durationSeconds ?? null,
      jsonParam(c.metadata ?? {}),
      ...stats,
    ],
  );
  return rowCount > 0;
}

/**
 * Recent runs, newest first, of a device and/or job and/or operation; `limit` is clamped to
 * 1..1000, `offset` pages.
 */
export async function listRuns(
  db: Queryable,
  f: {
    deviceId?: string | undefined;
    jobId?: string | undefined;
    operation?: RunOperation | undefined;
    limit?: number | undefined;
    offset?: number | undefined;
  },
): Promise<Run[]> {
  const limit = Math.min(Math.max(Math.trunc(f.limit ?? 50), 1), 1000);
  const offset = Math.max(0, Math.trunc(f.offset ?? 0));
  const { rows } = await db.query(
    `SELECT * FROM runs WHERE ($1::varchar IS NULL OR device_id = $1) AND ($2::uuid IS NULL OR job_id = $2)
       AND ($5::varchar IS NULL OR operation = $5)
     ORDER BY start_time DESC, id DESC LIMIT $3 OFFSET $4`,
    [f.deviceId ?? null, f.jobId ?? null, limit, offset, f.operation ?? null],
  );
  return rows.map(mapRun);
}

/** One run, or null. */
export async function getRun(db: Queryable, id: number): Promise<Run | null> {
  const { rows } = await db.query('SELECT * FROM runs WHERE id = $1', [id]);
  return rows[0] ? mapRun(rows[0]) : null;
}

/**
 * At agent start: runs of this device still `running` (left by a crash or kill) become
 * `interrupted` with `message` and end_time = now(), but only those whose owner (C33) is gone by
 * `ownerGone` (rows without an owner, written before migration 005, always). Returns the rows as
 * updated.
 */
export async function markInterruptedRuns(
  db: Queryable,
  deviceId: string,
  message: string,
  ownerGone: (owner: { host: string; pid: number; startedAt: string }) => boolean = () => true,
): Promise<Run[]> {
  const { rows: running } = await db.query<{
    id: unknown;
    owner_host: string | null;
    owner_pid: unknown;
    owner_started_at: unknown;
  }>("SELECT id, owner_host, owner_pid, owner_started_at FROM runs WHERE device_id = $1 AND status = 'running'", [
    deviceId,
  ]);
  const ids = running
    .filter(
      (r) =>
        r.owner_host === null ||
        r.owner_pid === null ||
        ownerGone({ host: r.owner_host, pid: Number(r.owner_pid), startedAt: toIso(r.owner_started_at) ?? '' }),
    )
    .map((r) => Number(r.id));
  if (ids.length === 0) return [];
  const { rows } = await db.query(
    `UPDATE runs SET status = 'interrupted', error_message = $2, end_time = now(),
       duration_seconds = EXTRACT(EPOCH FROM (now() - start_time))
     WHERE device_id = $1 AND status = 'running' AND id = ANY($3::bigint[]) RETURNING *`,
    [deviceId, message, ids],
  );
  return rows.map(mapRun);
}

/** The latest run of each job of a device (the `latest_runs` view). */
export async function latestRunsOfDevice(db: Queryable, deviceId: string): Promise<Run[]> {
  const { rows } = await db.query('SELECT * FROM latest_runs WHERE device_id = $1', [deviceId]);
  return rows.map(mapRun);
}

/** Delete finished runs of a device that started before `before` (run_retention_days). Returns how many. */
export async function deleteRunsBefore(db: Queryable, deviceId: string, before: Date): Promise<number> {
  const { rowCount } = await db.query(
    "DELETE FROM runs WHERE device_id = $1 AND start_time < $2 AND status <> 'running'",
    [deviceId, before],
  );
  return rowCount;
}

/**
 * total_files_processed of the job's last successful run (success or partial, not the C28 kind
 * `empty_source`), or null when it has none.
 */
export async function lastSuccessFiles(db: Queryable, jobId: string): Promise<number | null> {
  const { rows } = await db.query<{ n: unknown }>(
    `SELECT total_files_processed AS n FROM runs WHERE job_id = $1 AND operation = 'backup' AND status IN ('success', 'partial')
       AND coalesce(metadata->>'error_kind', '') <> 'empty_source' ORDER BY start_time DESC LIMIT 1`,
    [jobId],
  );
  return rows[0] ? toNumber(rows[0].n) : null;
}

/** The last successful run of each job of a device (C32), as the metrics need it. */
export interface LastSuccess {
  jobId: string;
  jobName: string;
  endTime: Date;
  totalFilesProcessed: number | null;
  dataAddedBytes: number | null;
}

/**
 * For each job of `deviceId`, its newest run with status success or partial (not the C28 kind
 * `empty_source`) that has an end time.
 */
export async function lastSuccessPerJob(db: Queryable, deviceId: string): Promise<LastSuccess[]> {
  const { rows } = await db.query<Record<string, unknown>>(
    `SELECT DISTINCT ON (r.job_id) r.job_id, j.name, r.end_time, r.total_files_processed, r.data_added_bytes
       FROM runs r JOIN backup_jobs j ON j.id = r.job_id
      WHERE j.device_id = $1 AND r.operation = 'backup' AND r.status IN ('success', 'partial') AND r.end_time IS NOT NULL
        AND coalesce(r.metadata->>'error_kind', '') <> 'empty_source'
      ORDER BY r.job_id, r.end_time DESC`,
    [deviceId],
  );
  return rows.map((r) => ({
    jobId: String(r.job_id),
    jobName: String(r.name),
    endTime: new Date(toIso(r.end_time) ?? 0),
    totalFilesProcessed: toNumber(r.total_files_processed),
    dataAddedBytes: toNumber(r.data_added_bytes),
  }));
}

/**
 * Delete up to `limit` finished runs older than their device's `run_retention_days` (a device's
 * own value, else the global one, else 90; values not a whole number 1..36500 are skipped).
 * Runs still `running` are never deleted. Returns the number deleted.
 */
export async function deleteExpiredRunsBatch(db: Queryable, limit: number): Promise<number> {
  const { rowCount } = await db.query(
    `WITH days AS (
       SELECT device_id,
              CASE WHEN value ~ '^\\s*[0-9]{1,5}\\s*$' AND trim(value)::int BETWEEN 1 AND 36500 THEN trim(value)::int END AS d
       FROM settings WHERE key = 'run_retention_days'
     ), victims AS (
       SELECT r.id FROM runs r
       WHERE r.status <> 'running'
         AND r.start_time < now() - make_interval(days => COALESCE(
               (SELECT d FROM days WHERE days.device_id = r.device_id),
               (SELECT d FROM days WHERE days.device_id IS NULL),
               90))
       LIMIT $1
     )
     DELETE FROM runs WHERE id IN (SELECT id FROM victims)`,
    [limit],
  );
  return rowCount;
}
