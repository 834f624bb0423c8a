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
    id: toNumber(r.id) ?? 0, jobId: String(r.job_id), type: r.schedule_type === 'interval' ? 'interval' : 'cron',
    cronExpression: toStr(r.cron_expression), intervalSeconds: toNumber(r.interval_seconds), timezone: toStr(r.timezone),
    catchUp: r.catch_up !== false, enabled: r.enabled !== false, lastRunAt: toIso(r.last_run_at), nextRunAt: toIso(r.next_run_at),
  };
}

/** Map a `backup_hooks` row. */
export function mapHook(r: Record<string, unknown>): HookConfig {
  return {
    id: toNumber(r.id) ?? 0, jobId: String(r.job_id), command: String(r.command),
    timing: r.timing === 'end' ? 'end' : 'start', onError: r.on_error === 'stop' ? 'stop' : 'continue', enabled: r.enabled !== false,
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
      [s.jobId, s.type, s.cronExpression ?? null, s.intervalSeconds ?? null, s.timezone ?? null, s.catchUp ?? true,
        s.enabled ?? true, s.lastRunAt ?? null, jsonParam(s.metadata ?? {})],
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
export async function updateScheduleLastRun(db: Queryable, target: number | string, at: Date, nextRunAt?: Date | null): Promise<number> {
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
  const { rowCount } = await db.query('UPDATE schedules SET next_run_at = $2 WHERE id = $1 AND next_run_at IS DISTINCT FROM $2', [scheduleId, nextRunAt]);
  return rowCount > 0;
}
