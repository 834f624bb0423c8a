/**
 * The summary statistics of one backup run, as the `runs` columns of CONTRACTS §3 hold them
 * (files_new ... total_bytes_processed), taken from restic's `summary` message. Shared by the
 * backup result (src/backup) and the run rows (src/db); null when restic gave no summary.
 */
export interface RunStats {
  filesNew: number | null;
  filesChanged: number | null;
  filesUnmodified: number | null;
  dirsNew: number | null;
  dirsChanged: number | null;
  dirsUnmodified: number | null;
  /** bytes */
  dataAddedBytes: number | null;
  totalFilesProcessed: number | null;
  /** bytes */
  totalBytesProcessed: number | null;
}

const KEYS = [
  'filesNew',
  'filesChanged',
  'filesUnmodified',
  'dirsNew',
  'dirsChanged',
  'dirsUnmodified',
  'dataAddedBytes',
  'totalFilesProcessed',
  'totalBytesProcessed',
] as const satisfies readonly (keyof RunStats)[];

/** A run that produced no summary (restic missing, failed before its summary). */
export const NO_RUN_STATS: Readonly<RunStats> = Object.freeze(
  Object.fromEntries(KEYS.map((k) => [k, null])) as unknown as RunStats,
);

/** Just the statistics of a larger object (a BackupResult) that carries them. */
export function runStatsOf(x: RunStats): RunStats {
  return Object.fromEntries(KEYS.map((k) => [k, x[k]])) as unknown as RunStats;
}
