/**
 * `restic forget --json`: apply a keep policy to the snapshots matching a filter, per group.
 * Output (restic doc/075_scripting.rst "forget"; 0.14 fixture 22 and recorded forget-* fixtures):
 * one JSON array of groups `{tags, host, paths, keep: [snapshot], remove: [snapshot] | null,
 * reasons: [{snapshot, matches: [string], counters}]}`; empty output (not `[]`) when no snapshot
 * matches the filter (0.14, fixture 42). Exit code 3 (0.17+): some snapshots could not be removed.
 * A reason's snapshot has no `id` in 0.14-0.16 (only time, tree, paths, ...); 0.17+ adds `id` and
 * `short_id` (cmd/restic/cmd_forget.go `KeepReason`, v0.17.0).
 */
import * as z from 'zod';
import { AppError } from '../errors.js';
import type { RepositoryConnection } from './connection.js';
import { filterArgs } from './filters.js';
import { parseJsonDocument, runResticOk, type CallOptions } from './runner.js';
import { checkOutput, snapshotSchema, toSnapshot, type Snapshot } from './snapshot.js';

/** How many snapshots to keep (restic's `--keep-*` options). At least one must be set. */
export interface KeepPolicy {
  last?: number;
  hourly?: number;
  daily?: number;
  weekly?: number;
  monthly?: number;
  yearly?: number;
  /** `--keep-within`: a restic duration such as `1y5m7d2h` (relative to the latest snapshot). */
  within?: string;
  /** `--keep-tag`: snapshots with any of these tags are always kept. */
  tags?: readonly string[];
}

/** restic's `--group-by` fields; `[]` = one group for all matching snapshots. */
export type GroupField = 'host' | 'paths' | 'tags';

export interface ForgetOptions {
  /** Only snapshots having every tag of one entry (see filters.ts); at least one entry (safety). */
  tags: readonly (string | readonly string[])[];
  keep: KeepPolicy;
  /** restic's default is `host,paths`; rbackup2 callers pass it explicitly. */
  groupBy: readonly GroupField[];
  /** `--dry-run`: report what would be removed, remove nothing. */
  dryRun: boolean;
  /** Only snapshots of this host (`--host`). */
  host?: string;
  /**
   * `--no-lock`, only together with dryRun: a preview takes no lock (restic's forget honours
   * --no-lock only with --dry-run, cmd/restic/cmd_forget.go; without it a dry run takes the
   * exclusive lock and fails beside any backup).
   */
  noLock?: boolean;
}

export interface ForgetReason {
  /** The snapshot's time (ISO 8601). */
  time: string;
  /** The snapshot's id when restic gives it (0.17+), else null. */
  id: string | null;
  /** Why it is kept, as restic words it: `last snapshot`, `daily snapshot`, ... */
  matches: string[];
}

export interface ForgetGroup {
  /** The group key: null for a field not grouped by. */
  host: string | null;
  paths: string[] | null;
  tags: string[] | null;
  keep: Snapshot[];
  /** Removed (or, with dryRun, to be removed). */
  remove: Snapshot[];
  reasons: ForgetReason[];
}

/** Default time-out of a forget, seconds. */
export const FORGET_TIMEOUT_SECONDS = 1800;
/** Largest output read, bytes. */
export const FORGET_MAX_BYTES = 64 * 1024 * 1024;

const COUNTS = ['last', 'hourly', 'daily', 'weekly', 'monthly', 'yearly'] as const;
const DURATION_RE = /^(?:\d+[ymdh])+$/;

/**
 * argv of `restic forget --json` for `opts`. Pure. Throws AppError('INVALID_INPUT') when no tag
 * filter or no keep rule is given (a forget never runs over a whole repository by accident), for a
 * count that is not a whole number >= 0 or a malformed duration.
 */
export function forgetArgs(opts: ForgetOptions): string[] {
  if (opts.tags.length === 0)
    throw new AppError('INVALID_INPUT', 'forget needs a tag filter (it never runs over a whole repository)');
  const keep: string[] = [];
  for (const name of COUNTS) {
    const n = opts.keep[name];
    if (n === undefined) continue;
    if (!Number.isInteger(n) || n < 0)
      throw new AppError('INVALID_INPUT', `forget: keep ${name} must be a whole number >= 0 (got ${n})`);
    if (n > 0) keep.push(`--keep-${name}`, String(n));
  }
  if (opts.keep.within !== undefined) {
    if (!DURATION_RE.test(opts.keep.within))
      throw new AppError('INVALID_INPUT', `forget: keep within "${opts.keep.within}" is not a duration like 1y5m7d2h`);
    keep.push('--keep-within', opts.keep.within);
  }
  for (const t of opts.keep.tags ?? []) {
    if (t.trim() === '' || t.includes(','))
      throw new AppError('INVALID_INPUT', `forget: keep tag "${t}" is empty or holds a comma`);
    keep.push('--keep-tag', t);
  }
  if (keep.length === 0) throw new AppError('INVALID_INPUT', 'forget needs at least one keep rule');
  const args = ['forget', '--json', ...filterArgs({ tags: opts.tags, ...(opts.host ? { hosts: [opts.host] } : {}) })];
  args.push(...keep, '--group-by', [...new Set(opts.groupBy)].join(','));
  if (opts.dryRun) args.push('--dry-run');
  if (opts.noLock) {
    if (!opts.dryRun) throw new AppError('INVALID_INPUT', 'forget: --no-lock only with a dry run');
    args.push('--no-lock');
  }
  return args;
}

const reasonSchema = z.looseObject({
  snapshot: z.looseObject({ time: z.string(), id: z.string().optional() }),
  matches: z.array(z.string()).nullish(),
});
const groupSchema = z.looseObject({
  tags: z.array(z.string()).nullish(),
  host: z.string().nullish(),
  paths: z.array(z.string()).nullish(),
  keep: z.array(snapshotSchema).nullish(),
  remove: z.array(snapshotSchema).nullish(),
  reasons: z.array(reasonSchema).nullish(),
});

/**
 * Parse `forget --json` output into groups. `groupBy` tells which key fields are real (restic
 * prints `"host": ""` when not grouping by host). Throws ResticError('bad_output').
 */
export function parseForget(stdout: string, groupBy: readonly GroupField[]): ForgetGroup[] {
  // restic 0.14 forget without --prune prints the document on one line; --prune would append JSON lines.
  const firstLine = stdout.trimStart().split('\n')[0] ?? '';
  const doc = parseJsonDocument(firstLine, 'restic forget', []);
  return checkOutput(z.array(groupSchema), doc, 'restic forget').map((g) => ({
    host: groupBy.includes('host') ? (g.host ?? '') : null,
    paths: groupBy.includes('paths') ? (g.paths ?? []) : null,
    tags: groupBy.includes('tags') ? (g.tags ?? []) : null,
    keep: (g.keep ?? []).map(toSnapshot),
    remove: (g.remove ?? []).map(toSnapshot),
    reasons: (g.reasons ?? []).map((r) => ({
      time: r.snapshot.time,
      id: r.snapshot.id ?? null,
      matches: r.matches ?? [],
    })),
  }));
}

/**
 * Forget snapshots of `conn`: the ones matching `opts.tags` (and `opts.host`), grouped by
 * `opts.groupBy`, minus those `opts.keep` keeps. With `dryRun` nothing is removed. Resolves with
 * the kept and removed snapshots per group ([] when nothing matched). Throws AppError
 * ('INVALID_INPUT') for bad options (see forgetArgs) and ResticError for a failed restic (locked,
 * wrong_password, repository_missing, timed_out, cancelled, unknown for exit 3 "could not remove
 * some snapshots", bad_output). Default time-out 1800 s. Needs an exclusive lock (restic takes it).
 */
export async function forget(
  conn: RepositoryConnection,
  opts: ForgetOptions,
  call: CallOptions = {},
): Promise<ForgetGroup[]> {
  const out = await runResticOk(conn, forgetArgs(opts), call, {
    what: 'restic forget',
    defaultTimeoutSeconds: FORGET_TIMEOUT_SECONDS,
    maxStdoutBytes: FORGET_MAX_BYTES,
  });
  return parseForget(out.stdout, opts.groupBy);
}
