/**
 * The environment of a restic child process (CONTRACTS §4, cases C13, C24). Pure: the agent's own
 * environment is passed in. Nothing RESTIC_* is inherited from the agent: an exported
 * RESTIC_PASSWORD on the service account must never override or leak into a job's repository.
 */
import path from 'node:path';
import type { RepositoryConnection } from './connection.js';

/** Variables copied from the agent's environment (exact names; matched case-insensitively). */
const ALLOWED_NAMES: readonly string[] = [
  'PATH',
  'HOME',
  'USER',
  'LOGNAME',
  'SHELL',
  'LANG',
  'LANGUAGE',
  'TZ',
  'TMPDIR',
  'TEMP',
  'TMP',
  'SystemRoot',
  'SystemDrive',
  'windir',
  'APPDATA',
  'LOCALAPPDATA',
  'USERPROFILE',
  'USERNAME',
  'USERDOMAIN',
  'ProgramData',
  'ProgramFiles',
  'ProgramFiles(x86)',
  'CommonProgramFiles',
  'ComSpec',
  'PATHEXT',
  'HOMEDRIVE',
  'HOMEPATH',
  'COMPUTERNAME',
  'NUMBER_OF_PROCESSORS',
  'PROCESSOR_ARCHITECTURE',
  'HTTP_PROXY',
  'HTTPS_PROXY',
  'NO_PROXY',
  'SSL_CERT_FILE',
  'SSL_CERT_DIR',
];
const ALLOWED_LOWER: ReadonlySet<string> = new Set(ALLOWED_NAMES.map((n) => n.toLowerCase()));
const ALLOWED_PREFIXES: readonly string[] = ['lc_'];

/** Variables that only rbackup2 sets (from the repository config), never the repository env. */
const OWNED_BY_AGENT: ReadonlySet<string> = new Set([
  'RESTIC_REPOSITORY',
  'RESTIC_REPOSITORY_FILE',
  'RESTIC_PASSWORD',
  'RESTIC_PASSWORD_FILE',
  'RESTIC_PASSWORD_COMMAND',
  'RESTIC_CACHE_DIR',
  'RESTIC_PROGRESS_FPS',
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
export function resticCacheDir(repository: { cacheDir?: string | null }, dataDir: string): string {
  const configured = repository.cacheDir?.trim();
  return configured ? configured : path.join(dataDir, 'restic-cache');
}

/**
 * Environment for a restic child of `conn`: its `baseEnv` (allow-listed agent variables), then its
 * extra `env` (cloud credentials; any RESTIC_* in it that rbackup2 owns is ignored), then
 * RESTIC_REPOSITORY, exactly one of RESTIC_PASSWORD / RESTIC_PASSWORD_FILE /
 * RESTIC_PASSWORD_COMMAND, RESTIC_CACHE_DIR and RESTIC_PROGRESS_FPS. Pure.
 */
export function resticEnv(conn: RepositoryConnection): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(conn.baseEnv)) {
    if (!key.toLowerCase().startsWith('restic_')) env[key] = value;
  }
  for (const [key, value] of Object.entries(conn.env)) {
    if (OWNED_BY_AGENT.has(key.toUpperCase())) continue;
    if (typeof value === 'string') env[key] = value;
  }
  env.RESTIC_REPOSITORY = conn.url;
  const p = conn.password;
  if (p.kind === 'value') env.RESTIC_PASSWORD = p.value;
  else if (p.kind === 'file') env.RESTIC_PASSWORD_FILE = p.value;
  else env.RESTIC_PASSWORD_COMMAND = p.value;
  env.RESTIC_CACHE_DIR = conn.cacheDir;
  env.RESTIC_PROGRESS_FPS = PROGRESS_FPS;
  return env;
}
