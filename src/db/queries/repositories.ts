/**
 * `repositories` rows (CONTRACTS §3): optional per-job restic repositories, for the admin CLI/API.
 */
import { AppError } from '../../errors.js';
import type { Queryable } from '../database.js';
import { sqlState } from '../db-errors.js';
import { isUuid, toIso, toObject, toStr } from '../rows.js';

export interface Repository {
  id: string;
  name: string;
  url: string;
  password: string | null;
  passwordFile: string | null;
  passwordCommand: string | null;
  cacheDir: string | null;
  env: Record<string, string>;
  createdAt: string;
  updatedAt: string;
}

/** Map a `repositories` row (env values are stringified). */
export function mapRepository(r: Record<string, unknown>): Repository {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(toObject(r.env))) env[k] = typeof v === 'string' ? v : JSON.stringify(v);
  return {
    id: String(r.id), name: String(r.name), url: String(r.url), password: toStr(r.password),
    passwordFile: toStr(r.password_file), passwordCommand: toStr(r.password_command), cacheDir: toStr(r.cache_dir),
    env, createdAt: toIso(r.created_at) ?? '', updatedAt: toIso(r.updated_at) ?? '',
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
      [r.id ?? null, r.name, r.url, r.password ?? null, r.passwordFile ?? null, r.passwordCommand ?? null, r.cacheDir ?? null, JSON.stringify(r.env ?? {})],
    );
    return mapRepository(rows[0] as Record<string, unknown>);
  } catch (err) {
    if (sqlState((err as Error).cause) === '23505') throw new AppError('CONFLICT', `repository "${r.name}" already exists`, { cause: err });
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
 * Delete a repository by id or name. Returns false when none matched. Throws AppError CONFLICT
 * when jobs still use it (they must be moved first; a job never silently changes repository).
 */
export async function removeRepository(db: Queryable, idOrName: string): Promise<boolean> {
  const repo = await getRepository(db, idOrName);
  if (!repo) return false;
  try {
    const { rowCount } = await db.query('DELETE FROM repositories WHERE id = $1', [repo.id]);
    return rowCount > 0;
  } catch (err) {
    const code = sqlState((err as Error).cause);
    if (code === '23503' || code === '23001') { // 23001 restrict_violation: PostgreSQL 18 for ON DELETE RESTRICT
      throw new AppError('CONFLICT', `repository "${repo.name}" is still used by backup jobs; change their repository_id first`, { cause: err });
    }
    throw err;
  }
}
