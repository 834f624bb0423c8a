/**
 * Windows: the data folder's access list at the first start (issue 15). POSIX mode bits mean
 * nothing there, so the folder that holds the API token, the embedded database and the cached
 * config (with repository passwords) is limited to its owner (the agent's account: OWNER RIGHTS,
 * S-1-3-4), LocalSystem (S-1-5-18) and Administrators (S-1-5-32-544), with inherited entries
 * (Users of C:\ProgramData may read) removed. Well-known SIDs, not names: they do not depend on
 * the system's language, and a service account needs no name lookup. Facts: Microsoft's icacls
 * documentation (`/inheritance:r`, `/grant:r`, `*SID`, `(OI)(CI)F`).
 */
import { execFileSync } from 'node:child_process';
import { AppError } from '../../errors.js';

/** The icacls arguments that restrict `dir` (an absolute Windows path) as described above. */
export function dataDirAclArgs(dir: string): string[] {
  return [dir, '/inheritance:r', '/grant:r', '*S-1-3-4:(OI)(CI)F', '*S-1-5-18:(OI)(CI)F', '*S-1-5-32-544:(OI)(CI)F'];
}

/**
 * Run `icacls` on `dir` (Windows only; a no-op elsewhere), bounded to 30 s. Throws AppError
 * CONFIG_INVALID naming the folder and the command to run by hand when it fails.
 */
export function restrictDataDir(dir: string, platform: NodeJS.Platform = process.platform): void {
  if (platform !== 'win32') return;
  const args = dataDirAclArgs(dir);
  try {
    execFileSync('icacls', args, { stdio: 'pipe', timeout: 30_000, windowsHide: true });
  } catch (err) {
    throw new AppError(
      'CONFIG_INVALID',
      `${dir}: could not limit the data folder to its owner, SYSTEM and Administrators (${(err as Error).message.split('\n')[0]}); run as an administrator: icacls ${args.map((a) => (a.includes(' ') ? `"${a}"` : a)).join(' ')}`,
      { cause: err },
    );
  }
}
