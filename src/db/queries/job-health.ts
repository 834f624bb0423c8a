/**
 * What the UI's job cards need beyond the latest run (issue 16): each job's last successful run and,
 * when runs failed after it, since when the job has been failing.
 */
import type { Queryable } from '../database.js';
import { toIso } from '../rows.js';
import { mapRun, type Run } from './runs.js';

/** Last successful backup (status success or partial, with an end time) of each job of a device;
 * other operations (forget, check...) never count. */
export async function lastSuccessRunsOfDevice(db: Queryable, deviceId: string): Promise<Run[]> {
  const { rows } = await db.query(
    `SELECT DISTINCT ON (job_id) * FROM runs
      WHERE device_id = $1 AND operation = 'backup' AND status IN ('success', 'partial') AND end_time IS NOT NULL
      ORDER BY job_id, end_time DESC, id DESC`,
    [deviceId],
  );
  return rows.map(mapRun);
}

/**
 * Per job of a device: the start of the oldest failed or interrupted run after its last success
 * (or ever, when it never succeeded), i.e. since when it is failing. Jobs whose newest finished
 * run is not a failure do not appear. Cancelled runs neither start nor end a failing streak.
 */
export async function failingSinceOfDevice(db: Queryable, deviceId: string): Promise<Map<string, string>> {
  const { rows } = await db.query<{ job_id: string; since: unknown }>(
    `WITH ok AS (
       SELECT job_id, max(start_time) AS at FROM runs
        WHERE device_id = $1 AND operation = 'backup' AND status IN ('success', 'partial') GROUP BY job_id
     )
     SELECT r.job_id, min(r.start_time) AS since FROM runs r LEFT JOIN ok ON ok.job_id = r.job_id
      WHERE r.device_id = $1 AND r.operation = 'backup' AND r.status IN ('failed', 'interrupted') AND (ok.at IS NULL OR r.start_time > ok.at)
      GROUP BY r.job_id`,
    [deviceId],
  );
  const out = new Map<string, string>();
  for (const r of rows) {
    const since = toIso(r.since);
    if (since) out.set(String(r.job_id), since);
  }
  return out;
}
