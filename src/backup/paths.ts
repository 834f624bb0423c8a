/**
 * Source path normaliser (case C20, C14). Pure: the platform is a parameter so Windows rules are
 * unit-tested on Linux. Paths are otherwise passed to restic exactly as written (spaces,
 * non-ASCII, long paths): restic records them as given, and the snapshot's `paths` must equal
 * the job's `source_paths`.
 */
export type PathPlatform = 'win32' | 'posix';

export interface NormalizedSources {
  /** Paths to pass to restic, in the job's order, duplicates removed. */
  paths: string[];
  /** Notes for the run record (a path was rewritten). */
  warnings: string[];
  /** Paths refused, each with a sentence saying why and what to use instead. */
  errors: string[];
}

const DRIVE_ONLY = /^[A-Za-z]:$/;
const DRIVE_RELATIVE = /^[A-Za-z]:(?![\\/])/;
const DRIVE_ABSOLUTE = /^[A-Za-z]:[\\/]/;
// \\server\share or //server/share with nothing (or only a slash) after the share name.
const UNC_SHARE_ROOT = /^[\\/]{2}(?![?.][\\/])([^\\/]+)[\\/]+([^\\/]+)[\\/]*$/;
const UNC_SERVER_ONLY = /^[\\/]{2}(?![?.][\\/])[^\\/]+[\\/]*$/;
const UNC_ANY = /^[\\/]{2}[^\\/]/;
const VERBATIM = /^\\\\[?.]\\/;

/** Normalise one Windows path; returns the path or an error sentence. */
function normalizeWindows(p: string): { path?: string; warning?: string; error?: string } {
  if (DRIVE_ONLY.test(p)) {
    return {
      path: `${p}\\`,
      warning: `source "${p}" means the current folder on that drive; using the drive root "${p}\\"`,
    };
  }
  if (VERBATIM.test(p) || DRIVE_ABSOLUTE.test(p)) return { path: p };
  if (DRIVE_RELATIVE.test(p)) {
    return {
      error: `source "${p}" is relative to the current folder of drive ${p.slice(0, 2)}; write it as "${p.slice(0, 2)}\\${p.slice(2)}"`,
    };
  }
  const share = UNC_SHARE_ROOT.exec(p);
  if (share) {
    const root = `\\\\${share[1]}\\${share[2]}`;
    return {
      error: `source "${p}" is the root of a network share, which restic cannot back up; choose a folder inside it, e.g. "${root}\\<folder>"`,
    };
  }
  if (UNC_SERVER_ONLY.test(p))
    return {
      error: `source "${p}" names a server, not a folder; use a folder inside one of its shares, e.g. "${p.replace(/[\\/]+$/, '')}\\<share>\\<folder>"`,
    };
  if (UNC_ANY.test(p)) return { path: p };
  return { error: `source "${p}" is not an absolute path; use a full path such as "C:\\Users\\<name>\\Documents"` };
}

/**
 * Normalise a job's source paths for `platform`. Windows: `D:` -> `D:\` (with a warning), a share
 * root `\\nas\photos` or a bare server `\\nas` is refused with a suggested subfolder, `D:foo` and
 * relative paths are refused; everything else (including paths over 260 characters and `\\?\`
 * paths) is unchanged. Posix: absolute paths are unchanged; relative or empty ones are refused.
 */
export function normalizeSourcePaths(sources: readonly string[], platform: PathPlatform): NormalizedSources {
  const result: NormalizedSources = { paths: [], warnings: [], errors: [] };
  for (const source of sources) {
    if (source.trim() === '') {
      result.errors.push('an empty source path was given');
      continue;
    }
    if (source.includes('\0')) {
      result.errors.push(`source "${source.replace(/\0/g, '\\0')}" contains a NUL character`);
      continue;
    }
    let normalized: string | undefined;
    if (platform === 'win32') {
      const r = normalizeWindows(source);
      if (r.error) {
        result.errors.push(r.error);
        continue;
      }
      if (r.warning) result.warnings.push(r.warning);
      normalized = r.path;
    } else if (source.startsWith('/')) {
      normalized = source;
    } else {
      result.errors.push(`source "${source}" is not an absolute path (it must start with "/")`);
      continue;
    }
    if (normalized !== undefined && !result.paths.includes(normalized)) result.paths.push(normalized);
  }
  return result;
}

const RESTIC_WINDOWS_PATH = /^\/([A-Za-z])(?:\/(.*))?$/;

/**
 * A path inside a snapshot made on Windows as restic names it (`restic ls`, `find`, `restore
 * --include`: the drive letter is the top folder, `/C/Users/Anna`, `/D`) shown the Windows way
 * (`C:\Users\Anna`, `D:\`); a UNC path written with slashes (`//nas/share/x`) becomes
 * `\\nas\share\x`. With platform `posix` (a snapshot made on Linux) the path is returned unchanged.
 * For the snapshot and file views (issue 14/16 wire it there).
 */
export function resticPathForDisplay(p: string, platform: PathPlatform): string {
  if (platform !== 'win32') return p;
  const m = RESTIC_WINDOWS_PATH.exec(p);
  if (m) return `${(m[1] as string).toUpperCase()}:\\${(m[2] ?? '').replace(/\//g, '\\')}`;
  if (p.startsWith('//')) return p.replace(/\//g, '\\');
  return p;
}
