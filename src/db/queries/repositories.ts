/**
 * `repositories` rows (CONTRACTS §3): optional per-job restic repositories, for the admin CLI/API.
 */
import { AppError } from '../../errors.js';
import type { Queryable } from '../database.js';
import { sqlState } from '../db-errors.js';
import { isUuid, toIso, toObject, toStr, upsertOutcome, type WriteOutcome } from '../rows.js';

export interface Repository {
  id: string;
  name: string;
  url: string;
  password: string | null;
  passwordFile: string | null;
  passwordCommand: string | null;
  cacheDir: string | null;
  env: Record<string, string>;
  /** Maintenance schedules (migration 011): cron, 'off', or null = the global setting. */
  pruneSchedule: string | null;
  checkSchedule: string | null;
  checkReadDataSubset: string | null;
  createdAt: string;
  updatedAt: string;
}

/** Map a `repositories` row (env values are stringified). */
export function mapRepository(r: Record<string, unknown>): Repository {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(toObject(r.env))) env[k] = typeof v === 'string' ? v : JSON.stringify(v);
  return {
    id: String(r.id),
    name: String(r.name),
    url: String(r.url),
    password: toStr(r.password),
    passwordFile: toStr(r.password_file),
    passwordCommand: toStr(r.password_command),
    cacheDir: toStr(r.cache_dir),
    env,
    pruneSchedule: toStr(r.prune_schedule),
    checkSchedule: toStr(r.check_schedule),
    checkReadDataSubset: toStr(r.check_read_data_subset),
    createdAt: toIso(r.created_at) ?? '',
    updatedAt: toIso(r.updated_at) ?? '',
  };
}

export interface AddRepositoryInput {
  id?: string | undefined;
  name: string;
  url: string;
  password?: string | null | undefined;
  passwordFile?: string | null | undefined;
  passwordCommand?: string | null | undefined;
  cacheDir?: string | null | undefined;
  env?: Record<string, string> | undefined;
}

/** Insert a repository. Throws AppError CONFLICT when the name (or id) is taken. */
export async function addRepository(db: Queryable, r: AddRepositoryInput): Promise<Repository> {
  try {
    const { rows } = await db.query(
      `INSERT INTO repositories (id, name, url, password, password_file, password_command, cache_dir, env)
       VALUES (COALESCE($1::uuid, gen_random_uuid()), $2, $3, $4, $5, $6, $7, $8::jsonb) RETURNING *`,
      [
        r.id ?? null,
        r.name,
        r.url,
        r.password ?? null,
        r.passwordFile ?? null,
        r.passwordCommand ?? null,
        r.cacheDir ?? null,
        JSON.stringify(r.env ?? {}),
      ],
    );
    return mapRepository(rows[0] as Record<string, unknown>);
  } catch (err) {
    if (sqlState((err as Error).cause) === '23505')
      throw new AppError('CONFLICT', `repository "${r.name}" already exists`, { cause: err });
    throw err;
  }
}

/** All repositories, by name. */
export async function listRepositories(db: Queryable): Promise<Repository[]> {
  const { rows } = await db.query('SELECT * FROM repositories ORDER BY name');
  return rows.map(mapRepository);
}

/** A repository by id or name, or null. */
export async function getRepository(db: Queryable, idOrName: string): Promise<Repository | null> {
  const { rows } = isUuid(idOrName)
    ? await db.query('SELECT * FROM repositories WHERE id = $1 OR name = $1::text', [idOrName])
    : await db.query('SELECT * FROM repositories WHERE name = $1', [idOrName]);
  return rows[0] ? mapRepository(rows[0]) : null;
}

/**
 * Delete a repository by id or name, with its repository-level runs. Returns false when none
 * matched. Throws AppError CONFLICT when jobs still use it (they must be moved first; a job never
 * silently changes repository).
 */
export async function removeRepository(db: Queryable, idOrName: string): Promise<boolean> {
  const repo = await getRepository(db, idOrName);
  if (!repo) return false;
  try {
    // Its repository-level runs (prune, check: job_id NULL) go with it, in the same statement (a
    // failed delete keeps them); a job's runs keep their history with repository_id NULL (migration 008).
    const { rowCount } = await db.query(
      `WITH gone AS (DELETE FROM runs WHERE repository_id = $1 AND job_id IS NULL)
       DELETE FROM repositories WHERE id = $1`,
      [repo.id],
    );
    return rowCount > 0;
  } catch (err) {
    const code = sqlState((err as Error).cause);
    if (code === '23503' || code === '23001') {
      // 23001 restrict_violation: PostgreSQL 18 for ON DELETE RESTRICT
      throw new AppError(
        'CONFLICT',
        `repository "${repo.name}" is still used by backup jobs; change their repository_id first`,
        { cause: err },
      );
    }
    throw err;
  }
}

/** Which of `ids` are repository ids (lower-case), for checking references before a write. */
export async function existingRepositoryIds(db: Queryable, ids: readonly string[]): Promise<Set<string>> {
  if (ids.length === 0) return new Set();
  const { rows } = await db.query('SELECT id FROM repositories WHERE id = ANY($1::uuid[])', [ids]);
  return new Set(rows.map((r) => String(r.id).toLowerCase()));
}

/** Does a repository with this id exist? */
export async function repositoryExists(db: Queryable, id: string): Promise<boolean> {
  const { rows } = await db.query('SELECT 1 FROM repositories WHERE id = $1::uuid', [id]);
  return rows.length > 0;
}

/** The id of another repository (not `exceptId`) named `name`, or null. */
export async function repositoryNamedOtherThan(db: Queryable, name: string, exceptId: string): Promise<string | null> {
  const { rows } = await db.query('SELECT id FROM repositories WHERE name = $1 AND id <> $2::uuid', [name, exceptId]);
  return rows[0] ? String(rows[0].id) : null;
}

/** A repository as the Relica import writes it: exactly one of the three password sources is set. */
export type ImportedRepository = Pick<
  Repository,
  'id' | 'name' | 'url' | 'password' | 'passwordFile' | 'passwordCommand'
>;

/** The Relica import's repository row: inserted, or updated only when name, URL or password source differ. */
export async function upsertImportedRepository(db: Queryable, r: ImportedRepository): Promise<WriteOutcome> {
  const { rows } = await db.query<{ inserted: boolean }>(
    `INSERT INTO repositories (id, name, url, password, password_file, password_command, created_at, updated_at)
     VALUES ($1::uuid, $2, $3, $4, $5, $6, now(), now())
     ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, url = EXCLUDED.url, password = EXCLUDED.password,
       password_file = EXCLUDED.password_file, password_command = EXCLUDED.password_command, updated_at = now()
     WHERE (repositories.name, repositories.url, repositories.password, repositories.password_file, repositories.password_command)
       IS DISTINCT FROM (EXCLUDED.name, EXCLUDED.url, EXCLUDED.password, EXCLUDED.password_file, EXCLUDED.password_command)
     RETURNING (xmax = 0) AS inserted`,
    [r.id, r.name, r.url, r.password, r.passwordFile, r.passwordCommand],
  );
  return upsertOutcome(rows);
}
