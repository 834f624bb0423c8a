/**
 * `backup_jobs` rows (CONTRACTS §3) for the admin CLI/API and the Relica import: add, list,
 * resolve by id or by (device, name), remove. restic_args is kept as stored (validated by the
 * device-config loader).
 */
import { AppError } from '../../errors.js';
import type { Queryable } from '../database.js';
import { sqlState } from '../db-errors.js';
import { isUuid, jsonParam, toIso, toObject, toStr, toStringArray, upsertOutcome, type WriteOutcome } from '../rows.js';

export interface Job {
  id: string;
  deviceId: string;
  name: string;
  description: string | null;
  sourcePaths: string[];
  excludePatterns: string[];
  tags: string[];
  /** As stored (should be a JSON array of strings). */
  resticArgs: unknown;
  repositoryId: string | null;
  enabled: boolean;
  createdAt: string;
  updatedAt: string;
  metadata: Record<string, unknown>;
  originName: string | null;
  originId: string | null;
  accountId: string | null;
  /** The job's stable restic --host (C29); null until its first backup records it. */
  resticHost: string | null;
  /** backup_jobs.retention as stored (migration 011; checked by src/maintenance/retention-policy.ts); null = keep everything. */
  retention: unknown;
}

/** Map a `backup_jobs` row. */
export function mapJob(r: Record<string, unknown>): Job {
  return {
    id: String(r.id),
    deviceId: String(r.device_id),
    name: String(r.name),
    description: toStr(r.description),
    sourcePaths: toStringArray(r.source_paths),
    excludePatterns: toStringArray(r.exclude_patterns),
    tags: toStringArray(r.tags),
    resticArgs: r.restic_args ?? [],
    repositoryId: toStr(r.repository_id),
    enabled: r.enabled === true,
    createdAt: toIso(r.created_at) ?? '',
    updatedAt: toIso(r.updated_at) ?? '',
    metadata: toObject(r.metadata),
    originName: toStr(r.origin_name),
    originId: toStr(r.origin_id),
    accountId: toStr(r.account_id),
    resticHost: toStr(r.restic_host),
    retention: r.retention ?? null,
  };
}

export interface AddJobInput {
  /** Keep a given UUID (Relica's backup id); default gen_random_uuid(). */
  id?: string | undefined;
  deviceId: string;
  name: string;
  description?: string | null | undefined;
  sourcePaths: string[];
  excludePatterns?: string[] | undefined;
  tags?: string[] | undefined;
  resticArgs?: string[] | undefined;
  repositoryId?: string | null | undefined;
  enabled?: boolean | undefined;
  metadata?: Record<string, unknown> | undefined;
  originName?: string | null | undefined;
  originId?: string | null | undefined;
  accountId?: string | null | undefined;
}

/**
 * Insert a job. Throws AppError CONFLICT when (device, name) or the id exists, NOT_FOUND when the
 * device or repository does not exist.
 */
export async function addJob(db: Queryable, j: AddJobInput): Promise<Job> {
  try {
    const { rows } = await db.query(
      `INSERT INTO backup_jobs (id, device_id, name, description, source_paths, exclude_patterns, tags, restic_args,
         repository_id, enabled, metadata, origin_name, origin_id, account_id)
       VALUES (COALESCE($1::uuid, gen_random_uuid()), $2, $3, $4, $5::text[], $6::text[], $7::text[], $8::jsonb,
         $9::uuid, $10, $11::jsonb, $12, $13::uuid, $14::uuid)
       RETURNING *`,
      [
        j.id ?? null,
        j.deviceId,
        j.name,
        j.description ?? null,
        j.sourcePaths,
        j.excludePatterns ?? [],
        j.tags ?? [],
        jsonParam(j.resticArgs ?? []),
        j.repositoryId ?? null,
        j.enabled ?? true,
        jsonParam(j.metadata ?? {}),
        j.originName ?? null,
        j.originId ?? null,
        j.accountId ?? null,
      ],
    );
    return mapJob(rows[0] as Record<string, unknown>);
  } catch (err) {
    const code = sqlState((err as Error).cause);
    if (code === '23505')
      throw new AppError('CONFLICT', `job "${j.name}" already exists on device ${j.deviceId} (or its id is taken)`, {
        cause: err,
      });
    if (code === '23503')
      throw new AppError('NOT_FOUND', `device ${j.deviceId} or repository ${j.repositoryId ?? '-'} does not exist`, {
        cause: err,
      });
    throw err;
  }
}

/** Jobs, of one device or all, by device then name. */
export async function listJobs(db: Queryable, filter: { deviceId?: string | undefined } = {}): Promise<Job[]> {
  const { rows } = filter.deviceId
    ? await db.query('SELECT * FROM backup_jobs WHERE device_id = $1 ORDER BY name, id', [filter.deviceId])
    : await db.query('SELECT * FROM backup_jobs ORDER BY device_id, name');
  return rows.map(mapJob);
}

/**
 * Find a job by UUID, or by name (on `deviceId` when given). Throws AppError NOT_FOUND when none
 * matches, INVALID_INPUT when a name matches jobs on several devices and no device was given.
 */
export async function resolveJob(db: Queryable, ref: string, deviceId?: string): Promise<Job> {
  if (isUuid(ref)) {
    const { rows } = await db.query('SELECT * FROM backup_jobs WHERE id = $1', [ref]);
    if (rows[0]) return mapJob(rows[0]);
  }
  const { rows } = deviceId
    ? await db.query('SELECT * FROM backup_jobs WHERE device_id = $1 AND name = $2', [deviceId, ref])
    : await db.query('SELECT * FROM backup_jobs WHERE name = $1 ORDER BY device_id', [ref]);
  if (rows.length === 0)
    throw new AppError('NOT_FOUND', `job "${ref}" not found${deviceId ? ` on device ${deviceId}` : ''}`);
  if (rows.length > 1) {
    throw new AppError(
      'INVALID_INPUT',
      `job name "${ref}" exists on several devices (${rows.map((r) => String(r.device_id)).join(', ')}); give the device or the job id`,
    );
  }
  return mapJob(rows[0] as Record<string, unknown>);
}

/** Delete a job with its schedules and hooks (its run history stays). False when it did not exist. */
export async function removeJob(db: Queryable, id: string): Promise<boolean> {
  const { rowCount } = await db.query('DELETE FROM backup_jobs WHERE id = $1', [id]);
  return rowCount > 0;
}

/** Enable or disable a job. False when it does not exist. */
export async function setJobEnabled(db: Queryable, id: string, enabled: boolean): Promise<boolean> {
  const { rowCount } = await db.query('UPDATE backup_jobs SET enabled = $2 WHERE id = $1', [id, enabled]);
  return rowCount > 0;
}

/**
 * Record the restic --host a job's snapshots carry (C29), only while none is recorded: the first
 * backup fixes it, an admin may change it later. Returns whether it was written.
 */
export async function recordResticHost(db: Queryable, jobId: string, host: string): Promise<boolean> {
  const { rowCount } = await db.query('UPDATE backup_jobs SET restic_host = $2 WHERE id = $1 AND restic_host IS NULL', [
    jobId,
    host,
  ]);
  return rowCount > 0;
}

/**
 * Set a job's retention policy (`backup_jobs.retention`, migration 011); null = keep everything.
 * The caller validates it (src/maintenance/retention-policy.ts parseRetention). False when the job
 * does not exist.
 */
export async function setJobRetention(db: Queryable, id: string, retention: object | null): Promise<boolean> {
  const { rowCount } = await db.query('UPDATE backup_jobs SET retention = $2::jsonb WHERE id = $1', [
    id,
    retention === null ? null : JSON.stringify(retention),
  ]);
  return rowCount > 0;
}

/** The columns a job update may set (POST /config), snake_case as in the table, with their SQL types. */
const UPDATABLE_JOB_COLUMNS = {
  name: 'varchar',
  description: 'text',
  source_paths: 'text[]',
  exclude_patterns: 'text[]',
  tags: 'text[]',
  restic_args: 'jsonb',
  repository_id: 'uuid',
  enabled: 'boolean',
  retention: 'jsonb',
} as const;

/** A partial job update: only the columns given (not undefined) are written. */
export type JobUpdate = {
  [K in keyof typeof UPDATABLE_JOB_COLUMNS]?: unknown;
};

/** Update the given columns of job `id` (none given: nothing is sent). restic_args is stored as JSON. */
export async function updateJob(db: Queryable, id: string, update: JobUpdate): Promise<void> {
  const present = (Object.keys(UPDATABLE_JOB_COLUMNS) as Array<keyof JobUpdate>).filter((k) => update[k] !== undefined);
  if (present.length === 0) return;
  const sets = present.map((k, n) => `${k} = $${n + 2}::${UPDATABLE_JOB_COLUMNS[k]}`).join(', ');
  const params = present.map((k) =>
    k === 'restic_args' || (k === 'retention' && update[k] !== null) ? JSON.stringify(update[k]) : update[k],
  );
  await db.query(`UPDATE backup_jobs SET ${sets} WHERE id = $1`, [id, ...params]);
}

/** Delete job `id` only when it belongs to `deviceId`. False when no such job of that device. */
export async function removeDeviceJob(db: Queryable, id: string, deviceId: string): Promise<boolean> {
  const { rowCount } = await db.query('DELETE FROM backup_jobs WHERE id = $1 AND device_id = $2', [id, deviceId]);
  return rowCount > 0;
}

/** The id of another job (not `exceptId`) of `deviceId` named `name`, or null. */
export async function jobNamedOtherThan(
  db: Queryable,
  deviceId: string,
  name: string,
  exceptId: string,
): Promise<string | null> {
  const { rows } = await db.query('SELECT id FROM backup_jobs WHERE device_id = $1 AND name = $2 AND id <> $3::uuid', [
    deviceId,
    name,
    exceptId,
  ]);
  return rows[0] ? String(rows[0].id) : null;
}

/** The device of job `id` when that is not `deviceId`, else null (also null when the job does not exist). */
export async function jobDeviceOtherThan(db: Queryable, id: string, deviceId: string): Promise<string | null> {
  const { rows } = await db.query('SELECT device_id FROM backup_jobs WHERE id = $1::uuid AND device_id <> $2', [
    id,
    deviceId,
  ]);
  return rows[0] ? String(rows[0].device_id) : null;
}

/** How many of the jobs `ids` have a repository of their own (repository_id set). */
export async function countJobsWithRepository(db: Queryable, ids: readonly string[]): Promise<number> {
  const { rows } = await db.query(
    'SELECT 1 FROM backup_jobs WHERE id = ANY($1::uuid[]) AND repository_id IS NOT NULL',
    [ids],
  );
  return rows.length;
}

export interface ImportedJob {
  id: string;
  deviceId: string;
  name: string;
  sourcePaths: string[];
  excludePatterns: string[];
  tags: string[];
  /** Stored under metadata.relica. */
  relica: unknown;
  originName: string | null;
  originId: string | null;
  accountId: string | null;
  repositoryId: string | null;
  /** Write repositoryId on an existing row too (false: an existing job keeps its repository). */
  setRepository: boolean;
  /** Relica's retention (issue 18); set on a job without a policy, an existing policy is kept. */
  retention?: object | null;
}

/**
 * The Relica import's job row: inserted (enabled), or the import-owned columns (name, paths,
 * excludes, origin, account, metadata.relica, and the repository when `setRepository`) updated
 * only when they differ. Tags, enabled and restic_args of an existing job stay the admin's.
 */
export async function upsertImportedJob(db: Queryable, j: ImportedJob): Promise<WriteOutcome> {
  const { rows } = await db.query<{ inserted: boolean }>(
    `INSERT INTO backup_jobs (id, device_id, name, source_paths, exclude_patterns, tags, repository_id, enabled, metadata,
       origin_name, origin_id, account_id, retention, created_at, updated_at)
     VALUES ($1::uuid, $2, $3, $4::text[], $5::text[], $6::text[], $7::uuid, true, jsonb_build_object('relica', $8::jsonb),
       $9, $10::uuid, $11::uuid, $13::jsonb, now(), now())
     ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, source_paths = EXCLUDED.source_paths,
       exclude_patterns = EXCLUDED.exclude_patterns,
       repository_id = CASE WHEN $12::boolean THEN EXCLUDED.repository_id ELSE backup_jobs.repository_id END,
       metadata = coalesce(backup_jobs.metadata, '{}'::jsonb) || jsonb_build_object('relica', $8::jsonb),
       origin_name = EXCLUDED.origin_name, origin_id = EXCLUDED.origin_id, account_id = EXCLUDED.account_id,
       retention = COALESCE(backup_jobs.retention, EXCLUDED.retention), updated_at = now()
     WHERE (backup_jobs.name, backup_jobs.source_paths, coalesce(backup_jobs.exclude_patterns, '{}'::text[]), backup_jobs.origin_name,
         backup_jobs.origin_id, backup_jobs.account_id, backup_jobs.metadata->'relica')
       IS DISTINCT FROM (EXCLUDED.name, EXCLUDED.source_paths, EXCLUDED.exclude_patterns, EXCLUDED.origin_name,
         EXCLUDED.origin_id, EXCLUDED.account_id, $8::jsonb)
       OR ($12::boolean AND backup_jobs.repository_id IS DISTINCT FROM EXCLUDED.repository_id)
       OR (backup_jobs.retention IS NULL AND EXCLUDED.retention IS NOT NULL)
     RETURNING (xmax = 0) AS inserted`,
    [
      j.id,
      j.deviceId,
      j.name,
      j.sourcePaths,
      j.excludePatterns,
      j.tags,
      j.repositoryId,
      JSON.stringify(j.relica),
      j.originName,
      j.originId,
      j.accountId,
      j.setRepository,
      j.retention ? JSON.stringify(j.retention) : null,
    ],
  );
  return upsertOutcome(rows);
}
