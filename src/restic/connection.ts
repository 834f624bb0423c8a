/**
 * A repository connection: everything a restic command needs to reach one repository, as plain
 * values (no config objects, no database rows). Built once where rbackup2's config meets restic
 * (`connectionFromRepository`), then handed to every command module of src/restic.
 *
 * The secret never goes into process arguments: `password` becomes RESTIC_PASSWORD,
 * RESTIC_PASSWORD_FILE or RESTIC_PASSWORD_COMMAND in the child's environment (environment.ts).
 */
import path from 'node:path';
import { AppError } from '../errors.js';
import { baseChildEnv, resticCacheDir, resticEnv } from './environment.js';
import type { ResticVersion } from './version.js';

/** Where restic gets the repository password from (restic's three environment variables). */
export type PasswordSource =
  { kind: 'value'; value: string } | { kind: 'file'; value: string } | { kind: 'command'; value: string };

export interface RepositoryConnection {
  /** The restic binary: a name on PATH or a full path. */
  resticBinary: string;
  /** That binary's version when known (feature gating); null = assume the oldest supported (0.14). */
  version: ResticVersion | null;
  /** The repository's name, for messages only. */
  name: string;
  /** RESTIC_REPOSITORY: a path, `sftp:...`, `s3:...`, `rest:...`. */
  url: string;
  password: PasswordSource;
  /** RESTIC_CACHE_DIR, absolute. */
  cacheDir: string;
  /** Extra environment for this repository (cloud credentials); RESTIC_* names rbackup2 owns are ignored. */
  env: Readonly<Record<string, string>>;
  /** The allow-listed part of the agent's environment (environment.ts baseChildEnv). */
  baseEnv: Readonly<Record<string, string>>;
  /** Working folder of the child (default: the agent's). */
  cwd?: string;
}

/** The repository fields a connection is made from (a RepositoryConfig fits). */
export interface RepositorySource {
  name: string;
  url: string;
  password: string | null;
  passwordFile: string | null;
  passwordCommand: string | null;
  cacheDir: string | null;
  env: Readonly<Record<string, string>>;
}

export interface ConnectionContext {
  resticBinary: string;
  version?: ResticVersion | null;
  /** client.data_dir; the default cache folder is `<dataDir>/restic-cache` (C24). Made absolute. */
  dataDir: string;
  /** The agent's process environment (process.env at the edge); RESTIC_* in it is never passed on. */
  agentEnv: Readonly<Record<string, string | undefined>>;
  cwd?: string;
}

/**
 * The connection of `repo`. The password source is the first set of password, password file,
 * password command (that priority, CONTRACTS §4). Throws AppError('INVALID_INPUT') naming the
 * repository when it has no URL or no password source.
 */
export function connectionFromRepository(repo: RepositorySource, ctx: ConnectionContext): RepositoryConnection {
  if (!repo.url.trim()) throw new AppError('INVALID_INPUT', `repository "${repo.name}" has no URL`);
  let password: PasswordSource;
  if (repo.password !== null && repo.password !== '') password = { kind: 'value', value: repo.password };
  else if (repo.passwordFile) password = { kind: 'file', value: repo.passwordFile };
  else if (repo.passwordCommand) password = { kind: 'command', value: repo.passwordCommand };
  else
    throw new AppError('INVALID_INPUT', `repository "${repo.name}" has no password, password file or password command`);
  const dataDir = path.resolve(ctx.dataDir);
  return {
    resticBinary: ctx.resticBinary,
    version: ctx.version ?? null,
    name: repo.name,
    url: repo.url,
    password,
    cacheDir: resticCacheDir(repo, dataDir),
    env: { ...repo.env },
    baseEnv: baseChildEnv(ctx.agentEnv),
    ...(ctx.cwd ? { cwd: ctx.cwd } : {}),
  };
}

/**
 * The restic child environment for a repository in one step (connectionFromRepository +
 * resticEnv); the binary does not matter here. Same errors as connectionFromRepository.
 */
export function buildResticEnv(input: {
  repository: RepositorySource;
  dataDir: string;
  agentEnv: Readonly<Record<string, string | undefined>>;
}): Record<string, string> {
  return resticEnv(connectionFromRepository(input.repository, { ...input, resticBinary: 'restic' }));
}
