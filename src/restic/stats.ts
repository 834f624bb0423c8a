/**
 * `restic stats --json`: repository or snapshot sizes. One JSON object (doc/075_scripting.rst
 * "stats"; 0.14 fixture 37: `{"total_size","total_file_count","snapshots_count"}`; `raw-data`
 * mode adds `total_blob_count`, and 0.15+ (compression) `total_uncompressed_size`,
 * `compression_ratio`, `compression_progress`, `compression_space_saving`).
 */
import * as z from 'zod';
import type { RepositoryConnection } from './connection.js';
import { filterArgs, type SnapshotFilter } from './filters.js';
import { parseJsonDocument, runResticOk, type CallOptions } from './runner.js';
import { checkOutput } from './snapshot.js';

export type StatsMode = 'restore-size' | 'files-by-contents' | 'raw-data' | 'blobs-per-file';

export interface StatsOptions extends SnapshotFilter {
  mode?: StatsMode;
  /** Only these snapshots (default: all matching the filter). */
  snapshotIds?: readonly string[];
}

export interface StatsResult {
  /** bytes */
  totalSize: number;
  totalFileCount: number | null;
  snapshotsCount: number | null;
  totalBlobCount: number | null;
  /** bytes (0.15+ raw-data) */
  totalUncompressedSize: number | null;
  compressionRatio: number | null;
}

export const STATS_TIMEOUT_SECONDS = 3600;

const n = z.number().nonnegative().optional();
const statsSchema = z.looseObject({
  total_size: z.number().nonnegative(),
  total_file_count: n,
  snapshots_count: n,
  total_blob_count: n,
  total_uncompressed_size: n,
  compression_ratio: n,
});

/** argv of `restic stats --json`. */
export function statsArgs(opts: StatsOptions = {}): string[] {
  const args = ['stats', '--json', '--no-lock', ...filterArgs(opts)];
  if (opts.mode) args.push('--mode', opts.mode);
  if (opts.snapshotIds?.length) args.push('--', ...opts.snapshotIds);
  return args;
}

/** Parse stats output. Throws ResticError('bad_output'). */
export function parseStats(stdout: string): StatsResult {
  // 0.19.1 fixed a progress bar printed in JSON mode (changelog 0.19.1 issue 21866): read the last JSON line.
  const last =
    stdout
      .trim()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .pop() ?? '';
  const o = checkOutput(statsSchema, parseJsonDocument(last, 'restic stats'), 'restic stats');
  return {
    totalSize: o.total_size,
    totalFileCount: o.total_file_count ?? null,
    snapshotsCount: o.snapshots_count ?? null,
    totalBlobCount: o.total_blob_count ?? null,
    totalUncompressedSize: o.total_uncompressed_size ?? null,
    compressionRatio: o.compression_ratio ?? null,
  };
}

/** Sizes of the repository (or the chosen snapshots). Throws ResticError. Default time-out 3600 s. */
export async function stats(
  conn: RepositoryConnection,
  opts: StatsOptions = {},
  call: CallOptions = {},
): Promise<StatsResult> {
  const out = await runResticOk(conn, statsArgs(opts), call, {
    what: 'restic stats',
    defaultTimeoutSeconds: STATS_TIMEOUT_SECONDS,
  });
  return parseStats(out.stdout);
}
