/**
 * `restic snapshots --json`: the snapshots of a repository, optionally filtered. Output (restic
 * doc/075_scripting.rst "snapshots"; 0.14 fixture 20): one JSON array of snapshot objects, oldest
 * first; `[]` when there are none (fixture 11). With `--group-by` restic prints
 * `[{"group_key":{...},"snapshots":[...]}]` instead (fixture 21); this module never groups.
 */
import * as z from 'zod';
import type { RepositoryConnection } from './connection.js';
import { filterArgs, type SnapshotFilter } from './filters.js';
import { parseJsonDocument, runResticOk, type CallOptions } from './runner.js';
import { checkOutput, snapshotSchema, toSnapshot, type Snapshot } from './snapshot.js';

export interface SnapshotsOptions extends SnapshotFilter {
  /** Only these snapshot ids (full or short). */
  ids?: readonly string[];
  /** `--latest N`: the newest N per host and path set. */
  latest?: number;
  /** `--no-lock` (default true): a listing needs no lock and works on read-only repositories. */
  noLock?: boolean;
}

/** Default time-out of a listing, seconds. */
export const SNAPSHOTS_TIMEOUT_SECONDS = 300;
/** Largest output read, bytes: ~100,000 snapshots of ~600 bytes. */
export const SNAPSHOTS_MAX_BYTES = 64 * 1024 * 1024;

/** argv of `restic snapshots --json` for `opts`. Pure. */
export function snapshotsArgs(opts: SnapshotsOptions = {}): string[] {
  const args = ['snapshots', '--json'];
  if (opts.noLock ?? true) args.push('--no-lock');
  args.push(...filterArgs(opts));
  if (opts.latest !== undefined) args.push('--latest', String(Math.max(1, Math.floor(opts.latest))));
  if (opts.ids?.length) args.push('--', ...opts.ids);
  return args;
}

/** Parse `snapshots --json` output (without --group-by). Throws ResticError('bad_output'). */
export function parseSnapshots(stdout: string): Snapshot[] {
  const doc = parseJsonDocument(stdout, 'restic snapshots', []);
  return checkOutput(z.array(snapshotSchema), doc, 'restic snapshots').map(toSnapshot);
}

/**
 * List the snapshots of `conn` matching `opts`, in restic's order (oldest first; see
 * snapshot.ts newestFirst). Throws ResticError (repository_missing, wrong_password, locked,
 * timed_out, cancelled, bad_output, ...). Default time-out 300 s.
 */
export async function snapshots(
  conn: RepositoryConnection,
  opts: SnapshotsOptions = {},
  call: CallOptions = {},
): Promise<Snapshot[]> {
  const out = await runResticOk(conn, snapshotsArgs(opts), call, {
    what: 'restic snapshots',
    defaultTimeoutSeconds: SNAPSHOTS_TIMEOUT_SECONDS,
    maxStdoutBytes: SNAPSHOTS_MAX_BYTES,
  });
  return parseSnapshots(out.stdout);
}
