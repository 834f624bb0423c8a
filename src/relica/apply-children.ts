/**
 * Writing one imported job's schedules and hooks (CONTRACTS §3 `schedules`, `backup_hooks`) so that
 * a re-run changes nothing. Only schedules whose metadata says `source: relica` belong to the
 * import; schedules an admin added are never touched. Hooks have no metadata column: they are
 * matched by (job_id, command, timing); hooks not in the plan are left alone.
 */
import type { HookConfig, ScheduleConfig } from '../config/device-config.js';
import type { Queryable } from '../db/database.js';
import {
  addHook,
  insertImportedSchedule,
  listHooks,
  listImportedSchedules,
  removeSchedules,
  setHookOnError,
  updateImportedSchedule,
} from '../db/queries/schedules.js';
import type { PlannedHook, PlannedSchedule } from './plan-types.js';

/** Per-kind outcome of writing one job's children. */
export interface ChildCounts {
  created: number;
  updated: number;
  deleted: number;
  unchanged: number;
}

const zero = (): ChildCounts => ({ created: 0, updated: 0, deleted: 0, unchanged: 0 });

/**
 * Make the job's import-managed cron schedules equal the planned ones: matched by cron
 * expression; catch_up follows Relica's `flexible`; last_run_at moves forward only (set when NULL
 * or older than Relica's last backup). Timezone, enabled and next_run_at of an existing schedule
 * are the admin's and the scheduler's, never changed. Managed schedules no longer planned are
 * deleted; new ones are inserted with timezone NULL (the device's local zone).
 */
export async function syncSchedules(
  tx: Queryable,
  jobId: string,
  planned: readonly PlannedSchedule[],
): Promise<ChildCounts> {
  const counts = zero();
  const existing = await listImportedSchedules(tx, jobId);
  for (const s of planned) {
    const at = existing.findIndex((r) => r.cronExpression === s.cron);
    if (at < 0) {
      await insertImportedSchedule(tx, jobId, s);
      counts.created++;
      continue;
    }
    const [row] = existing.splice(at, 1) as [ScheduleConfig];
    if (await updateImportedSchedule(tx, row.id, s)) counts.updated++;
    else counts.unchanged++;
  }
  counts.deleted += await removeSchedules(
    tx,
    existing.map((r) => r.id),
  );
  return counts;
}

/**
 * Add the planned hooks to the job (in Relica's order, so ids keep that order) unless a hook with
 * the same command and timing exists; when it does, only its on_error is brought in line. Hooks
 * not in the plan (an admin's, or one deleted in Relica) are not removed.
 */
export async function syncHooks(tx: Queryable, jobId: string, planned: readonly PlannedHook[]): Promise<ChildCounts> {
  const counts = zero();
  const existing = await listHooks(tx, jobId);
  for (const h of planned) {
    const at = existing.findIndex((r) => r.command === h.command && r.timing === h.timing);
    if (at < 0) {
      await addHook(tx, { jobId, command: h.command, timing: h.timing, onError: h.onError, enabled: true });
      counts.created++;
      continue;
    }
    const [row] = existing.splice(at, 1) as [HookConfig];
    if (row.onError === h.onError) {
      counts.unchanged++;
    } else {
      await setHookOnError(tx, row.id, h.onError);
      counts.updated++;
    }
  }
  return counts;
}
