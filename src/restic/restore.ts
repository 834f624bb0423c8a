/**
 * `restic restore SNAPSHOT --target DIR --include PATH...`: write parts of a snapshot below a
 * folder. Each included tree path lands at `DIR + PATH` (restic keeps the full tree path; a
 * folder's whole content comes with it). Facts (restic 0.14, checked on real repositories; restic
 * doc/050_restore.rst, doc/075_scripting.rst "restore" for 0.16+):
 * - 0.14 has no `--overwrite` option and overwrites existing files silently: the caller checks
 *   for conflicts first (src/restore/conflicts.ts);
 * - 0.14 prints one text line `restoring <Snapshot ...> to DIR` and no progress, even with
 *   `--json`; 0.16+ with `--json` prints `status` lines (`percent_done`, `files_restored`,
 *   `total_files`, `bytes_restored`, `total_bytes`) and a `summary`;
 * - `--include` takes patterns (`*`, `?`, `[`, `\`): a literal path is escaped here;
 * - errors for single files go to stderr (`ignoring error for PATH: ...`) and end in exit 1.
 * Cancelling (the signal) sends SIGINT; restic removes its lock.
 */
import { AppError } from '../errors.js';
import type { RepositoryConnection } from './connection.js';
import { LineSplitter } from './line-splitter.js';
import { normaliseTreePath } from './ls.js';
import { failureOf, startRestic, type CallOptions } from './runner.js';
import path from 'node:path';

export interface RestoreOptions {
  /** Absolute folder restic writes below. */
  target: string;
  /** Tree paths to restore (files or folders); at least one. */
  includes: readonly string[];
}

/** restic's own restore progress (0.16+ with --json); absent fields are null. */
export interface RestoreStatus {
  percentDone: number | null;
  filesRestored: number | null;
  totalFiles: number | null;
  bytesRestored: number | null;
  totalBytes: number | null;
}

export interface RestoreResult {
  durationMs: number;
  /** restic's stderr lines (bounded), for the run record. */
  stderrLines: string[];
  /** The last status or summary restic printed (0.16+), else null. */
  lastStatus: RestoreStatus | null;
}

/** Default time-out of a restore, seconds. */
export const RESTORE_TIMEOUT_SECONDS = 24 * 3600;
const MAX_STDERR = 256 * 1024;

/** A literal path as a restic include pattern (filepath.Match syntax: escape `\ * ? [`). Pure. */
export function literalPattern(treePath: string): string {
  return treePath.replace(/[\\*?[]/g, (c) => `\\${c}`);
}

/** argv of `restic restore`. Pure; throws AppError('INVALID_INPUT') for a bad id, target or path. */
export function restoreArgs(snapshotId: string, opts: RestoreOptions): string[] {
  if (!/^[0-9a-f]{8,64}$/.test(snapshotId))
    throw new AppError('INVALID_INPUT', `snapshot id "${snapshotId.slice(0, 70)}" is not 8-64 hex characters`);
  if (!path.isAbsolute(opts.target)) throw new AppError('INVALID_INPUT', `target "${opts.target}" is not absolute`);
  if (opts.includes.length === 0) throw new AppError('INVALID_INPUT', 'a restore needs at least one path');
  const args = ['restore', '--json', '--target', opts.target];
  for (const p of opts.includes) args.push('--include', literalPattern(normaliseTreePath(p)));
  args.push('--', snapshotId);
  return args;
}

const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : null);

/** A `status` or `summary` line of restore --json (0.16+), else null. Pure. */
export function parseRestoreLine(line: string): RestoreStatus | null {
  const t = line.trim();
  if (!t.startsWith('{')) return null;
  try {
    const o = JSON.parse(t) as Record<string, unknown>;
    if (o.message_type !== 'status' && o.message_type !== 'summary') return null;
    return {
      percentDone: num(o.percent_done),
      filesRestored: num(o.files_restored),
      totalFiles: num(o.total_files),
      bytesRestored: num(o.bytes_restored),
      totalBytes: num(o.total_bytes),
    };
  } catch {
    return null;
  }
}

/**
 * Restore `opts.includes` of `snapshotId` below `opts.target`. `onStatus` gets restic's own
 * progress where the version prints it. Resolves on exit 0; throws ResticError (cancelled,
 * timed_out, locked, wrong_password, unknown with restic's error text, ...) otherwise, and
 * AppError('INVALID_INPUT') for bad arguments. Default time-out 24 h.
 */
export async function restore(
  conn: RepositoryConnection,
  snapshotId: string,
  opts: RestoreOptions,
  call: CallOptions & { onStatus?: (s: RestoreStatus) => void } = {},
): Promise<RestoreResult> {
  let lastStatus: RestoreStatus | null = null;
  const lines = new LineSplitter((line) => {
    const s = parseRestoreLine(line);
    if (!s) return;
    lastStatus = s;
    call.onStatus?.(s);
  });
  const out = await startRestic(conn, restoreArgs(snapshotId, opts), call, {
    defaultTimeoutSeconds: RESTORE_TIMEOUT_SECONDS,
    maxStderrBytes: MAX_STDERR,
    onStdout: (d) => lines.push(d),
  }).done;
  const err = failureOf(out, 'restic restore', conn);
  if (err) throw err;
  return { durationMs: out.durationMs, stderrLines: out.stderrLines.slice(-100), lastStatus };
}
