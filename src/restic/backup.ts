/**
 * `restic backup --json`: the argv from plain values, and which backup flags this restic knows.
 * Pure: no env, no disk; repository, password and cache folder go into the child's environment
 * (environment.ts), never here. The JSON messages restic prints while it runs are parsed by
 * backup-output.ts (status, error, summary; restic doc/075_scripting.rst "backup"). rbackup2's
 * mapping of a job to these values (tags, restic_args) is src/backup/command.ts. The process is
 * spawned by src/backup/run-backup.ts (spawn.ts, own process group, with its stall watchdog).
 */
import { checkResticArgs } from './backup-options.js';
import { atLeast, type ResticVersion } from './version.js';

/** A restic flag that only newer versions know; `takesValue` when it is followed by a value. */
interface VersionedFlag {
  since: readonly [number, number];
  takesValue: boolean;
}

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
 * Keep from `args` the options of the backup allow-list (backup-options.ts, C30) that this
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

export interface BackupArgsInput {
  /** Source paths already normalised; each becomes its own argument after `--`. */
  sourcePaths: readonly string[];
  /** One `--tag` each (restic splits a value on commas: give tags without commas). */
  tags: readonly string[];
  /** One `--exclude` each; empty patterns are skipped. */
  excludes: readonly string[];
  /** Extra options already checked for this version (filterResticArgs). */
  extraArgs: readonly string[];
  /** `--host` value, unless extraArgs set one (C29). */
  host?: string;
  /** `--retry-lock` in seconds, added only where supported (0.16+) and not in extraArgs. */
  retryLockSeconds?: number;
}

/**
 * The argv (without the binary): `backup --json`, extraArgs, `--retry-lock`, `--host`, one
 * `--exclude` per pattern, one `--tag` per tag, `--`, then each source path (so a path starting
 * with `-` is never read as a flag).
 */
export function backupArgs(input: BackupArgsInput, version: ResticVersion): string[] {
  const extra = input.extraArgs;
  const args = ['backup', '--json', ...extra];
  if (
    input.retryLockSeconds &&
    input.retryLockSeconds > 0 &&
    atLeast(version, 0, 16) &&
    !extra.some((a) => a === '--retry-lock' || a.startsWith('--retry-lock='))
  ) {
    args.push('--retry-lock', `${Math.ceil(input.retryLockSeconds)}s`);
  }
  if (input.host && !extra.some((a) => a === '--host' || a.startsWith('--host=') || /^-[A-Za-z]*H/.test(a)))
    args.push('--host', input.host);
  for (const pattern of input.excludes) if (pattern !== '') args.push('--exclude', pattern);
  for (const tag of input.tags) args.push('--tag', tag);
  args.push('--', ...input.sourcePaths);
  return args;
}
