/**
 * What rbackup2 puts into `restic backup` for a job (CONTRACTS §4): the snapshot tags of a job and
 * the mapping of a job to src/restic/backup.ts's plain options. Pure.
 */
import type { JobConfig } from '../config/device-config.js';
import { backupArgs, filterResticArgs, type FilteredArgs } from '../restic/backup.js';
import type { ResticVersion } from '../restic/version.js';

export { filterResticArgs, type FilteredArgs };

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
  return tag
    .replaceAll(',', TAG_COMMA_REPLACEMENT)
    .replace(/[\r\n]+/g, ' ')
    .trim();
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

export interface BackupCommandOptions {
  /** Source paths already normalised (paths.ts). */
  sourcePaths: readonly string[];
  /** `--retry-lock` duration in seconds, added only where supported (0.16+); 0/undefined = none. */
  retryLockSeconds?: number;
  /** `--host` value (C29), unless restic_args set one. */
  host?: string;
}

/**
 * The full argv (without the binary) for one backup of `job` (src/restic/backup.ts backupArgs):
 * the job's restic_args (filtered for this restic), its exclude patterns, its tags (buildTags),
 * then each source path after `--`.
 */
export function buildBackupArgs(
  job: Pick<JobConfig, 'id' | 'name' | 'originName' | 'accountId' | 'tags' | 'excludePatterns' | 'resticArgs'>,
  version: ResticVersion,
  opts: BackupCommandOptions,
): FilteredArgs {
  const filtered = filterResticArgs(job.resticArgs, version);
  const args = backupArgs(
    {
      sourcePaths: opts.sourcePaths,
      tags: buildTags(job),
      excludes: job.excludePatterns,
      extraArgs: filtered.args,
      ...(opts.host ? { host: opts.host } : {}),
      ...(opts.retryLockSeconds ? { retryLockSeconds: opts.retryLockSeconds } : {}),
    },
    version,
  );
  return { args, removed: filtered.removed };
}
