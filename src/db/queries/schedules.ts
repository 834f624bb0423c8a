/**
 * `schedules` and `backup_hooks` rows (CONTRACTS §3): add/list/remove for the admin CLI/API and
 * the Relica import, and the agent's write-back of last_run_at / next_run_at after a run.
 */
import type { HookConfig, ScheduleConfig } from '../../config/device-config.js';
import { AppError } from '../../errors.js';
import type { Queryable } from '../database.js';
import { sqlState } from '../db-errors.js';
import { jsonParam, toIso, toNumber, toStr } from '../rows.js';

/** Map a `schedules` row to the device-config shape. */
export function mapSchedule(r: Record<string, unknown>): ScheduleConfig {
  return {
    id: toNumber(r.id) ?? 0,
    jobId: String(r.job_id),
    type: r.schedule_type === 'interval' ? 'interval' : 'cron',
    cronExpression: toStr(r.cron_expression),
    intervalSeconds: toNumber(r.interval_seconds),
    timezone: toStr(r.timezone),
    catchUp: r.catch_up !== false,
    enabled: r.enabled !== false,
    lastRunAt: toIso(r.last_run_at),
    nextRunAt: toIso(r.next_run_at),
  };
}

/** Map a `backup_hooks` row. */
export function mapHook(r: Record<string, unknown>): HookConfig {
  return {
    id: toNumber(r.id) ?? 0,
    jobId: String(r.job_id),
    command: String(r.command),
    timing: r.timing === 'end' ? 'end' : 'start',
    onError: r.on_error === 'stop' ? 'stop' : 'continue',
    enabled: r.enabled !== false,
  };
}

export interface AddScheduleInput {
  jobId: string;
  type: 'cron' | 'interval';
  cronExpression?: string | null | undefined;
  intervalSeconds?: number | null | undefined;
  /** IANA zone; null/omitted = the device's local zone. */
  timezone?: string | null | undefined;
  catchUp?: boolean | undefined;
  enabled?: boolean | undefined;
  lastRunAt?: Date | null | undefined;
  metadata?: Record<string, unknown> | undefined;
}

function fkError(err: unknown, what: string): unknown {
  return sqlState((err as Error).cause) === '23503' ? new AppError('NOT_FOUND', what, { cause: err }) : err;
}

/** Insert a schedule (validated by the device-config loader, not here). NOT_FOUND for an unknown job. */
export async function addSchedule(db: Queryable, s: AddScheduleInput): Promise<ScheduleConfig> {
  try {
    const { rows } = await db.query(
      `INSERT INTO schedules (job_id, schedule_type, cron_expression, interval_seconds, timezone, catch_up, enabled, last_run_at, metadata)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::jsonb) RETURNING *`,
      [
        s.jobId,
        s.type,
        s.cronExpression ?? null,
        s.intervalSeconds ?? null,
        s.timezone ?? null,
        s.catchUp ?? true,
        s.enabled ?? true,
        s.lastRunAt ?? null,
        jsonParam(s.metadata ?? {}),
      ],
    );
    return mapSchedule(rows[0] as Record<string, unknown>);
  } catch (err) {
    throw fkError(err, `job ${s.jobId} does not exist`);
  }
}

/** Schedules of one job (or all), by id. */
export async function listSchedules(db: Queryable, jobId?: string): Promise<ScheduleConfig[]> {
  const { rows } = jobId
    ? await db.query('SELECT * FROM schedules WHERE job_id = $1 ORDER BY id', [jobId])
    : await db.query('SELECT * FROM schedules ORDER BY id');
  return rows.map(mapSchedule);
}

/** Delete a schedule. False when it did not exist. */
export async function removeSchedule(db: Queryable, id: number): Promise<boolean> {
  const { rowCount } = await db.query('DELETE FROM schedules WHERE id = $1', [id]);
  return rowCount > 0;
}

/**
 * Record that a run started at `at`: `target` is a schedule id (number) or a job id (string: all
 * that job's schedules). `nextRunAt` is stored when given (undefined leaves it unchanged, null
 * clears it). Does not bump the config change marker. Returns the number of schedules updated.
 */
export async function updateScheduleLastRun(
  db: Queryable,
  target: number | string,
  at: Date,
  nextRunAt?: Date | null,
): Promise<number> {
  const col = typeof target === 'number' ? 'id' : 'job_id';
  const setNext = nextRunAt !== undefined;
  const { rowCount } = await db.query(
    `UPDATE schedules SET last_run_at = $2${setNext ? ', next_run_at = $3' : ''} WHERE ${col} = $1`,
    setNext ? [target, at, nextRunAt] : [target, at],
  );
  return rowCount;
}

export interface AddHookInput {
  jobId: string;
  command: string;
  timing: 'start' | 'end';
  onError?: 'stop' | 'continue' | undefined;
  enabled?: boolean | undefined;
}

/** Insert a hook. NOT_FOUND for an unknown job. */
export async function addHook(db: Queryable, h: AddHookInput): Promise<HookConfig> {
  try {
    const { rows } = await db.query(
      'INSERT INTO backup_hooks (job_id, command, timing, on_error, enabled) VALUES ($1, $2, $3, $4, $5) RETURNING *',
      [h.jobId, h.command, h.timing, h.onError ?? 'continue', h.enabled ?? true],
    );
    return mapHook(rows[0] as Record<string, unknown>);
  } catch (err) {
    throw fkError(err, `job ${h.jobId} does not exist`);
  }
}

/** Hooks of one job (or all), by id. */
export async function listHooks(db: Queryable, jobId?: string): Promise<HookConfig[]> {
  const { rows } = jobId
    ? await db.query('SELECT * FROM backup_hooks WHERE job_id = $1 ORDER BY id', [jobId])
    : await db.query('SELECT * FROM backup_hooks ORDER BY id');
  return rows.map(mapHook);
}

/** Delete a hook. False when it did not exist. */
export async function removeHook(db: Queryable, id: number): Promise<boolean> {
  const { rowCount } = await db.query('DELETE FROM backup_hooks WHERE id = $1', [id]);
  return rowCount > 0;
}

/** Store the scheduler's computed next due time (display only; never bumps the change marker). */
export async function setScheduleNextRun(db: Queryable, scheduleId: number, nextRunAt: Date | null): Promise<boolean> {
  const { rowCount } = await db.query(
    'UPDATE schedules SET next_run_at = $2 WHERE id = $1 AND next_run_at IS DISTINCT FROM $2',
    [scheduleId, nextRunAt],
  );
  return rowCount > 0;
}

/** Schedules of every job of `deviceId`, by id. */
export async function listDeviceSchedules(db: Queryable, deviceId: string): Promise<ScheduleConfig[]> {
  const { rows } = await db.query(
    'SELECT s.* FROM schedules s JOIN backup_jobs j ON j.id = s.job_id WHERE j.device_id = $1 ORDER BY s.id',
    [deviceId],
  );
  return rows.map(mapSchedule);
}

/** Hooks of every job of `deviceId`, by id. */
export async function listDeviceHooks(db: Queryable, deviceId: string): Promise<HookConfig[]> {
  const { rows } = await db.query(
    'SELECT h.* FROM backup_hooks h JOIN backup_jobs j ON j.id = h.job_id WHERE j.device_id = $1 ORDER BY h.id',
    [deviceId],
  );
  return rows.map(mapHook);
}

/** The writable fields of a schedule (all of them are written). */
export type ScheduleUpdate = Pick<
  ScheduleConfig,
  'type' | 'cronExpression' | 'intervalSeconds' | 'timezone' | 'catchUp' | 'enabled'
>;

/** Overwrite schedule `id` of job `jobId` (nothing happens when it belongs to another job). */
export async function updateSchedule(db: Queryable, id: number, jobId: string, s: ScheduleUpdate): Promise<void> {
  await db.query(
    `UPDATE schedules SET schedule_type = $3, cron_expression = $4, interval_seconds = $5, timezone = $6, catch_up = $7, enabled = $8
     WHERE id = $1 AND job_id = $2`,
    [id, jobId, s.type, s.cronExpression, s.intervalSeconds, s.timezone, s.catchUp, s.enabled],
  );
}

/** The writable fields of a hook (all of them are written). */
export type HookUpdate = Pick<HookConfig, 'command' | 'timing' | 'onError' | 'enabled'>;

/** Overwrite hook `id` of job `jobId` (nothing happens when it belongs to another job). */
export async function updateHook(db: Queryable, id: number, jobId: string, h: HookUpdate): Promise<void> {
  await db.query(
    'UPDATE backup_hooks SET command = $3, timing = $4, on_error = $5, enabled = $6 WHERE id = $1 AND job_id = $2',
    [id, jobId, h.command, h.timing, h.onError, h.enabled],
  );
}

/** Set only on_error of hook `id`. */
export async function setHookOnError(db: Queryable, id: number, onError: 'stop' | 'continue'): Promise<void> {
  await db.query('UPDATE backup_hooks SET on_error = $2 WHERE id = $1', [id, onError]);
}

/** The job's schedules the Relica import wrote (metadata.source = 'relica'), by id. */
export async function listImportedSchedules(db: Queryable, jobId: string): Promise<ScheduleConfig[]> {
  const { rows } = await db.query(
    "SELECT * FROM schedules WHERE job_id = $1 AND metadata->>'source' = 'relica' ORDER BY id",
    [jobId],
  );
  return rows.map(mapSchedule);
}

/** A schedule as the Relica import plans it. */
export interface ImportedSchedule {
  cron: string;
  catchUp: boolean;
  /** ISO 8601: Relica's last backup, or null. */
  lastRunAt: string | null;
  timeOfDay: unknown;
}

/** Insert an import-managed cron schedule (timezone NULL = the device's zone, enabled, metadata.source = 'relica'). */
export async function insertImportedSchedule(db: Queryable, jobId: string, s: ImportedSchedule): Promise<void> {
  await db.query(
    `INSERT INTO schedules (job_id, schedule_type, cron_expression, timezone, catch_up, enabled, last_run_at, metadata, created_at, updated_at)
     VALUES ($1, 'cron', $2, NULL, $3, true, $4::timestamptz, $5::jsonb, now(), now())`,
    [jobId, s.cron, s.catchUp, s.lastRunAt, JSON.stringify({ source: 'relica', time_of_day: s.timeOfDay })],
  );
}

/**
 * Bring an import-managed schedule in line: catch_up set, last_run_at moved forward only (never
 * back). Returns false when nothing differed (no write, updated_at kept).
 */
export async function updateImportedSchedule(
  db: Queryable,
  id: number,
  s: Pick<ImportedSchedule, 'catchUp' | 'lastRunAt'>,
): Promise<boolean> {
  const { rows } = await db.query(
    `UPDATE schedules SET catch_up = $2,
       last_run_at = CASE WHEN $3::timestamptz IS NOT NULL AND (last_run_at IS NULL OR last_run_at < $3::timestamptz)
                          THEN $3::timestamptz ELSE last_run_at END,
       updated_at = now()
     WHERE id = $1 AND (catch_up IS DISTINCT FROM $2
       OR ($3::timestamptz IS NOT NULL AND (last_run_at IS NULL OR last_run_at < $3::timestamptz)))
     RETURNING id`,
    [id, s.catchUp, s.lastRunAt],
  );
  return rows.length > 0;
}

/** Delete the schedules `ids`; returns how many were deleted. */
export async function removeSchedules(db: Queryable, ids: readonly number[]): Promise<number> {
  if (ids.length === 0) return 0;
  const { rows } = await db.query('DELETE FROM schedules WHERE id = ANY($1::int[]) RETURNING id', [ids]);
  return rows.length;
}
