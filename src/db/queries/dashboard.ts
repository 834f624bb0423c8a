/**
 * The fleet dashboard's read-only queries (issue 19 point 5): a page of devices with their jobs
 * (last success, last run, next run), repositories, recent failures, and a change fingerprint for
 * live updates. Paged and index-backed (migration 012) so thousands of jobs stay fast
 * (bench/dashboard.mjs).
 */
import type { Queryable } from '../database.js';
import { toIso } from '../rows.js';
import type { ScheduleRow } from './notifications.js';

export interface FleetDevice {
  id: string;
  name: string;
  platform: string | null;
  hostname: string | null;
  lastSeen: string | null;
  agentVersion: string | null;
  resticVersion: string | null;
  enabled: boolean;
}

export interface FleetJob {
  id: string;
  deviceId: string;
  name: string;
  enabled: boolean;
  lastSuccess: string | null;
  lastRunStatus: string | null;
  lastRunStart: string | null;
  lastRunError: string | null;
  nextRunAt: string | null;
  schedules: ScheduleRow[];
  staleAfter: string | null;
  grace: string | null;
}

/** Devices `offset`..`offset+limit` by name, and the total. */
export async function fleetDevicesPage(
  db: Queryable,
  limit: number,
  offset: number,
  search = '',
): Promise<{ total: number; devices: FleetDevice[] }> {
  const like = `%${search.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
  const [{ rows: total }, { rows }] = await Promise.all([
    db.query<{ n: string }>(`SELECT count(*) AS n FROM devices WHERE $1 = '%%' OR name ILIKE $1 OR id ILIKE $1`, [
      like,
    ]),
    db.query(
      `SELECT id, coalesce(name, id) AS name, platform, hostname, last_seen, enabled,
              metadata->>'agent_version' AS agent_version, metadata->>'restic_version' AS restic_version
         FROM devices WHERE $3 = '%%' OR name ILIKE $3 OR id ILIKE $3
        ORDER BY name, id LIMIT $1 OFFSET $2`,
      [limit, offset, like],
    ),
  ]);
  return {
    total: Number(total[0]?.n ?? 0),
    devices: rows.map((r) => ({
      id: String(r.id),
      name: String(r.name),
      platform: r.platform == null ? null : String(r.platform),
      hostname: r.hostname == null ? null : String(r.hostname),
      lastSeen: toIso(r.last_seen),
      agentVersion: r.agent_version == null ? null : String(r.agent_version),
      resticVersion: r.restic_version == null ? null : String(r.restic_version),
      enabled: r.enabled !== false,
    })),
  };
}

/** The jobs of `deviceIds` with last success, last run and next run (one statement, index lookups per job). */
export async function fleetJobs(db: Queryable, deviceIds: readonly string[]): Promise<FleetJob[]> {
  if (deviceIds.length === 0) return [];
  const setting = (key: string) =>
    `coalesce((SELECT value FROM settings s WHERE s.key = '${key}' AND s.device_id = j.device_id),
              (SELECT value FROM settings s WHERE s.key = '${key}' AND s.device_id IS NULL))`;
  const { rows } = await db.query(
    `SELECT j.id, j.device_id, j.name, j.enabled, ls.end_time AS last_success,
            lr.status AS last_status, lr.start_time AS last_start, left(lr.error_message, 300) AS last_error,
            (SELECT min(s.next_run_at) FROM schedules s WHERE s.job_id = j.id AND s.enabled) AS next_run_at,
            (SELECT json_agg(json_build_object('id', s.id, 'type', s.schedule_type, 'cron_expression', s.cron_expression,
                     'interval_seconds', s.interval_seconds, 'timezone', s.timezone))
               FROM schedules s WHERE s.job_id = j.id AND s.enabled) AS schedules,
            ${setting('stale_after_seconds')} AS stale_after, ${setting('missed_run_grace_seconds')} AS grace
       FROM backup_jobs j
       LEFT JOIN LATERAL (SELECT r.end_time FROM runs r WHERE r.job_id = j.id AND r.status IN ('success', 'partial')
                           ORDER BY r.end_time DESC LIMIT 1) ls ON true
       LEFT JOIN LATERAL (SELECT r.status, r.start_time, r.error_message FROM runs r WHERE r.job_id = j.id
                           ORDER BY r.start_time DESC LIMIT 1) lr ON true
      WHERE j.device_id = ANY ($1::varchar[])
      ORDER BY j.device_id, j.name`,
    [deviceIds],
  );
  return rows.map((r) => ({
    id: String(r.id),
    deviceId: String(r.device_id),
    name: String(r.name),
    enabled: r.enabled !== false,
    lastSuccess: toIso(r.last_success),
    lastRunStatus: r.last_status == null ? null : String(r.last_status),
    lastRunStart: toIso(r.last_start),
    lastRunError: r.last_error == null ? null : String(r.last_error),
    nextRunAt: toIso(r.next_run_at),
    schedules: (r.schedules ?? []) as FleetJob['schedules'],
    staleAfter: r.stale_after == null ? null : String(r.stale_after),
    grace: r.grace == null ? null : String(r.grace),
  }));
}

export interface FleetRepository {
  id: string;
  name: string;
  /** Jobs that use it. */
  jobs: number;
  /** The latest run with operation 'check' of this repository (runs.repository_id, migration 008), or null. */
  lastCheck: { startTime: string; endTime: string | null; status: string } | null;
  /**
   * Bytes of the repository (`restic stats --mode raw-data`, refreshed after each prune: issue 18's
   * repository_state), else null: the page shows "—" with "size unknown until a check or stats
   * run records it".
   */
  sizeBytes: number | null;
  sizeAt: string | null;
}

/**
 * Repositories with how many jobs use them, the last check and the size issue 18 records (no
 * secrets: the url is not read). Each repository costs a few index look-ups.
 */
export async function fleetRepositories(db: Queryable): Promise<FleetRepository[]> {
  const { rows } = await db.query(
    `SELECT r.id, r.name, (SELECT count(*) FROM backup_jobs j WHERE j.repository_id = r.id) AS jobs,
            c.start_time AS check_start, c.end_time AS check_end, c.status AS check_status,
            s.size AS size_bytes, s.start_time AS size_at
       FROM repositories r
       LEFT JOIN LATERAL (
         SELECT start_time, end_time, status FROM runs
          WHERE repository_id = r.id AND operation = 'check' ORDER BY start_time DESC LIMIT 1) c ON true
       LEFT JOIN LATERAL (
         SELECT size_bytes AS size, stats_at AS start_time FROM repository_state
          WHERE repository_id = r.id AND size_bytes IS NOT NULL
          ORDER BY stats_at DESC NULLS LAST LIMIT 1) s ON true
      ORDER BY r.name LIMIT 500`,
  );
  return rows.map((r) => ({
    id: String(r.id),
    name: String(r.name),
    jobs: Number(r.jobs),
    lastCheck:
      r.check_start == null
        ? null
        : { startTime: toIso(r.check_start)!, endTime: toIso(r.check_end), status: String(r.check_status) },
    sizeBytes: r.size_bytes == null ? null : Number(r.size_bytes),
    sizeAt: toIso(r.size_at),
  }));
}

/** The `limit` most recent failed runs of the fleet. */
export async function recentFailures(
  db: Queryable,
  limit: number,
): Promise<
  {
    runId: number;
    jobId: string | null;
    jobName: string | null;
    deviceId: string;
    startTime: string | null;
    error: string | null;
  }[]
> {
  const { rows } = await db.query(
    `SELECT r.id, r.job_id, j.name AS job_name, r.device_id, r.start_time, left(r.error_message, 300) AS error
       FROM runs r LEFT JOIN backup_jobs j ON j.id = r.job_id
      WHERE r.status = 'failed' ORDER BY r.start_time DESC LIMIT $1`,
    [limit],
  );
  return rows.map((r) => ({
    runId: Number(r.id),
    jobId: r.job_id == null ? null : String(r.job_id),
    jobName: r.job_name == null ? null : String(r.job_name),
    deviceId: String(r.device_id),
    startTime: toIso(r.start_time),
    error: r.error == null ? null : String(r.error),
  }));
}

/** A cheap fingerprint of what the page shows: changes when a run starts/ends or a device checks in. */
export async function fleetFingerprint(db: Queryable): Promise<string> {
  const { rows } = await db.query(
    `SELECT (SELECT max(id) FROM runs) AS r,
            (SELECT count(*) FROM runs WHERE status = 'running') AS running,
            (SELECT max(last_seen) FROM devices) AS seen,
            (SELECT count(*) FROM devices) AS devices`,
  );
  const r = rows[0] ?? {};
  return `${String(r.r)}:${String(r.running)}:${toIso(r.seen) ?? ''}:${String(r.devices)}`;
}
