/**
 * The lock commands: `restic list locks --no-lock` (one 64-hex id per line, fixture 26),
 * `restic cat lock --no-lock ID` (the decrypted lock as JSON: time, exclusive, hostname, username,
 * pid, uid, gid; uid/gid omitted when 0; restic internal/restic/lock.go `Lock`), and `restic
 * unlock` (removes the stale locks only, by restic's rule; prints `successfully removed locks`
 * even when there were none, fixtures 31, 32, 43). All three are text/JSON in 0.14-0.18 alike.
 */
import type { RepositoryConnection } from './connection.js';
import { ResticError } from './errors.js';
import { runResticOk, type CallOptions } from './runner.js';

/** The content of one lock file. */
export interface LockInfo {
  id: string;
  /** ISO time the lock was created or last refreshed. */
  time: string;
  exclusive: boolean;
  hostname: string;
  username: string | null;
  pid: number;
}

/** Default time-out of each lock command, seconds. */
export const LOCK_CALL_TIMEOUT_SECONDS = 120;
/** Most lock ids read from a listing (a repository with more is broken anyway). */
export const MAX_LOCK_IDS = 1000;

/** The lock ids of a `list locks` output (64 hex characters per line; other lines ignored). */
export function parseLockIds(stdout: string): string[] {
  return stdout
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => /^[0-9a-f]{64}$/.test(l))
    .slice(0, MAX_LOCK_IDS);
}

/** Parse `restic cat lock` JSON output; null when it is not a lock. */
export function parseLockJson(id: string, text: string): LockInfo | null {
  try {
    const o = JSON.parse(text) as Record<string, unknown>;
    if (typeof o.pid !== 'number' || typeof o.hostname !== 'string') return null;
    return {
      id,
      time: typeof o.time === 'string' ? o.time : '',
      exclusive: o.exclusive === true,
      hostname: o.hostname,
      username: typeof o.username === 'string' ? o.username : null,
      pid: o.pid,
    };
  } catch {
    return null;
  }
}

/** The ids of the repository's lock files (at most 1000). Throws ResticError. Default time-out 120 s. */
export async function listLocks(conn: RepositoryConnection, call: CallOptions = {}): Promise<string[]> {
  const out = await runResticOk(conn, ['list', 'locks', '--no-lock'], call, {
    what: 'restic list locks',
    defaultTimeoutSeconds: LOCK_CALL_TIMEOUT_SECONDS,
  });
  return parseLockIds(out.stdout);
}

/**
 * The content of lock `id`. Throws ResticError (a lock that vanished meanwhile fails like any
 * missing file; kind `bad_output` when the content is not a lock). Default time-out 120 s.
 */
export async function catLock(conn: RepositoryConnection, id: string, call: CallOptions = {}): Promise<LockInfo> {
  if (!/^[0-9a-f]{64}$/.test(id)) throw new ResticError('bad_output', `"${id.slice(0, 80)}" is not a lock id`);
  const out = await runResticOk(conn, ['cat', 'lock', '--no-lock', id], call, {
    what: 'restic cat lock',
    defaultTimeoutSeconds: LOCK_CALL_TIMEOUT_SECONDS,
  });
  const lock = parseLockJson(id, out.stdout);
  if (!lock) throw new ResticError('bad_output', `restic cat lock ${id.slice(0, 8)} printed no lock`);
  return lock;
}

/**
 * `restic unlock`: removes the stale locks (restic's rule: older than 30 min, or of this host
 * with a dead PID). `removeAll` adds `--remove-all` (every lock, live ones too: only for a
 * repository known to be unused). Throws ResticError. Default time-out 120 s.
 */
export async function unlock(
  conn: RepositoryConnection,
  opts: { removeAll?: boolean } = {},
  call: CallOptions = {},
): Promise<void> {
  await runResticOk(conn, opts.removeAll ? ['unlock', '--remove-all'] : ['unlock'], call, {
    what: 'restic unlock',
    defaultTimeoutSeconds: LOCK_CALL_TIMEOUT_SECONDS,
  });
}
