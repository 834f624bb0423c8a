/**
 * The agent's API token in `<data_dir>/api-token` (CONTRACTS §8): 32 random bytes (base64url),
 * created at the first start with mode 0600 in a folder the agent owns. A token file that another
 * user owns or that group/others can read is a start-up error; it is never silently loosened or
 * tightened. On Windows the mode bits mean nothing: the data folder's ACL is the protection, set
 * when the token is created at the first start (windows-acl.ts: owner, SYSTEM, Administrators).
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { AppError } from '../../errors.js';
import { restrictDataDir } from './windows-acl.js';

export const TOKEN_FILE = 'api-token';

/** `<dataDir>/api-token`. */
export function tokenPath(dataDir: string): string {
  return path.join(dataDir, TOKEN_FILE);
}

/** Throws CONFIG_INVALID when `file` is not owned by this process's user or is readable by others (POSIX only). */
function assertPrivate(file: string): void {
  if (process.platform === 'win32' || typeof process.getuid !== 'function') return;
  const st = fs.statSync(file);
  const uid = process.getuid();
  if (st.uid !== uid) {
    throw new AppError(
      'CONFIG_INVALID',
      `${file}: owned by uid ${st.uid}, not by the agent's user (uid ${uid}); remove it or chown it to the agent's user (it is re-created at start)`,
    );
  }
  if ((st.mode & 0o077) !== 0) {
    throw new AppError(
      'CONFIG_INVALID',
      `${file}: mode ${(st.mode & 0o777).toString(8).padStart(4, '0')} lets other users read the API token; run chmod 600 ${file} (or delete it: a new token is created at start)`,
    );
  }
}

/**
 * The token of `<dataDir>/api-token`, creating the folder and the file (0600, exclusive create)
 * when missing. Throws AppError CONFIG_INVALID for a file with a wrong owner or mode, an empty or
 * malformed file, or when the file cannot be written.
 */
export function ensureApiToken(dataDir: string): string {
  const file = tokenPath(dataDir);
  fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  try {
    fs.writeFileSync(file, `${randomBytes(32).toString('base64url')}\n`, { mode: 0o600, flag: 'wx' });
    try {
      restrictDataDir(path.resolve(dataDir)); // the first start on Windows; nothing elsewhere
    } catch (err) {
      fs.rmSync(file, { force: true }); // so the next start tries again
      throw err;
    }
  } catch (err) {
    if (err instanceof AppError) throw err;
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
      throw new AppError('CONFIG_INVALID', `${file}: cannot create the API token file (${(err as Error).message})`, {
        cause: err,
      });
    }
  }
  assertPrivate(file);
  const token = fs.readFileSync(file, 'utf8').trim();
  if (!/^[A-Za-z0-9_-]{16,512}$/.test(token))
    throw new AppError(
      'CONFIG_INVALID',
      `${file}: not an API token (16-512 letters, digits, - or _); delete it to get a new one at start`,
    );
  return token;
}

/**
 * The token for a CLI command talking to the running agent: `client.api_token` when set, else
 * the token file. Returns null when the file does not exist (the agent never started). Throws
 * AppError UNAUTHORIZED with what to do when the file exists but this user may not read it.
 */
export function readApiTokenForCli(dataDir: string, configured: string | undefined): string | null {
  if (configured) return configured;
  const file = tokenPath(dataDir);
  try {
    return fs.readFileSync(file, 'utf8').trim() || null;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return null;
    if (code === 'EACCES' || code === 'EPERM') {
      throw new AppError(
        'UNAUTHORIZED',
        `cannot read the agent's API token ${file} (permission denied): it belongs to the agent's user; run this command as that user (e.g. sudo -u <agent user> rbackup2 ...) or as an administrator`,
      );
    }
    throw new AppError('UNAUTHORIZED', `cannot read the agent's API token ${file}: ${(err as Error).message}`);
  }
}
