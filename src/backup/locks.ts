/**
 * Stale lock handling (case C06). restic's own rule (internal/restic/lock.go `Stale`): a lock is
 * stale when its timestamp is older than 30 minutes (running restic refreshes its locks every 5
 * minutes), or when it was created on this host and its PID no longer exists. Locks of other hosts
 * younger than 30 minutes are live. Plain `restic unlock` removes exactly the stale ones by that
 * rule; we never use `--remove-all`, and we run unlock only when no restic of ours is running on
 * the repository.
 */
import { stripAnsi } from './bounded-tail.js';
import { parseLockMessage } from './lock-message.js';

export const STALE_LOCK_AGE_SECONDS = 30 * 60;

/** The decrypted content of a lock file (`restic cat lock --no-lock <id>`; uid/gid omitted when 0). */
export interface LockInfo {
  id: string;
  /** ISO time the lock was created or last refreshed. */
  time: string;
  exclusive: boolean;
  hostname: string;
  username: string | null;
  pid: number;
}

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

/** Parse `restic cat lock` JSON output; null when it is not a lock. */
export function parseLockJson(id: string, text: string): LockInfo | null {
  try {
    const o = JSON.parse(text) as Record<string, unknown>;
    if (typeof o.pid !== 'number' || typeof o.hostname !== 'string') return null;
    return {
      id, time: typeof o.time === 'string' ? o.time : '', exclusive: o.exclusive === true,
      hostname: o.hostname, username: typeof o.username === 'string' ? o.username : null, pid: o.pid,
    };
  } catch {
    return null;
  }
}

export { pidAliveOnThisHost } from '../process-alive.js';

/** Runs one restic command with the job's environment; resolves with exit code and output. */
export type ResticRunner = (args: string[]) => Promise<{ exitCode: number | null; stdout: string; stderr: string }>;

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
export async function clearStaleLocks(run: ResticRunner, ctx: StaleContext & { ourResticRunning: boolean }): Promise<LockReport> {
  const report: LockReport = { stale: [], live: [], unreadable: [], unlocked: false, notes: [] };
  const listed = await run(['list', 'locks', '--no-lock']);
  if (listed.exitCode !== 0) {
    report.notes.push(`Could not list the repository's locks: ${firstLine(listed.stderr)}`);
    return report;
  }
  const ids = listed.stdout.split(/\r?\n/).map((l) => l.trim()).filter((l) => /^[0-9a-f]{64}$/.test(l));
  for (const id of ids.slice(0, MAX_LOCKS_INSPECTED)) {
    const cat = await run(['cat', 'lock', '--no-lock', id]);
    const lock = cat.exitCode === 0 ? parseLockJson(id, cat.stdout) : null;
    if (!lock) { report.unreadable.push(id); continue; }
    (isLockStale(lock, ctx) ? report.stale : report.live).push(lock);
  }
  if (report.unreadable.length > 0) report.notes.push(`${report.unreadable.length} lock file(s) could not be read: ${report.unreadable.map((id) => id.slice(0, 8)).join(', ')}.`);
  if (report.stale.length === 0) return report;
  if (ctx.ourResticRunning) {
    report.notes.push(`${report.stale.length} stale lock(s) left in place because another backup of this agent uses the repository.`);
    return report;
  }
  const unlock = await run(['unlock']);
  report.unlocked = unlock.exitCode === 0;
  report.notes.push(report.unlocked
    ? `Removed ${report.stale.length} stale lock(s) (${report.stale.map(describeLock).join('; ')}) with "restic unlock".`
    : `"restic unlock" failed: ${firstLine(unlock.stderr)}`);
  return report;
}

/** `PID 123 on host "vm" since 2026-11-29T14:47:44Z` */
export function describeLock(l: LockInfo): string {
  return cleanText(`PID ${l.pid} on host "${l.hostname}"${l.username ? ` (user ${l.username})` : ''}${l.exclusive ? ' (exclusive)' : ''} since ${l.time}`);
}

/**
 * The line of restic's stderr that says why (its `Fatal:` line when there is one, else the first),
 * without terminal escape codes or other control characters (C31), at most 300 characters.
 */
function firstLine(s: string): string {
  const lines = cleanText(s).split('\n').map((l) => l.trim()).filter((l) => l !== '');
  return (lines.find((l) => l.startsWith('Fatal:')) ?? lines[0] ?? '').slice(0, 300);
}

/** Text with ANSI escape sequences and control characters (except newlines) removed. */
export function cleanText(s: string): string {
  // eslint-disable-next-line no-control-regex
  return stripAnsi(s.replace(/\r\n?/g, '\n')).replace(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/g, '');
}

/** The PID/host of the lock named in a "repository is already locked" message, if any. */
export function lockHolderFromText(text: string): { pid: number; hostname: string } | null {
  const l = parseLockMessage(text);
  return l ? { pid: l.pid, hostname: l.hostname } : null;
}
