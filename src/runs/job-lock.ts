/**
 * Per-job lock file (case C33): `<data_dir>/locks/job-<uuid>.lock` holds the owner (host, PID,
 * process start time) of the one process that runs restic for that job, agent or `rbackup2
 * backup`. It works on either database and while the database is away (a PostgreSQL session
 * advisory lock would vanish with a dropped connection and does not work behind a transaction
 * pooler). A lock whose owner is gone (run-owner.ts) is taken over; the take-over itself is
 * serialised by an atomic mkdir so two processes never both take the same dead lock.
 */
import fs from 'node:fs';
import path from 'node:path';
import { ownerGone, type RunOwner } from './run-owner.js';

/**
 * `ok` with `unlockedBecause` set: the lock file could not be written (a read-only or full data
 * folder); the run goes on without the cross-process lock (this process's queue still never runs
 * one job twice), since refusing every backup would lose more than it protects.
 */
export type JobLockResult =
  { ok: true; release: () => void; unlockedBecause?: string } | { ok: false; heldBy: RunOwner };

/** A take-over folder older than this was left by a process that died mid take-over. */
const TAKEOVER_STALE_MS = 30_000;

function readOwner(file: string): RunOwner | null {
  try {
    const o = JSON.parse(fs.readFileSync(file, 'utf8')) as Partial<RunOwner>;
    return typeof o.host === 'string' && typeof o.pid === 'number' && typeof o.startedAt === 'string'
      ? { host: o.host, pid: o.pid, startedAt: o.startedAt }
      : null;
  } catch {
    return null;
  }
}

/** The lock file of `jobId` under `dataDir`. */
export function jobLockPath(dataDir: string, jobId: string): string {
  return path.join(dataDir, 'locks', `job-${jobId.replace(/[^0-9A-Za-z-]/g, '_')}.lock`);
}

/**
 * Take the lock of `jobId` for `owner`, or say who holds it. Never waits, never throws: a lock
 * file that cannot be written (EROFS, EACCES, ENOSPC...) gives `ok` with `unlockedBecause`.
 */
export function acquireJobLock(dataDir: string, jobId: string, owner: RunOwner): JobLockResult {
  const file = jobLockPath(dataDir, jobId);
  try {
    return tryAcquire(file, owner);
  } catch (err) {
    return { ok: true, release: () => undefined, unlockedBecause: `${file}: ${(err as Error).message}` };
  }
}

function tryAcquire(file: string, owner: RunOwner): JobLockResult {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const text = JSON.stringify(owner);
  const release = () => {
    const now = readOwner(file);
    try {
      if (now && now.pid === owner.pid && now.startedAt === owner.startedAt && now.host === owner.host)
        fs.rmSync(file, { force: true });
    } catch {
      // left behind: its owner is gone once this process ends, so the next run takes it over
    }
  };
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      fs.writeFileSync(file, text, { flag: 'wx' });
      return { ok: true, release };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const holder = readOwner(file);
    if (holder && !ownerGone(holder)) return { ok: false, heldBy: holder };
    if (!holder) {
      // Being written right now, or garbage: garbage once it is older than a few seconds.
      const age = Date.now() - (fs.statSync(file, { throwIfNoEntry: false })?.mtimeMs ?? 0);
      if (age < 5000) return { ok: false, heldBy: { host: '?', pid: 0, startedAt: '' } };
    }
    const takeover = `${file}.takeover`;
    try {
      fs.mkdirSync(takeover);
    } catch {
      const st = fs.statSync(takeover, { throwIfNoEntry: false });
      if (st && Date.now() - st.mtimeMs > TAKEOVER_STALE_MS) fs.rmSync(takeover, { recursive: true, force: true });
      continue;
    }
    try {
      const again = readOwner(file);
      if (JSON.stringify(again) === JSON.stringify(holder)) fs.rmSync(file, { force: true });
    } finally {
      fs.rmSync(takeover, { recursive: true, force: true });
    }
  }
  const holder = readOwner(file);
  return { ok: false, heldBy: holder ?? { host: '?', pid: 0, startedAt: '' } };
}
