/**
 * The Relica import plan: what `rbackup2 import-relica` will write, computed from a validated
 * state file without touching the database (so `--dry-run` and the real import show the same
 * thing). Mapping per CONTRACTS §6. Pure.
 */
import { AppError } from '../errors.js';
import { notCarriedOver } from './carry-over.js';
import { relicaScheduleToCron } from './schedule.js';
import { selectOrigin } from './select-origin.js';
import type { LoadedRelicaState } from './state-file.js';
import type { RelicaBackup, RelicaDestination, RelicaOrigin, RelicaState } from './state-schema.js';
import type { ImportPlan, PasswordSource, PlannedJob, PlannedRepository } from './plan-types.js';
import { retentionFromRelicaDays } from '../maintenance/retention-policy.js';

export type * from './plan-types.js';

/** Options of an import that do not come from the state file. */
export interface PlanOptions {
  /** restic repository URL (`--repository-url`); without it the configured repository is used. */
  repositoryUrl?: string;
  /** Required with repositoryUrl: `--password-file`, `--password-command` or the prompt's answer. */
  password?: PasswordSource;
}

/** The state file's version this importer was written against (`cache_header.cache_version`). */
export const KNOWN_CACHE_VERSION = 3;

/** Characters sh or cmd.exe give a meaning that Relica's shell-less hook runner did not. */
const SHELL_SPECIAL = /[$`|&;<>*?~%!(){}[\]#]/;

/** Go's zero time (`0001-01-01T00:00:00Z`) means "never" in Relica's files. */
function instant(ts: string | null | undefined): string | null {
  if (ts === null || ts === undefined || ts.startsWith('0001-01-01')) return null;
  const ms = Date.parse(ts);
  return Number.isNaN(ms) ? null : new Date(ms).toISOString();
}

/** Last successful Relica backup (ISO, ms): the chosen destination's entry, else the latest. */
function lastDone(state: RelicaState, backupId: string, destinationId: string | null): string | null {
  const byDest = state.local?.last_backups_done?.[backupId] ?? {};
  const preferred = destinationId === null ? null : instant(byDest[destinationId]);
  if (preferred !== null) return preferred;
  const all = Object.values(byDest)
    .map(instant)
    .filter((x): x is string => x !== null)
    .sort();
  return all.at(-1) ?? null;
}

function planRepository(
  options: PlanOptions,
  dest: RelicaDestination | undefined,
  originName: string,
): PlannedRepository {
  const url = options.repositoryUrl?.trim();
  if (url === undefined || url === '') {
    if (options.password !== undefined)
      throw new AppError('INVALID_INPUT', 'a password source was given without --repository-url');
    return { kind: 'configured', destinationId: dest?.id ?? null };
  }
  if (/[\r\n]/.test(url)) throw new AppError('INVALID_INPUT', '--repository-url contains a line break');
  if (options.password === undefined) {
    throw new AppError(
      'INVALID_INPUT',
      '--repository-url needs a password source: --password-file, --password-command or the interactive prompt',
    );
  }
  if (dest === undefined) {
    throw new AppError(
      'INVALID_INPUT',
      `the backups of Relica origin "${originName}" name no Relica destination; add the repository with rbackup2 and import without --repository-url`,
    );
  }
  return { kind: 'new', id: dest.id, name: `relica/${dest.name}`, url, password: options.password };
}

function planJob(
  state: RelicaState,
  b: RelicaBackup,
  origin: RelicaOrigin,
  destinationId: string | null,
  warnings: string[],
): PlannedJob {
  const sourcePaths = [...new Set(b.include)];
  if (sourcePaths.length < b.include.length) {
    warnings.push(`${b.name}: ${b.include.length - sourcePaths.length} duplicate include path(s) removed`);
  }
  if (sourcePaths.length === 0)
    warnings.push(`${b.name}: Relica lists no include path; the job will fail until source_paths is set`);
  const conv = relicaScheduleToCron(b.schedule, b.name);
  warnings.push(...conv.warnings);
  const lastRunAt = lastDone(state, b.id, destinationId);
  const dest = (state.read_only.destinations ?? []).find((d) => d.id.toLowerCase() === destinationId);
  const retention = retentionFromRelicaDays(dest?.retention_days);
  if (retention)
    warnings.push(
      `${b.name}: Relica kept ${dest?.retention_days} days on "${dest?.name}": retention keep_within ${retention.keep_within} (forget after each backup, prune on the repository's schedule)`,
    );
  const inProgress = (state.read_only.destinations ?? [])
    .flatMap((d) => (d.backups_v3 ?? []).map((x) => ({ d, x })))
    .find(({ x }) => x.backup_id === b.id && instant(x.in_progress) !== null);
  if (inProgress) {
    warnings.push(
      `${b.name}: Relica shows a backup to "${inProgress.d.name}" in progress since ${inProgress.x.in_progress}; ` +
        'stop Relica before the first rbackup2 backup (if restic then reports a stale lock, run "restic unlock")',
    );
  }
  for (const h of b.hooks ?? []) {
    if (SHELL_SPECIAL.test(h.command)) {
      warnings.push(
        `${b.name}: hook "${h.command}" has characters a shell interprets; Relica ran hooks without a shell, ` +
          'rbackup2 runs them through the system shell: check the command',
      );
    }
  }
  return {
    id: b.id.toLowerCase(),
    name: b.name,
    originName: origin.name,
    originId: b.origin_id.toLowerCase(),
    accountId: (b.account_id ?? origin.account_id)?.toLowerCase() ?? null,
    sourcePaths,
    excludePatterns: [...(b.exclude ?? [])],
    tags: [],
    schedules: conv.schedules.map((s) => ({ ...s, lastRunAt })),
    hooks: (b.hooks ?? []).map((h) => ({
      command: h.command,
      timing: h.timing,
      onError: h.on_error,
      description: h.description ?? null,
    })),
    lastRunAt,
    retention,
    relica: {
      created: typeof b.created === 'string' ? b.created : null,
      destinations: b.destinations ?? [],
      schedule: b.schedule,
      lastBackupsDone: state.local?.last_backups_done?.[b.id] ?? {},
    },
  };
}

/**
 * Plan the import of the Relica origin `originSelector` (name or id; see selectOrigin) from a
 * loaded state file. The device id is the origin's UUID; each of its backups becomes a job with
 * the backup's UUID as id. Backups of other origins are counted in skippedOtherOrigins.
 * Errors: NOT_FOUND (unknown origin, listing the available ones), INVALID_INPUT (ambiguous name,
 * URL without password source or the reverse).
 */
export function planImport(loaded: LoadedRelicaState, originSelector: string, options: PlanOptions = {}): ImportPlan {
  const { state } = loaded;
  const origin = selectOrigin(state, originSelector);
  const originId = origin.id.toLowerCase();
  const mine = state.read_only.backups.filter((b) => b.origin_id.toLowerCase() === originId);
  const destIds = [...new Set(mine.flatMap((b) => b.destinations ?? []).map((d) => d.toLowerCase()))];
  const destinations = destIds
    .map((id) => (state.read_only.destinations ?? []).find((d) => d.id.toLowerCase() === id))
    .filter((d): d is RelicaDestination => d !== undefined);
  const warnings: string[] = [];
  const version = state.cache_header?.cache_version;
  if (version !== undefined && version !== KNOWN_CACHE_VERSION) {
    warnings.push(
      `state file cache_version is ${version}; this importer knows version ${KNOWN_CACHE_VERSION}: check the plan carefully`,
    );
  }
  const self = state.read_only.self;
  const done = state.local?.last_backups_done ?? {};
  if (
    self !== undefined &&
    self.id.toLowerCase() !== originId &&
    mine.length > 0 &&
    !mine.some((b) => done[b.id] !== undefined)
  ) {
    warnings.push(
      `this state file belongs to origin "${self.name}" and has no last backup times for "${origin.name}"; ` +
        'import each computer from its own state file to carry them over',
    );
  }
  if (mine.length === 0) warnings.push(`Relica origin "${origin.name}" has no backups`);
  if (destIds.length > 1) {
    warnings.push(
      `the backups use ${destIds.length} Relica destinations (${destinations.map((d) => d.name).join(', ')}); all jobs use one rbackup2 repository (the first destination's)`,
    );
  }
  const missing = destIds.filter((id) => !destinations.some((d) => d.id.toLowerCase() === id));
  if (missing.length > 0)
    warnings.push(
      `destination id(s) ${missing.join(', ')} are used by backups but not described in read_only.destinations`,
    );
  const repository = planRepository(options, destinations[0], origin.name);
  const chosenDest = destinations[0]?.id.toLowerCase() ?? destIds[0] ?? null;
  return {
    file: loaded.file,
    device: {
      id: originId,
      name: origin.name === '' ? originId : origin.name,
      platform: self?.id.toLowerCase() === originId ? (state.local?.runtime?.os ?? null) : null,
    },
    repository,
    jobs: mine.map((b) => planJob(state, b, origin, chosenDest, warnings)),
    skippedOtherOrigins: state.read_only.backups.length - mine.length,
    notCarriedOver: notCarriedOver(state, mine, destinations),
    unknownFields: [...loaded.unknownFields],
    warnings,
  };
}
