/**
 * The run statistics of a job's snapshots (issue 17 "Snapshots of a job"): the backup runs of a job
 * that wrote a snapshot, keyed by the snapshot id the run recorded (restic 0.14 records the 8-hex
 * short id, 0.15+ the full 64-hex one; C03), for the snapshot list of GET /jobs/{id}/snapshots.
 */
import type { Queryable } from '../database.js';
import { toIso, toNumber, toStr } from '../rows.js';

export interface SnapshotRunStats {
  runId: number;
  snapshotId: string;
  status: string;
  startTime: string;
  durationSeconds: number | null;
  /** bytes */
  dataAddedBytes: number | null;
  totalFilesProcessed: number | null;
  /** bytes */
  totalBytesProcessed: number | null;
  filesNew: number | null;
  filesChanged: number | null;
}

/**
 * Backup runs of `jobId` that recorded one of the snapshots whose ids start with `prefixes` (the
 * 8-hex short ids of the snapshots shown), newest first: only the rows the list needs, read on
 * every GET /jobs/{id}/snapshots (at most 5000).
 */
export async function snapshotRunStats(
  db: Queryable,
  jobId: string,
  prefixes: readonly string[],
): Promise<SnapshotRunStats[]> {
  if (prefixes.length === 0) return [];
  const r = await db.query(
    `SELECT id, snapshot_id, status, start_time, duration_seconds, data_added_bytes, total_files_processed,
            total_bytes_processed, files_new, files_changed
       FROM runs
      WHERE job_id = $1 AND operation = 'backup' AND left(snapshot_id, 8) = ANY($2::text[])
      ORDER BY start_time DESC
      LIMIT 5000`,
    [jobId, [...new Set(prefixes)]],
  );
  return r.rows.map((x) => ({
    runId: toNumber(x.id) ?? 0,
    snapshotId: toStr(x.snapshot_id) ?? '',
    status: toStr(x.status) ?? '',
    startTime: toIso(x.start_time) ?? '',
    durationSeconds: toNumber(x.duration_seconds),
    dataAddedBytes: toNumber(x.data_added_bytes),
    totalFilesProcessed: toNumber(x.total_files_processed),
    totalBytesProcessed: toNumber(x.total_bytes_processed),
    filesNew: toNumber(x.files_new),
    filesChanged: toNumber(x.files_changed),
  }));
}
