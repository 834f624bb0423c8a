/**
 * `restic prune`: remove data no snapshot references. restic 0.14-0.18 print text only; the
 * summary lines read here are `total prune: N blobs / SIZE` and `remaining: N blobs / SIZE` (0.14,
 * recorded in test/fixtures/restic-0.14/48-prune). A JSON summary exists only in restic newer than
 * 0.19.1 (doc/075_scripting.rst "prune" on restic's master): not used yet. Takes an exclusive lock.
 */
import { AppError } from '../errors.js';
import type { RepositoryConnection } from './connection.js';
import { runResticOk, type CallOptions } from './runner.js';

export interface PruneOptions {
  /** `--max-unused`: `5%` (restic's default), a size such as `1G`, or `unlimited`. */
  maxUnused?: string;
  /** `--dry-run`: report, remove nothing. */
  dryRun?: boolean;
}

export interface PruneResult {
  /** Blobs removed (or to be removed with dryRun); null when restic printed no summary line. */
  removedBlobs: number | null;
  remainingBlobs: number | null;
  /** restic's summary text lines (at most 30). */
  summary: string[];
}

export const PRUNE_TIMEOUT_SECONDS = 6 * 3600;

/** argv of `restic prune`. Throws AppError('INVALID_INPUT') for a bad maxUnused. */
export function pruneArgs(opts: PruneOptions = {}): string[] {
  const args = ['prune'];
  if (opts.maxUnused !== undefined) {
    if (!/^(\d+(\.\d+)?%|\d+[KMGT]?|unlimited)$/.test(opts.maxUnused))
      throw new AppError('INVALID_INPUT', `prune: max unused "${opts.maxUnused}" is not x%, a size or unlimited`);
    args.push('--max-unused', opts.maxUnused);
  }
  if (opts.dryRun) args.push('--dry-run');
  return args;
}

/** Read prune's text summary. */
export function parsePrune(stdout: string): PruneResult {
  const lines = stdout.split('\n').map((l) => l.trim());
  const blobs = (label: string): number | null => {
    const m = new RegExp(`^${label}:\\s+(\\d+) blobs`).exec(lines.find((l) => l.startsWith(`${label}:`)) ?? '');
    return m ? Number(m[1]) : null;
  };
  return {
    removedBlobs: blobs('total prune'),
    remainingBlobs: blobs('remaining'),
    summary: lines
      .filter((l) => /^(total prune|remaining|unused size after prune|to repack|this removes|to delete)/.test(l))
      .slice(0, 30),
  };
}

/** Prune the repository. Throws ResticError (locked, ...). Default time-out 6 h. */
export async function prune(
  conn: RepositoryConnection,
  opts: PruneOptions = {},
  call: CallOptions = {},
): Promise<PruneResult> {
  const out = await runResticOk(conn, pruneArgs(opts), call, {
    what: 'restic prune',
    defaultTimeoutSeconds: PRUNE_TIMEOUT_SECONDS,
    maxStdoutBytes: 1024 * 1024,
  });
  return parsePrune(out.stdout);
}
