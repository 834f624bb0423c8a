/**
 * Stale lock handling (case C06). restic's own rule (internal/restic/lock.go `Stale`): a lock is
 * stale when its timestamp is older than 30 minutes (running restic refreshes its locks every 5
 * minutes), or when it was created on this host and its PID no longer exists. Locks of other hosts
 * younger than 30 minutes are live. Plain `restic unlock` removes exactly the stale ones by that
 * rule; we never use `--remove-all`, and we run unlock only when no restic of ours is running on
 * the repository.
 */
import { errorMessage } from '../errors.js';
import type { RepositoryConnection } from '../restic/connection.js';
import { catLock, listLocks, unlock, type LockInfo } from '../restic/locks.js';
import type { CallOptions } from '../restic/runner.js';
import { cleanText } from '../restic/text.js';

export { cleanText, type LockInfo };
import { parseLockMessage } from '../restic/lock-message.js';

export const STALE_LOCK_AGE_SECONDS = 30 * 60;

export interface StaleContext {
  /** ms since epoch */
  now: number;
  /** This machine's hostname (os.hostname(); restic uses Go's os.Hostname()). */
  hostname: string;
  /** Whether a PID exists on this machine. */
  pidAlive: (pid: number) => boolean;
}

/** restic's staleness rule, see the module doc. A lock whose time cannot be read is not stale. */
export function isLockStale(lock: LockInfo, ctx: StaleContext): boolean {
  const t = Date.parse(lock.time);
  if (Number.isFinite(t) && ctx.now - t > STALE_LOCK_AGE_SECONDS * 1000) return true;
  if (lock.hostname !== ctx.hostname) return false;
  return !ctx.pidAlive(lock.pid);
}

export { pidAliveOnThisHost } from '../process-alive.js';

/**
 * The three lock commands on one repository (src/restic/locks.ts bound to a connection and call
 * options); each throws ResticError when restic fails.
 */
export interface LockCommands {
  list(): Promise<string[]>;
  cat(id: string): Promise<LockInfo>;
  unlock(): Promise<void>;
}

/** LockCommands of `conn` with the call options `call` (time-out, signal, clock). */
export function lockCommands(conn: RepositoryConnection, call: CallOptions): LockCommands {
  return {
    list: () => listLocks(conn, call),
    cat: (id) => catLock(conn, id, call),
    unlock: () => unlock(conn, {}, call),
  };
}

export interface LockReport {
  stale: LockInfo[];
  live: LockInfo[];
  /** Lock ids that could not be read (they vanished meanwhile, or are corrupt). */
  unreadable: string[];
  /** True when `restic unlock` ran and exited 0. */
  unlocked: boolean;
  /** Human notes for the run record. */
  notes: string[];
}

const MAX_LOCKS_INSPECTED = 20;

/**
 * List the repository's locks (`list locks --no-lock`), read each (`cat lock --no-lock`, at most
 * 20), and when any is stale and `ourResticRunning` is false run plain `restic unlock`.
 */
export async function clearStaleLocks(
  locks: LockCommands,
  ctx: StaleContext & { ourResticRunning: boolean },
): Promise<LockReport> {
  const report: LockReport = { stale: [], live: [], unreadable: [], unlocked: false, notes: [] };
  let ids: string[];
  try {
    ids = await locks.list();
  } catch (err) {
    report.notes.push(`Could not list the repository's locks: ${cleanText(errorMessage(err)).slice(0, 300)}`);
    return report;
  }
  for (const id of ids.slice(0, MAX_LOCKS_INSPECTED)) {
    const lock = await locks.cat(id).catch(() => null);
    if (!lock) {
      report.unreadable.push(id);
      continue;
    }
    (isLockStale(lock, ctx) ? report.stale : report.live).push(lock);
  }
  if (report.unreadable.length > 0)
    report.notes.push(
      `${report.unreadable.length} lock file(s) could not be read: ${report.unreadable.map((id) => id.slice(0, 8)).join(', ')}.`,
    );
  if (report.stale.length === 0) return report;
  if (ctx.ourResticRunning) {
    report.notes.push(
      `${report.stale.length} stale lock(s) left in place because another backup of this agent uses the repository.`,
    );
    return report;
  }
  try {
    await locks.unlock();
    report.unlocked = true;
    report.notes.push(
      `Removed ${report.stale.length} stale lock(s) (${report.stale.map(describeLock).join('; ')}) with "restic unlock".`,
    );
  } catch (err) {
    report.notes.push(`"restic unlock" failed: ${cleanText(errorMessage(err)).slice(0, 300)}`);
  }
  return report;
}

/** `PID 123 on host "vm" since 2026-11-29T14:47:44Z` */
export function describeLock(l: LockInfo): string {
  return cleanText(
    `PID ${l.pid} on host "${l.hostname}"${l.username ? ` (user ${l.username})` : ''}${l.exclusive ? ' (exclusive)' : ''} since ${l.time}`,
  );
}

/** The PID/host of the lock named in a "repository is already locked" message, if any. */
export function lockHolderFromText(text: string): { pid: number; hostname: string } | null {
  const l = parseLockMessage(text);
  return l ? { pid: l.pid, hostname: l.hostname } : null;
}
