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
type Outcome = 'created' | 'updated' | 'unchanged';

async function upsertDevice(tx: Queryable, plan: ImportPlan): Promise<Outcome> {
  const relica = JSON.stringify({ origin_id: plan.device.id, origin_name: plan.device.name });
  const ins = await tx.query(
    `INSERT INTO devices (id, name, platform, enabled, metadata, created_at, updated_at)
     VALUES ($1, $2, $3, true, jsonb_build_object('relica', $4::jsonb), now(), now())
     ON CONFLICT (id) DO NOTHING RETURNING id`,
    [plan.device.id, plan.device.name, plan.device.platform, relica],
  );
  if (ins.rows.length > 0) return 'created';
  const upd = await tx.query(
    `UPDATE devices SET metadata = coalesce(metadata, '{}'::jsonb) || jsonb_build_object('relica', $2::jsonb), updated_at = now()
     WHERE id = $1 AND (metadata->'relica') IS DISTINCT FROM $2::jsonb RETURNING id`,
    [plan.device.id, relica],
  );
  return upd.rows.length > 0 ? 'updated' : 'unchanged';
}

/** The repository id the jobs get (null = the repository_url setting), and what was written. */
async function resolveRepository(tx: Queryable, plan: ImportPlan): Promise<{ id: string | null; set: boolean; outcome: Outcome | null }> {
  const r: PlannedRepository = plan.repository;
  if (r.kind === 'new') {
    const clash = await tx.query<{ id: string }>('SELECT id FROM repositories WHERE name = $1 AND id <> $2::uuid', [r.name, r.id]);
    if (clash.rows.length > 0) throw new AppError('CONFLICT', `a repository named "${r.name}" already exists with id ${clash.rows[0]?.id}; rename it first`);
    const pw = r.password;
    const res = await tx.query<{ inserted: boolean }>(
      `INSERT INTO repositories (id, name, url, password, password_file, password_command, created_at, updated_at)
       VALUES ($1::uuid, $2, $3, $4, $5, $6, now(), now())
       ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, url = EXCLUDED.url, password = EXCLUDED.password,
         password_file = EXCLUDED.password_file, password_command = EXCLUDED.password_command, updated_at = now()
       WHERE (repositories.name, repositories.url, repositories.password, repositories.password_file, repositories.password_command)
         IS DISTINCT FROM (EXCLUDED.name, EXCLUDED.url, EXCLUDED.password, EXCLUDED.password_file, EXCLUDED.password_command)
       RETURNING (xmax = 0) AS inserted`,
      [r.id, r.name, r.url, pw.kind === 'value' ? pw.password : null, pw.kind === 'file' ? pw.path : null, pw.kind === 'command' ? pw.command : null],
    );
    return { id: r.id, set: true, outcome: res.rows.length === 0 ? 'unchanged' : res.rows[0]?.inserted ? 'created' : 'updated' };
  }
  if (r.destinationId !== null) {
    const earlier = await tx.query('SELECT 1 FROM repositories WHERE id = $1::uuid', [r.destinationId]);
    if (earlier.rows.length > 0) return { id: r.destinationId, set: false, outcome: null };
  }
  const urls = await tx.query<{ device_id: string | null; value: string | null }>(
    "SELECT device_id, value FROM settings WHERE key = 'repository_url' AND (device_id IS NULL OR device_id = $1)",
    [plan.device.id],
  );
  const own = urls.rows.find((s) => s.device_id !== null) ?? urls.rows.find((s) => s.device_id === null);
  if ((own?.value ?? '').trim() !== '') return { id: null, set: false, outcome: null };
  const ids = plan.jobs.map((j) => j.id);
  const covered = await tx.query('SELECT 1 FROM backup_jobs WHERE id = ANY($1::uuid[]) AND repository_id IS NOT NULL', [ids]);
  if (ids.length > 0 && covered.rows.length === ids.length) return { id: null, set: false, outcome: null };
  throw new AppError('INVALID_INPUT',
    `no restic repository is configured for device "${plan.device.name}": pass --repository-url with --password-file, ` +
    '--password-command or the password prompt (the Relica destination is described in the dry-run under "Not carried over"), ' +
    'or set the repository_url setting first');
}

async function upsertJob(tx: Queryable, plan: ImportPlan, job: PlannedJob, repo: { id: string | null; set: boolean }): Promise<Outcome> {
  const sameName = await tx.query<{ id: string }>('SELECT id FROM backup_jobs WHERE device_id = $1 AND name = $2 AND id <> $3::uuid', [plan.device.id, job.name, job.id]);
  if (sameName.rows.length > 0) {
    throw new AppError('CONFLICT', `job name "${job.name}" is already used on device ${plan.device.id} by job ${sameName.rows[0]?.id}; rename or remove that job first`);
  }
  const other = await tx.query<{ device_id: string }>('SELECT device_id FROM backup_jobs WHERE id = $1::uuid AND device_id <> $2', [job.id, plan.device.id]);
  if (other.rows.length > 0) {
    throw new AppError('CONFLICT', `job ${job.id} ("${job.name}") already belongs to device ${other.rows[0]?.device_id}; it is not moved`);
  }
  const relica = JSON.stringify(job.relica);
  const res = await tx.query<{ inserted: boolean }>(
    `INSERT INTO backup_jobs (id, device_id, name, source_paths, exclude_patterns, tags, repository_id, enabled, metadata,
       origin_name, origin_id, account_id, created_at, updated_at)
     VALUES ($1::uuid, $2, $3, $4::text[], $5::text[], $6::text[], $7::uuid, true, jsonb_build_object('relica', $8::jsonb),
       $9, $10::uuid, $11::uuid, now(), now())
     ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, source_paths = EXCLUDED.source_paths,
       exclude_patterns = EXCLUDED.exclude_patterns,
       repository_id = CASE WHEN $12::boolean THEN EXCLUDED.repository_id ELSE backup_jobs.repository_id END,
       metadata = coalesce(backup_jobs.metadata, '{}'::jsonb) || jsonb_build_object('relica', $8::jsonb),
       origin_name = EXCLUDED.origin_name, origin_id = EXCLUDED.origin_id, account_id = EXCLUDED.account_id, updated_at = now()
     WHERE (backup_jobs.name, backup_jobs.source_paths, coalesce(backup_jobs.exclude_patterns, '{}'::text[]), backup_jobs.origin_name,
         backup_jobs.origin_id, backup_jobs.account_id, backup_jobs.metadata->'relica')
       IS DISTINCT FROM (EXCLUDED.name, EXCLUDED.source_paths, EXCLUDED.exclude_patterns, EXCLUDED.origin_name,
         EXCLUDED.origin_id, EXCLUDED.account_id, $8::jsonb)
       OR ($12::boolean AND backup_jobs.repository_id IS DISTINCT FROM EXCLUDED.repository_id)
     RETURNING (xmax = 0) AS inserted`,
    [job.id, plan.device.id, job.name, job.sourcePaths, job.excludePatterns, job.tags, repo.id, relica,
      job.originName, job.originId, job.accountId, repo.set],
  );
  return res.rows.length === 0 ? 'unchanged' : res.rows[0]?.inserted ? 'created' : 'updated';
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
  const problems = r.kind === 'new'
    ? repositoryValueProblems({ url: r.url, passwordFile: r.password.kind === 'file' ? r.password.path : null })
    : [];
  for (const j of plan.jobs) problems.push(...jobValueProblems({ sourcePaths: j.sourcePaths, excludePatterns: j.excludePatterns }).map((p) => `job "${j.name}": ${p}`));
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
    result[await upsertDevice(tx, plan)].devices++;
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
