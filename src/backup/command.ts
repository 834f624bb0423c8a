/**
 * argv for `restic backup --json` (CONTRACTS §4). Pure: no env, no disk. Repository, password and
 * cache dir never appear here; they go into the child's environment (see environment.ts).
 */
import type { JobConfig } from '../config/device-config.js';
import { checkResticArgs } from './restic-args.js';
import { atLeast, type ResticVersion } from './restic-version.js';

/**
 * restic splits every `--tag` value on commas and trims spaces around each part, with no escape
 * (internal/restic/tag_list.go `splitTagList`). So a comma can never be part of a tag. We replace
 * each comma with a semicolon (`Fotky, 2024` -> `Fotky; 2024`): one readable tag, still ASCII and
 * easy to type in `restic snapshots --tag`. The job's identity is the `backup:<uuid>` tag, so two
 * names that differ only by `,` vs `;` do not collide in any way that matters.
 */
export const TAG_COMMA_REPLACEMENT = ';';

/** One tag value as restic will store it: commas replaced, outer whitespace trimmed (restic trims). */
export function sanitizeTag(tag: string): string {
  return tag.replaceAll(',', TAG_COMMA_REPLACEMENT).replace(/[\r\n]+/g, ' ').trim();
}

/**
 * The snapshot tags of a job, in the order of CONTRACTS §4: `backup:<job uuid>`,
 * `backup_name=<name>`, `origin=<origin_name>` (when set), `account_id=<account_id>` (when set),
 * then the job's own tags. Empty tags are dropped (restic drops them too); duplicates of an
 * earlier tag are dropped.
 */
export function buildTags(job: Pick<JobConfig, 'id' | 'name' | 'originName' | 'accountId' | 'tags'>): string[] {
  const raw = [`backup:${job.id}`, `backup_name=${job.name}`];
  if (job.originName) raw.push(`origin=${job.originName}`);
  if (job.accountId) raw.push(`account_id=${job.accountId}`);
  raw.push(...job.tags);
  const out: string[] = [];
  for (const t of raw) {
    const s = sanitizeTag(t);
    if (s !== '' && !out.includes(s)) out.push(s);
  }
  return out;
}

/** A restic flag that only newer versions know; `takesValue` when it is followed by a value. */
interface VersionedFlag { since: readonly [number, number]; takesValue: boolean }

/** Backup flags newer than 0.14, from restic's changelog (0.15 .. 0.18). */
const VERSIONED_FLAGS: Readonly<Record<string, VersionedFlag>> = Object.freeze({
  '--no-scan': { since: [0, 15], takesValue: false },
  '--read-concurrency': { since: [0, 15], takesValue: true },
  '--retry-lock': { since: [0, 16], takesValue: true },
  '--skip-if-unchanged': { since: [0, 17], takesValue: false },
  '--exclude-cloud-files': { since: [0, 17], takesValue: false },
  '--stdin-from-command': { since: [0, 17], takesValue: false },
});

export interface FilteredArgs {
  args: string[];
  /** Human notes on what was removed and why, e.g. `--skip-if-unchanged needs restic 0.17`. */
  removed: string[];
}

/**
 * Keep from `args` the options of the restic_args allow-list (restic-args.ts, C30) that this
 * restic version knows; everything else is removed with a note naming it (a row an admin edited
 * with SQL can hold anything).
 */
export function filterResticArgs(args: readonly string[], version: ResticVersion): FilteredArgs {
  const checked = checkResticArgs(args);
  const out: string[] = [];
  const removed: string[] = [...checked.problems];
  for (const o of checked.options) {
    const flag = VERSIONED_FLAGS[`--${o.name}`];
    if (flag && o.tokens[0]?.startsWith('--') && !atLeast(version, flag.since[0], flag.since[1])) {
      removed.push(`--${o.name} needs restic ${flag.since[0]}.${flag.since[1]} or newer (found ${version.raw})`);
      continue;
    }
    out.push(...o.tokens);
  }
  return { args: out, removed };
}

export interface BackupCommandOptions {
  /** Source paths already normalised (paths.ts). */
  sourcePaths: readonly string[];
  /** `--retry-lock` duration in seconds, added only where supported (0.16+); 0/undefined = none. */
  retryLockSeconds?: number;
  /** `--host` value (C29), unless restic_args set one. */
  host?: string;
}

/**
 * The full argv (without the binary) for one backup: `backup --json`, the job's restic_args
 * (filtered), one `--exclude` per pattern, one `--tag` per tag, `--`, then each source path as its
 * own argument (so a path starting with `-` is never read as a flag).
 */
export function buildBackupArgs(job: Pick<JobConfig, 'id' | 'name' | 'originName' | 'accountId' | 'tags' | 'excludePatterns' | 'resticArgs'>, version: ResticVersion, opts: BackupCommandOptions): FilteredArgs {
  const filtered = filterResticArgs(job.resticArgs, version);
  const args = ['backup', '--json', ...filtered.args];
  if (opts.retryLockSeconds && opts.retryLockSeconds > 0 && atLeast(version, 0, 16) && !filtered.args.some((a) => a === '--retry-lock' || a.startsWith('--retry-lock='))) {
    args.push('--retry-lock', `${Math.ceil(opts.retryLockSeconds)}s`);
  }
  if (opts.host && !filtered.args.some((a) => a === '--host' || a.startsWith('--host=') || /^-[A-Za-z]*H/.test(a))) args.push('--host', opts.host);
  for (const pattern of job.excludePatterns) {
    if (pattern !== '') args.push('--exclude', pattern);
  }
  for (const tag of buildTags(job)) args.push('--tag', tag);
  args.push('--', ...opts.sourcePaths);
  return { args, removed: filtered.removed };
}
