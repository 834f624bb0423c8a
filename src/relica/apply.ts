/**
 * Writing a Relica import plan into the database (CONTRACTS §3 tables) in one transaction,
 * idempotently: a row is written only when something differs, so a second import of the same
 * file reports everything unchanged and leaves updated_at as it was.
 *
 * What the import owns on an existing row: the device's metadata->'relica'; a job's name,
 * source_paths, exclude_patterns, origin_name/id, account_id, metadata->'relica' and (when a
 * repository is given) repository_id; its schedules marked metadata.source = 'relica'; hooks with
 * the same command and timing. Everything else (enabled flags, tags, restic_args, the device
 * name, an admin's schedules and hooks) is left as the admin set it.
 */
import type { Database, Queryable } from '../db/database.js';
import { jobValueProblems, repositoryValueProblems } from '../config/input-check.js';
import { AppError } from '../errors.js';
import { upsertImportedDevice } from '../db/queries/devices.js';
import {
  countJobsWithRepository,
  jobDeviceOtherThan,
  jobNamedOtherThan,
  upsertImportedJob,
} from '../db/queries/jobs.js';
import { repositoryExists, repositoryNamedOtherThan, upsertImportedRepository } from '../db/queries/repositories.js';
import { repositoryUrlSetting } from '../db/queries/settings.js';
import type { WriteOutcome } from '../db/rows.js';
import { syncHooks, syncSchedules, type ChildCounts } from './apply-children.js';
import type { ImportPlan, PlannedJob, PlannedRepository } from './plan-types.js';

/** How many rows of each table an outcome applies to. */
export interface ApplyCounts {
  devices: number;
  repositories: number;
  jobs: number;
  schedules: number;
  hooks: number;
}

export interface ApplyResult {
  created: ApplyCounts;
  updated: ApplyCounts;
  /** Only schedules are ever deleted (import-managed ones Relica no longer has). */
  deleted: ApplyCounts;
  unchanged: ApplyCounts;
}

const zero = (): ApplyCounts => ({ devices: 0, repositories: 0, jobs: 0, schedules: 0, hooks: 0 });
type Outcome = WriteOutcome;

/** The repository id the jobs get (null = the repository_url setting), and what was written. */
async function resolveRepository(
  tx: Queryable,
  plan: ImportPlan,
): Promise<{ id: string | null; set: boolean; outcome: Outcome | null }> {
  const r: PlannedRepository = plan.repository;
  if (r.kind === 'new') {
    const clash = await repositoryNamedOtherThan(tx, r.name, r.id);
    if (clash !== null)
      throw new AppError('CONFLICT', `a repository named "${r.name}" already exists with id ${clash}; rename it first`);
    const pw = r.password;
    const outcome = await upsertImportedRepository(tx, {
      id: r.id,
      name: r.name,
      url: r.url,
      password: pw.kind === 'value' ? pw.password : null,
      passwordFile: pw.kind === 'file' ? pw.path : null,
      passwordCommand: pw.kind === 'command' ? pw.command : null,
    });
    return { id: r.id, set: true, outcome };
  }
  if (r.destinationId !== null && (await repositoryExists(tx, r.destinationId)))
    return { id: r.destinationId, set: false, outcome: null };
  if (((await repositoryUrlSetting(tx, plan.device.id)) ?? '').trim() !== '')
    return { id: null, set: false, outcome: null };
  const ids = plan.jobs.map((j) => j.id);
  if (ids.length > 0 && (await countJobsWithRepository(tx, ids)) === ids.length)
    return { id: null, set: false, outcome: null };
  throw new AppError(
    'INVALID_INPUT',
    `no restic repository is configured for device "${plan.device.name}": pass --repository-url with --password-file, ` +
      '--password-command or the password prompt (the Relica destination is described in the dry-run under "Not carried over"), ' +
      'or set the repository_url setting first',
  );
}

async function upsertJob(
  tx: Queryable,
  plan: ImportPlan,
  job: PlannedJob,
  repo: { id: string | null; set: boolean },
): Promise<Outcome> {
  const sameName = await jobNamedOtherThan(tx, plan.device.id, job.name, job.id);
  if (sameName !== null) {
    throw new AppError(
      'CONFLICT',
      `job name "${job.name}" is already used on device ${plan.device.id} by job ${sameName}; rename or remove that job first`,
    );
  }
  const other = await jobDeviceOtherThan(tx, job.id, plan.device.id);
  if (other !== null) {
    throw new AppError('CONFLICT', `job ${job.id} ("${job.name}") already belongs to device ${other}; it is not moved`);
  }
  return upsertImportedJob(tx, {
    id: job.id,
    deviceId: plan.device.id,
    name: job.name,
    sourcePaths: job.sourcePaths,
    excludePatterns: job.excludePatterns,
    tags: job.tags,
    relica: job.relica,
    originName: job.originName,
    originId: job.originId,
    accountId: job.accountId,
    repositoryId: repo.id,
    setRepository: repo.set,
    retention: job.retention,
  });
}

function addChildren(result: ApplyResult, kind: 'schedules' | 'hooks', c: ChildCounts): void {
  result.created[kind] += c.created;
  result.updated[kind] += c.updated;
  result.deleted[kind] += c.deleted;
  result.unchanged[kind] += c.unchanged;
}

/** C26: relative repository URL, password file or source paths are refused before anything is written. */
function importProblems(plan: ImportPlan): string[] {
  const r = plan.repository;
  const problems =
    r.kind === 'new'
      ? repositoryValueProblems({ url: r.url, passwordFile: r.password.kind === 'file' ? r.password.path : null })
      : [];
  for (const j of plan.jobs)
    problems.push(
      ...jobValueProblems({ sourcePaths: j.sourcePaths, excludePatterns: j.excludePatterns }).map(
        (p) => `job "${j.name}": ${p}`,
      ),
    );
  return problems;
}

/**
 * Write `plan` (from planImport) into `db` in ONE transaction: device, repository (when the plan
 * carries one), jobs, their schedules and hooks. Returns per-table counts of rows created,
 * updated, deleted and unchanged. Never call it for `--dry-run`.
 * Errors (nothing is written): INVALID_INPUT when no repository is given and none is configured;
 * CONFLICT when a job name or a repository name is taken by another row, or a job id belongs to
 * another device; DB_QUERY from the database.
 */
export async function applyImportPlan(db: Database, plan: ImportPlan): Promise<ApplyResult> {
  const problems = importProblems(plan);
  if (problems.length > 0) throw new AppError('INVALID_INPUT', `the import was not written: ${problems.join('; ')}`);
  return db.transaction(async (tx) => {
    const result: ApplyResult = { created: zero(), updated: zero(), deleted: zero(), unchanged: zero() };
    const device = { id: plan.device.id, name: plan.device.name, platform: plan.device.platform };
    result[
      await upsertImportedDevice(tx, {
        ...device,
        relica: { origin_id: plan.device.id, origin_name: plan.device.name },
      })
    ].devices++;
    const repo = await resolveRepository(tx, plan);
    if (repo.outcome !== null) result[repo.outcome].repositories++;
    for (const job of plan.jobs) {
      result[await upsertJob(tx, plan, job, repo)].jobs++;
      addChildren(result, 'schedules', await syncSchedules(tx, job.id, job.schedules));
      addChildren(result, 'hooks', await syncHooks(tx, job.id, job.hooks));
    }
    return result;
  });
}
