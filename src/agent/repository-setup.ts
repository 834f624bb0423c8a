/**
 * Adding a repository from the UI (issue 16): URL and password only (password_command, env and
 * cache_dir stay admin-only, issue 15). `init` creates a new restic repository; otherwise the
 * existing one is opened (`restic cat config`) as a connection test. Nothing is stored unless restic
 * succeeded. The password goes to restic in RESTIC_PASSWORD (environment), never in arguments.
 */
import * as z from 'zod';
import { catConfig } from '../restic/cat-config.js';
import { connectionFromRepository } from '../restic/connection.js';
import { isResticError } from '../restic/errors.js';
import { init } from '../restic/init.js';
import type { Clock } from '../clock.js';
import { repositoryValueProblems } from '../config/input-check.js';
import type { Queryable } from '../db/database.js';
import { addRepository, getRepository } from '../db/index.js';
import { AppError, type FieldError } from '../errors.js';

/** restic init / cat config on a remote may take a while; bounded all the same (seconds). */
export const REPOSITORY_COMMAND_TIMEOUT_SECONDS = 120;

export const repositoryInputSchema = z.strictObject({
  name: z.string().trim().min(1, 'must not be empty').max(255, 'must be at most 255 characters'),
  url: z.string().trim().min(1, 'must not be empty').max(4096, 'must be at most 4096 characters'),
  password: z.string().min(1, 'must not be empty').max(4096, 'must be at most 4096 characters'),
  /** true: `restic init` a new repository; false: open an existing one. */
  init: z.boolean(),
  /** true: only test (init is refused with it); nothing is stored. */
  test_only: z.boolean().default(false),
});
export type RepositoryInput = z.infer<typeof repositoryInputSchema>;

export interface RepositorySetupDeps {
  db: Queryable;
  clock: Clock;
  dataDir: string;
  resticPath: string | null;
}

/**
 * Tests (and with init, creates) the repository, then stores it. Resolves with the stored row's id
 * and name, or field errors naming what is wrong (a failed restic command is an error on `url`).
 */
export async function setUpRepository(
  deps: RepositorySetupDeps,
  input: RepositoryInput,
): Promise<{ ok: true; id: string | null; name: string; tested: true } | { ok: false; errors: FieldError[] }> {
  const problems = repositoryValueProblems({ url: input.url });
  if (problems.length > 0) return { ok: false, errors: problems.map((message) => ({ field: 'url', message })) };
  if (input.init && input.test_only)
    return { ok: false, errors: [{ field: 'test_only', message: 'a new repository is tested by creating it' }] };
  if (!input.test_only && (await getRepository(deps.db, input.name)))
    return { ok: false, errors: [{ field: 'name', message: `a repository named "${input.name}" already exists` }] };
  if (!deps.resticPath) throw new AppError('RESTIC_FAILED', 'restic cannot be run on this device');
  const conn = connectionFromRepository(
    {
      name: input.name,
      url: input.url,
      password: input.password,
      passwordFile: null,
      passwordCommand: null,
      cacheDir: null,
      env: {},
    },
    { resticBinary: deps.resticPath, dataDir: deps.dataDir, agentEnv: process.env },
  );
  const call = { clock: deps.clock, timeoutSeconds: REPOSITORY_COMMAND_TIMEOUT_SECONDS };
  try {
    if (input.init) await init(conn, {}, call);
    else await catConfig(conn, call);
  } catch (err) {
    if (!isResticError(err)) throw err;
    const why = err.stderrTail.trim().split('\n').pop()?.slice(0, 300) || err.message;
    const message = input.init
      ? `restic init failed: ${why}`
      : `cannot open the repository: ${why}${err.kind === 'repository_missing' ? ' (no repository there; tick "create it")' : ''}`;
    return { ok: false, errors: [{ field: err.kind === 'wrong_password' ? 'password' : 'url', message }] };
  }
  if (input.test_only) return { ok: true, id: null, name: input.name, tested: true };
  const row = await addRepository(deps.db, { name: input.name, url: input.url, password: input.password });
  return { ok: true, id: row.id, name: row.name, tested: true };
}
