/**
 * A fast path before the stale-lock check (C06, locks.ts): `restic list locks` costs a whole
 * restic start with key derivation (~0.4 s measured by bench/overhead.mjs, about a third of a
 * 10,000-file incremental backup). restic's local backend keeps each lock as one file in
 * `<repository>/locks/` (restic docs, "References / Repository Format": `locks/` holds the lock
 * files). When that folder exists and is empty there is no lock to inspect, so the check can be
 * skipped with exactly the result restic would have given. Any doubt (not a local path, folder
 * missing or unreadable, any entry at all) answers false and the full check runs.
 */
import fs from 'node:fs/promises';
import path from 'node:path';

/**
 * The folder of a local repository URL (`/srv/repo`, `local:/srv/repo`, `C:\repo` on Windows), or
 * null for any other backend (`sftp:`, `s3:`, `rest:`, `rclone:`, ...) or a relative path.
 */
export function localRepositoryPath(url: string, platform: NodeJS.Platform = process.platform): string | null {
  const raw = url.trim().replace(/^local:/, '');
  const p = platform === 'win32' ? path.win32 : path.posix;
  if (!p.isAbsolute(raw)) return null;
  // "sftp:host:/x" or "s3:..." are not absolute; a Windows drive path is only absolute on win32.
  return raw;
}

/**
 * True only when `url` is a local repository whose `locks/` folder exists and has no entry.
 * Never throws (an unreadable folder is "don't know": false).
 */
export async function localRepositoryHasNoLocks(
  url: string,
  platform: NodeJS.Platform = process.platform,
): Promise<boolean> {
  const dir = localRepositoryPath(url, platform);
  if (dir === null) return false;
  try {
    const d = await fs.opendir(path.join(dir, 'locks'));
    try {
      return (await d.read()) === null;
    } finally {
      await d.close();
    }
  } catch {
    return false;
  }
}
