/**
 * Where a restore may write (issue 17, issue 15 "Access control"): the default target is a new
 * folder `<data_dir>/restores/<job>-<snapshot time>`; any other target only when every file it
 * writes lands inside one of the job's own source folders or below one of the admin's
 * `restore_roots` (a global or device setting, never set through the local API). Pure.
 */
import path from 'node:path';
import { AppError } from '../errors.js';
import { safeName } from './snapshot-paths.js';

/** `<dataDir>/restores`. */
export function restoresDir(dataDir: string): string {
  return path.join(path.resolve(dataDir), 'restores');
}

/** The default target of a restore of `jobName`'s snapshot taken at `snapshotTime` (ISO 8601). */
export function defaultTarget(dataDir: string, jobName: string, snapshotTime: string): string {
  const stamp = snapshotTime.replace(/\.\d+/, '').replace(/[:]/g, '-').replace(/Z$/, '');
  return path.join(restoresDir(dataDir), safeName(`${jobName}-${stamp}`));
}

/**
 * The `restore_roots` setting as a list of absolute folders: a JSON array, or folders separated by
 * newlines or `;`. Throws AppError('INVALID_INPUT') naming the setting for a relative folder.
 */
export function parseRestoreRoots(value: string | undefined | null): string[] {
  const text = (value ?? '').trim();
  if (text === '') return [];
  let list: unknown;
  if (text.startsWith('[')) {
    try {
      list = JSON.parse(text);
    } catch {
      throw new AppError('INVALID_INPUT', 'setting restore_roots: not a valid JSON array');
    }
  } else list = text.split(/[\n;]/);
  if (!Array.isArray(list)) throw new AppError('INVALID_INPUT', 'setting restore_roots: expected a list of folders');
  const out: string[] = [];
  for (const v of list) {
    const s = String(v).trim();
    if (s === '') continue;
    if (!path.isAbsolute(s))
      throw new AppError('INVALID_INPUT', `setting restore_roots: "${s}" is not an absolute path`);
    out.push(path.resolve(s));
  }
  return out;
}

function inside(child: string, root: string): boolean {
  const rel = path.relative(root, child);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

/** Where restic writes tree path `treePath` with `target`. */
export function destinationOf(target: string, treePath: string): string {
  return path.join(target, ...treePath.split('/').filter(Boolean));
}

export interface TargetRules {
  dataDir: string;
  /** The job's source folders (local form). */
  sourcePaths: readonly string[];
  restoreRoots: readonly string[];
}

/**
 * Check `target` for a restore of `treePaths`: absolute, and every destination inside the
 * restores folder, a source folder of the job, or a restore root. Throws AppError('INVALID_INPUT')
 * naming the target (and the first destination refused) otherwise.
 */
export function checkTarget(target: string, treePaths: readonly string[], rules: TargetRules): void {
  if (!path.isAbsolute(target))
    throw new AppError('INVALID_INPUT', `target "${target}" is not an absolute path`, {
      fields: [{ field: 'target', message: 'not an absolute path' }],
    });
  const roots = [restoresDir(rules.dataDir), ...rules.sourcePaths.map((p) => path.resolve(p)), ...rules.restoreRoots];
  for (const t of treePaths) {
    const dest = destinationOf(target, t);
    if (!roots.some((r) => inside(dest, r)))
      throw new AppError(
        'INVALID_INPUT',
        `target "${target}" is not allowed: ${dest} is outside the job's source folders, the restores folder ${restoresDir(rules.dataDir)} and the admin's restore_roots`,
        { fields: [{ field: 'target', message: 'not allowed' }] },
      );
  }
}
