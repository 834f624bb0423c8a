/**
 * Where a snapshot's tree paths come from and how a user reads them. Pure.
 *
 * restic stores a tree path `/`-separated and absolute (restic doc/040_backup.rst; checked on 0.14):
 * - Linux/macOS: the source path itself (`/home/ann/Photos/a.jpg`);
 * - Windows: the drive letter as the first folder (`C:\Users\Ann` -> `/C/Users/Ann`), while the
 *   snapshot's `paths` keep the Windows form (`C:\Users\Ann`);
 * - restic 0.14 given a relative source (`restic backup src`): `paths` holds the absolute path
 *   (`/tmp/x/src`) but the tree starts at the relative one (`/src/...`).
 */
import path from 'node:path';

export interface SnapshotPathInfo {
  /** The snapshot's `paths` as restic recorded them. */
  paths: readonly string[];
}

const WIN_DRIVE_PATH = /^[A-Za-z]:([\\/]|$)/;

/** True when the snapshot was made on Windows (its `paths` carry drive letters or UNC shares). */
export function isWindowsSnapshot(s: SnapshotPathInfo): boolean {
  return s.paths.length > 0 && s.paths.every((p) => WIN_DRIVE_PATH.test(p) || p.startsWith('\\\\'));
}

/**
 * For a 0.14 snapshot of a relative source: the folder the tree is relative to, for the tree's
 * first component (`/src/a` of paths [`/tmp/x/src`] -> `/tmp/x`); null when the tree path is the
 * absolute source path itself (the usual case) or nothing matches.
 */
export function relativeBase(s: SnapshotPathInfo, treePath: string): string | null {
  if (isWindowsSnapshot(s)) return null;
  const first = treePath.split('/').filter(Boolean)[0];
  if (!first) return null;
  const absolute = s.paths.some(
    (p) =>
      p === treePath || treePath.startsWith(p.endsWith('/') ? p : `${p}/`) || p.startsWith(`${treePath}/`) || p === '/',
  );
  if (absolute) return null;
  const src = s.paths.find((p) => path.posix.basename(p) === first);
  return src ? path.posix.dirname(src) : null;
}

/**
 * A tree path in the source system's form, as the user knows it: `/C/Users/Ann` -> `C:\Users\Ann`
 * for a Windows snapshot; `/src/a` -> `/tmp/x/src/a` for a 0.14 relative-source snapshot; else as is.
 */
export function displayPath(s: SnapshotPathInfo, treePath: string): string {
  if (isWindowsSnapshot(s)) {
    const parts = treePath.split('/').filter(Boolean);
    if (parts.length === 0) return '\\';
    const [drive, ...rest] = parts;
    if (drive && /^[A-Za-z]$/.test(drive)) return `${drive.toUpperCase()}:\\${rest.join('\\')}`;
    return `\\\\${parts.join('\\')}`;
  }
  const base = relativeBase(s, treePath);
  return base ? path.posix.join(base, treePath) : treePath;
}

/**
 * The target that puts `treePath` back where it was on this machine (restic writes TARGET +
 * tree path), or null when that cannot be (a Windows snapshot on another OS, or the reverse).
 */
export function originalTarget(s: SnapshotPathInfo, treePath: string, platform: NodeJS.Platform): string | null {
  const win = isWindowsSnapshot(s);
  if (win !== (platform === 'win32')) return null;
  if (win) return null; // restic on Windows restores `/C/...` below a target's drive root: not offered
  return relativeBase(s, treePath) ?? '/';
}

/** A folder name safe on every file system: no `/ \ : * ? " < > |` or control characters. */
export function safeName(name: string): string {
  const out = [...name].map((c) => (c.charCodeAt(0) < 32 || '/\\:*?"<>|'.includes(c) ? '-' : c)).join('');
  return out.replace(/^[. ]+|[. ]+$/g, '').slice(0, 120) || 'restore';
}
