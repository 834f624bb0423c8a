/**
 * Who runs a backup (case C33): host name, process id and the process start time. Recorded on
 * the `runs` row and in the per-job lock file; an owner is "gone" only when it was on this host
 * and no process with that PID and start time exists any more. A PID alone is not enough: after
 * a reboot or a long time it is reused by some other program.
 *
 * Start time: Linux reads /proc/<pid>/stat (start ticks since boot; 100 ticks per second, the
 * USER_HZ of every Linux ABI) plus the boot time (`btime` of /proc/stat). Elsewhere only the PID
 * is checked (process-alive.ts).
 */
import fs from 'node:fs';
import os from 'node:os';
import { processStartTicks } from '../restic/process-tree.js';
import { pidAliveOnThisHost } from '../process-alive.js';

export interface RunOwner {
  host: string;
  pid: number;
  /** ISO 8601, whole seconds are what matter. */
  startedAt: string;
}

const USER_HZ = 100;
/** Start times of one process read twice differ by rounding only. */
const TOLERANCE_MS = 2000;

function bootTimeMs(): number | null {
  try {
    const m = /^btime (\d+)$/m.exec(fs.readFileSync('/proc/stat', 'utf8'));
    return m ? Number(m[1]) * 1000 : null;
  } catch {
    return null;
  }
}

/** Wall-clock start of `pid` on this host (ms since epoch), or null when unknown or gone. */
export function processStartMs(pid: number): number | null {
  if (process.platform !== 'linux') return null;
  const ticks = processStartTicks(pid);
  const boot = bootTimeMs();
  if (ticks === null || boot === null) return null;
  return boot + (Number(ticks) / USER_HZ) * 1000;
}

/** This process as an owner. */
export function currentOwner(): RunOwner {
  const start = processStartMs(process.pid) ?? Date.now() - process.uptime() * 1000;
  return { host: os.hostname(), pid: process.pid, startedAt: new Date(Math.floor(start / 1000) * 1000).toISOString() };
}

/**
 * Whether `owner` certainly no longer runs: it was on this host (`hostname`) and its PID is gone,
 * or the PID now belongs to a process started at another time. An owner on another host is never
 * "gone" from here (it cannot be checked).
 */
export function ownerGone(owner: RunOwner, hostname = os.hostname()): boolean {
  if (owner.host !== hostname) return false;
  if (owner.pid === process.pid)
    return Math.abs(Date.parse(owner.startedAt) - Date.parse(currentOwner().startedAt)) > TOLERANCE_MS;
  if (!pidAliveOnThisHost(owner.pid)) return true;
  const started = processStartMs(owner.pid);
  if (started === null) return false;
  return Math.abs(started - Date.parse(owner.startedAt)) > TOLERANCE_MS;
}
