/**
 * `backup_jobs` rows (CONTRACTS §3) for the admin CLI/API and the Relica import: add, list,
 * resolve by id or by (device, name), remove. restic_args is kept as stored (validated by the
 * device-config loader).
 */
import { AppError } from '../../errors.js';
import type { Queryable } from '../database.js';
import { sqlState } from '../db-errors.js';
import { isUuid, jsonParam, toIso, toObject, toStr, toStringArray } from '../rows.js';

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
}

/** Map a `backup_jobs` row. */
export function mapJob(r: Record<string, unknown>): Job {
  return {
    id: String(r.id), deviceId: String(r.device_id), name: String(r.name), description: toStr(r.description),
    sourcePaths: toStringArray(r.source_paths), excludePatterns: toStringArray(r.exclude_patterns), tags: toStringArray(r.tags),
    resticArgs: r.restic_args ?? [], repositoryId: toStr(r.repository_id), enabled: r.enabled === true,
    createdAt: toIso(r.created_at) ?? '', updatedAt: toIso(r.updated_at) ?? '', metadata: toObject(r.metadata),
    originName: toStr(r.origin_name), originId: toStr(r.origin_id), accountId: toStr(r.account_id),
    resticHost: toStr(r.restic_host),
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
      [j.id ?? null, j.deviceId, j.name, j.description ?? null, j.sourcePaths, j.excludePatterns ?? [], j.tags ?? [],
        jsonParam(j.resticArgs ?? []), j.repositoryId ?? null, j.enabled ?? true, jsonParam(j.metadata ?? {}),
        j.originName ?? null, j.originId ?? null, j.accountId ?? null],
    );
    return mapJob(rows[0] as Record<string, unknown>);
  } catch (err) {
    const code = sqlState((err as Error).cause);
    if (code === '23505') throw new AppError('CONFLICT', `job "${j.name}" already exists on device ${j.deviceId} (or its id is taken)`, { cause: err });
    if (code === '23503') throw new AppError('NOT_FOUND', `device ${j.deviceId} or repository ${j.repositoryId ?? '-'} does not exist`, { cause: err });
    throw err;
  }
}

/** Jobs, of one device or all, by device then name. */
export async function listJobs(db: Queryable, filter: { deviceId?: string | undefined } = {}): Promise<Job[]> {
  const { rows } = filter.deviceId
    ? await db.query('SELECT * FROM backup_jobs WHERE device_id = $1 ORDER BY name', [filter.deviceId])
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
  if (rows.length === 0) throw new AppError('NOT_FOUND', `job "${ref}" not found${deviceId ? ` on device ${deviceId}` : ''}`);
  if (rows.length > 1) {
    throw new AppError('INVALID_INPUT', `job name "${ref}" exists on several devices (${rows.map((r) => String(r.device_id)).join(', ')}); give the device or the job id`);
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
  const { rowCount } = await db.query('UPDATE backup_jobs SET restic_host = $2 WHERE id = $1 AND restic_host IS NULL', [jobId, host]);
  return rowCount > 0;
}
