/**
 * The environment of a restic child process (CONTRACTS §4, cases C13, C24). Pure: the agent's own
 * environment is passed in. Nothing RESTIC_* is inherited from the agent: an exported
 * RESTIC_PASSWORD on the service account must never override or leak into a job's repository.
 */
import path from 'node:path';
import type { RepositoryConfig } from '../config/device-config.js';
import { AppError } from '../errors.js';

/** Variables copied from the agent's environment (exact names; matched case-insensitively). */
const ALLOWED_NAMES: readonly string[] = [
  'PATH', 'HOME', 'USER', 'LOGNAME', 'SHELL', 'LANG', 'LANGUAGE', 'TZ', 'TMPDIR', 'TEMP', 'TMP',
  'SystemRoot', 'SystemDrive', 'windir', 'APPDATA', 'LOCALAPPDATA', 'USERPROFILE', 'USERNAME',
  'USERDOMAIN', 'ProgramData', 'ProgramFiles', 'ProgramFiles(x86)', 'CommonProgramFiles', 'ComSpec',
  'PATHEXT', 'HOMEDRIVE', 'HOMEPATH', 'COMPUTERNAME', 'NUMBER_OF_PROCESSORS', 'PROCESSOR_ARCHITECTURE',
  'HTTP_PROXY', 'HTTPS_PROXY', 'NO_PROXY', 'SSL_CERT_FILE', 'SSL_CERT_DIR',
];
const ALLOWED_LOWER: ReadonlySet<string> = new Set(ALLOWED_NAMES.map((n) => n.toLowerCase()));
const ALLOWED_PREFIXES: readonly string[] = ['lc_'];

/** Variables that only rbackup2 sets (from the repository config), never the repository env. */
const OWNED_BY_AGENT: ReadonlySet<string> = new Set([
  'RESTIC_REPOSITORY', 'RESTIC_REPOSITORY_FILE', 'RESTIC_PASSWORD', 'RESTIC_PASSWORD_FILE',
  'RESTIC_PASSWORD_COMMAND', 'RESTIC_CACHE_DIR', 'RESTIC_PROGRESS_FPS',
]);

/** Status lines per second restic prints in --json mode: one every 2 s keeps output small (C15). */
export const PROGRESS_FPS = '0.5';

/** The part of the agent's environment every child (restic, hooks) may see. */
export function baseChildEnv(agentEnv: Readonly<Record<string, string | undefined>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(agentEnv)) {
    if (value === undefined) continue;
    const lower = key.toLowerCase();
    if (lower.startsWith('restic_')) continue;
    if (ALLOWED_LOWER.has(lower) || ALLOWED_PREFIXES.some((p) => lower.startsWith(p))) out[key] = value;
  }
  return out;
}

/** The cache folder restic gets: the repository's cacheDir, else `<dataDir>/restic-cache` (C24). */
export function resticCacheDir(repository: Pick<RepositoryConfig, 'cacheDir'>, dataDir: string): string {
  const configured = repository.cacheDir?.trim();
  return configured ? configured : path.join(dataDir, 'restic-cache');
}

export interface ResticEnvInput {
  repository: RepositoryConfig;
  /** client.data_dir, absolute. */
  dataDir: string;
  /** The agent's process environment (process.env at the edge). */
  agentEnv: Readonly<Record<string, string | undefined>>;
}

/**
 * Environment for a restic child: allow-listed agent variables, then the repository's own `env`
 * (cloud credentials; any RESTIC_* it holds that rbackup2 owns is ignored), then
 * RESTIC_REPOSITORY, exactly one of RESTIC_PASSWORD / RESTIC_PASSWORD_FILE /
 * RESTIC_PASSWORD_COMMAND (in that priority), RESTIC_CACHE_DIR and RESTIC_PROGRESS_FPS.
 * Throws AppError('INVALID_INPUT') when the repository has no URL or no password source.
 */
export function buildResticEnv(input: ResticEnvInput): Record<string, string> {
  const { repository } = input;
  if (!repository.url.trim()) {
    throw new AppError('INVALID_INPUT', `repository "${repository.name}" has no URL`);
  }
  const env = baseChildEnv(input.agentEnv);
  for (const [key, value] of Object.entries(repository.env)) {
    if (OWNED_BY_AGENT.has(key.toUpperCase())) continue;
    if (typeof value === 'string') env[key] = value;
  }
  env.RESTIC_REPOSITORY = repository.url;
  if (repository.password !== null && repository.password !== '') env.RESTIC_PASSWORD = repository.password;
  else if (repository.passwordFile) env.RESTIC_PASSWORD_FILE = repository.passwordFile;
  else if (repository.passwordCommand) env.RESTIC_PASSWORD_COMMAND = repository.passwordCommand;
  else throw new AppError('INVALID_INPUT', `repository "${repository.name}" has no password, password file or password command`);
  env.RESTIC_CACHE_DIR = resticCacheDir(repository, input.dataDir);
  env.RESTIC_PROGRESS_FPS = PROGRESS_FPS;
  return env;
}
