/**
 * The single-process lock of an embedded (PGlite) data folder (case C18). PGlite is one process's
 * database: a second process opening the same folder would corrupt it. The lock is the file
 * `<dataDir>.lock` beside the folder (so moving a broken folder aside keeps it), created
 * exclusively, holding `{"pid":..., "hostname":..., "startedAt":...}`. A lock whose process is gone
 * (same host, pid not alive) is stale and taken over.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AppError } from '../errors.js';
import { pidAliveOnThisHost as pidAlive } from '../process-alive.js';

export interface PgliteLockInfo {
  pid: number;
  hostname: string;
  startedAt: string;
}

/** Path of the lock file of an embedded data folder. */
export function pgliteLockPath(dataDir: string): string {
  return `${path.resolve(dataDir)}.lock`;
}

/** The current holder of the lock, or null when there is none (or it is unreadable). */
export function readPgliteLock(dataDir: string): PgliteLockInfo | null {
  try {
    const info = JSON.parse(fs.readFileSync(pgliteLockPath(dataDir), 'utf8')) as Partial<PgliteLockInfo>;
    if (typeof info.pid !== 'number') return null;
    return { pid: info.pid, hostname: String(info.hostname ?? ''), startedAt: String(info.startedAt ?? '') };
  } catch {
    return null;
  }
}

function lockedError(dataDir: string, holder: PgliteLockInfo, lockFile: string): AppError {
  const who =
    holder.pid === process.pid && holder.hostname === os.hostname()
      ? `process ${holder.pid} (this process)`
      : `process ${holder.pid}${holder.hostname && holder.hostname !== os.hostname() ? ` on ${holder.hostname}` : ''}`;
  return new AppError(
    'DB_LOCKED',
    `embedded database ${dataDir} is in use by ${who} since ${holder.startedAt || 'unknown'}; stop that agent or use its API (lock file ${lockFile}; delete it only if that process is not rbackup2)`,
  );
}

/**
 * Take the lock of `dataDir` for this process. Returns the release function (idempotent; removes
 * the file only while it is still ours). Throws AppError DB_LOCKED naming the holder's pid when
 * a live process holds it (this process included: one open per folder).
 */
export function acquirePgliteLock(dataDir: string, now: () => Date = () => new Date()): () => void {
  const lockFile = pgliteLockPath(dataDir);
  fs.mkdirSync(path.dirname(lockFile), { recursive: true });
  const mine: PgliteLockInfo = { pid: process.pid, hostname: os.hostname(), startedAt: now().toISOString() };
  const body = JSON.stringify(mine);
  for (let attempt = 0; attempt < 5; attempt++) {
    try {
      fs.writeFileSync(lockFile, body, { flag: 'wx', mode: 0o644 });
      let released = false;
      return () => {
        if (released) return;
        released = true;
        try {
          if (fs.readFileSync(lockFile, 'utf8') === body) fs.unlinkSync(lockFile);
        } catch {
          /* already gone */
        }
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const raw = safeRead(lockFile);
    if (raw === null) continue; // removed meanwhile: try again
    const holder = readPgliteLock(dataDir);
    const sameHost = !holder || holder.hostname === '' || holder.hostname === os.hostname();
    if (holder && (!sameHost || pidAlive(holder.pid))) throw lockedError(dataDir, holder, lockFile);
    takeOverStale(lockFile, raw);
  }
  throw new AppError(
    'DB_LOCKED',
    `embedded database ${dataDir}: cannot take the lock file ${lockFile} (other processes keep racing for it)`,
  );
}

function safeRead(file: string): string | null {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return null;
  }
}

/**
 * Move a stale lock out of the way atomically (rename): of two processes taking over the same
 * stale lock only one rename succeeds; a file that turns out not to be the stale one is put back.
 */
function takeOverStale(lockFile: string, staleContent: string): void {
  const aside = `${lockFile}.stale-${process.pid}`;
  try {
    fs.renameSync(lockFile, aside);
  } catch {
    return;
  }
  if (safeRead(aside) !== staleContent) {
    try {
      fs.linkSync(aside, lockFile);
    } catch {
      /* someone holds it now; we will see it */
    }
  }
  try {
    fs.unlinkSync(aside);
  } catch {
    /* ignore */
  }
}
