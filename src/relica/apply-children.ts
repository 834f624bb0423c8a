/**
 * Writing one imported job's schedules and hooks (CONTRACTS §3 `schedules`, `backup_hooks`) so that
 * a re-run changes nothing. Only schedules whose metadata says `source: relica` belong to the
 * import; schedules an admin added are never touched. Hooks have no metadata column: they are
 * matched by (job_id, command, timing); hooks not in the plan are left alone.
 */
import type { Queryable } from '../db/database.js';
import type { PlannedHook, PlannedSchedule } from './plan-types.js';

/** Per-kind outcome of writing one job's children. */
export interface ChildCounts {
  created: number;
  updated: number;
  deleted: number;
  unchanged: number;
}

const zero = (): ChildCounts => ({ created: 0, updated: 0, deleted: 0, unchanged: 0 });

interface ScheduleRow {
  id: number;
  cron_expression: string | null;
}

/**
 * Make the job's import-managed cron schedules equal the planned ones: matched by cron
 * expression; catch_up follows Relica's `flexible`; last_run_at moves forward only (set when NULL
 * or older than Relica's last backup). Timezone, enabled and next_run_at of an existing schedule
 * are the admin's and the scheduler's, never changed. Managed schedules no longer planned are
 * deleted; new ones are inserted with timezone NULL (the device's local zone).
 */
export async function syncSchedules(tx: Queryable, jobId: string, planned: readonly PlannedSchedule[]): Promise<ChildCounts> {
  const counts = zero();
  const { rows } = await tx.query<ScheduleRow>(
    "SELECT id, cron_expression FROM schedules WHERE job_id = $1 AND metadata->>'source' = 'relica' ORDER BY id",
    [jobId],
  );
  const existing = [...rows];
  for (const s of planned) {
    const at = existing.findIndex((r) => r.cron_expression === s.cron);
    if (at < 0) {
      await tx.query(
        `INSERT INTO schedules (job_id, schedule_type, cron_expression, timezone, catch_up, enabled, last_run_at, metadata, created_at, updated_at)
         VALUES ($1, 'cron', $2, NULL, $3, true, $4::timestamptz, $5::jsonb, now(), now())`,
        [jobId, s.cron, s.catchUp, s.lastRunAt, JSON.stringify({ source: 'relica', time_of_day: s.timeOfDay })],
      );
      counts.created++;
      continue;
    }
    const [row] = existing.splice(at, 1) as [ScheduleRow];
    const res = await tx.query(
      `UPDATE schedules SET catch_up = $2,
         last_run_at = CASE WHEN $3::timestamptz IS NOT NULL AND (last_run_at IS NULL OR last_run_at < $3::timestamptz)
                            THEN $3::timestamptz ELSE last_run_at END,
         updated_at = now()
       WHERE id = $1 AND (catch_up IS DISTINCT FROM $2
         OR ($3::timestamptz IS NOT NULL AND (last_run_at IS NULL OR last_run_at < $3::timestamptz)))
       RETURNING id`,
      [row.id, s.catchUp, s.lastRunAt],
    );
    if (res.rows.length > 0) counts.updated++;
    else counts.unchanged++;
  }
  if (existing.length > 0) {
    const res = await tx.query('DELETE FROM schedules WHERE id = ANY($1::int[]) RETURNING id', [existing.map((r) => r.id)]);
    counts.deleted += res.rows.length;
  }
  return counts;
}

interface HookRow {
  id: number;
  command: string;
  timing: string;
  on_error: string;
}

/**
 * Add the planned hooks to the job (in Relica's order, so ids keep that order) unless a hook with
 * the same command and timing exists; when it does, only its on_error is brought in line. Hooks
 * not in the plan (an admin's, or one deleted in Relica) are not removed.
 */
export async function syncHooks(tx: Queryable, jobId: string, planned: readonly PlannedHook[]): Promise<ChildCounts> {
  const counts = zero();
  const { rows } = await tx.query<HookRow>('SELECT id, command, timing, on_error FROM backup_hooks WHERE job_id = $1 ORDER BY id', [jobId]);
  const existing = [...rows];
  for (const h of planned) {
    const at = existing.findIndex((r) => r.command === h.command && r.timing === h.timing);
    if (at < 0) {
      await tx.query(
        'INSERT INTO backup_hooks (job_id, command, timing, on_error, enabled) VALUES ($1, $2, $3, $4, true)',
        [jobId, h.command, h.timing, h.onError],
      );
      counts.created++;
      continue;
    }
    const [row] = existing.splice(at, 1) as [HookRow];
    if (row.on_error === h.onError) {
      counts.unchanged++;
    } else {
      await tx.query('UPDATE backup_hooks SET on_error = $2 WHERE id = $1', [row.id, h.onError]);
      counts.updated++;
    }
  }
  return counts;
}
