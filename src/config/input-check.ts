/**
 * Checks of job and repository values when they are saved (API POST /config, `rbackup2 job add`,
 * `repo add`, Relica import), cases C26 and C30: anything relative would resolve against whatever
 * folder the agent happens to start in, and restic_args may not take over what rbackup2 controls.
 * Pure. Each problem is one sentence naming the field and the value.
 */
import { checkResticArgs } from '../restic/backup-options.js';

/** Absolute on any platform a job may run on: `/x`, `C:\x`, `C:/x`, `\\server\share`. */
export function isAbsoluteAnywhere(p: string): boolean {
  return p.startsWith('/') || /^[A-Za-z]:[\\/]/.test(p) || /^\\\\[^\\]/.test(p) || /^\/\/[^/]/.test(p);
}

export interface JobValues {
  sourcePaths?: readonly string[] | undefined;
  excludePatterns?: readonly string[] | undefined;
  resticArgs?: readonly string[] | undefined;
}

/** Problems of a job's source paths, exclude patterns and restic_args (empty = fine). */
export function jobValueProblems(j: JobValues): string[] {
  const problems: string[] = [];
  for (const p of j.sourcePaths ?? []) {
    if (p.trim() !== '' && !isAbsoluteAnywhere(p))
      problems.push(`source path "${p}" is relative; give the full path (e.g. /home/user/${p.replace(/^\.\//, '')})`);
  }
  for (const e of j.excludePatterns ?? []) {
    if (/^\.\.?[\\/]/.test(e))
      problems.push(
        `exclude pattern "${e}" is relative to a working folder and would never match; write it without "./" or as a full path`,
      );
  }
  if (j.resticArgs) problems.push(...checkResticArgs(j.resticArgs).problems);
  return problems;
}

export interface RepositoryValues {
  url?: string | null | undefined;
  passwordFile?: string | null | undefined;
  cacheDir?: string | null | undefined;
}

/** restic backends written `<backend>:<rest>` (restic 0.14 .. 0.18 location parsers). */
const BACKEND = /^(local|sftp|rest|s3|b2|azure|gs|swift|rclone):/;

/** Problems of a repository's URL, password file and cache folder (empty = fine). */
export function repositoryValueProblems(r: RepositoryValues): string[] {
  const problems: string[] = [];
  const url = r.url?.trim() ?? '';
  if (url !== '') {
    const m = BACKEND.exec(url);
    const local = !m ? url : m[1] === 'local' ? url.slice('local:'.length) : null;
    if (local !== null && !isAbsoluteAnywhere(local))
      problems.push(`repository URL "${url}" is a relative path; give the full path of the repository folder`);
  }
  if (r.passwordFile && !isAbsoluteAnywhere(r.passwordFile))
    problems.push(`password file "${r.passwordFile}" is a relative path; give the full path`);
  if (r.cacheDir && !isAbsoluteAnywhere(r.cacheDir))
    problems.push(`cache folder "${r.cacheDir}" is a relative path; give the full path`);
  return problems;
}

/** The problem of a `repository_url` / `repository_cache_dir` setting value, or null. */
export function repositorySettingProblem(key: string, value: string): string | null {
  if (key === 'repository_url') return repositoryValueProblems({ url: value })[0] ?? null;
  if (key === 'repository_cache_dir') return repositoryValueProblems({ cacheDir: value })[0] ?? null;
  return null;
}
