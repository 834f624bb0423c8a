/**
 * The descendants of a process (case C35). Killing restic's process group is not enough: restic
 * starts `ssh` (sftp) and `rclone` in a process group of their own (restic 0.14
 * internal/backend/foreground_unix.go sets Setpgid when not on a terminal, so Ctrl-C does not
 * reach them), and a restic stopped while connecting leaves them running. So a cancel also
 * signals every descendant found in /proc. Linux only (elsewhere: an empty list, the group kill
 * alone applies). Each entry carries the process start time (clock ticks since boot, /proc stat
 * field 22) so a PID reused meanwhile is never signalled.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';

export interface ProcEntry {
  pid: number;
  start: string;
}

function readStat(pid: number): { ppid: number; start: string } | null {
  try {
    const text = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // "pid (comm) state ppid ..." — comm may hold spaces and parentheses: split after the last ')'.
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return { ppid: Number(fields[1]), start: fields[19] ?? '' };
  } catch {
    return null;
  }
}

/** Start time of `pid` as /proc says (clock ticks since boot), or null (gone, or not Linux). */
export function processStartTicks(pid: number): string | null {
  return readStat(pid)?.start ?? null;
}

/** All descendants of `root` (children, grandchildren, ...), by reading /proc once. */
export function descendants(root: number): ProcEntry[] {
  if (process.platform !== 'linux') return [];
  let names: string[];
  try {
    names = fs.readdirSync('/proc');
  } catch {
    return [];
  }
  const children = new Map<number, ProcEntry[]>();
  for (const n of names) {
    if (!/^\d+$/.test(n)) continue;
    const st = readStat(Number(n));
    if (!st) continue;
    const list = children.get(st.ppid) ?? [];
    list.push({ pid: Number(n), start: st.start });
    children.set(st.ppid, list);
  }
  const out: ProcEntry[] = [];
  const queue = [root];
  while (queue.length > 0 && out.length < 10_000) {
    for (const c of children.get(queue.shift() as number) ?? []) {
      out.push(c);
      queue.push(c.pid);
    }
  }
  return out;
}

/** Send `sig` to each entry still alive with the same start time; errors (gone) are ignored. */
export function signalEntries(entries: readonly ProcEntry[], sig: NodeJS.Signals): void {
  for (const e of entries) {
    if (processStartTicks(e.pid) !== e.start) continue;
    try {
      process.kill(e.pid, sig);
    } catch {
      /* gone */
    }
  }
}

/**
 * Windows: end `pid` and all its descendants (`taskkill /PID <pid> /T /F`, bounded to 10 s). There
 * is no SIGINT for a child without a console, so a cancel on Windows ends the tree at once; the
 * stale lock restic leaves is then cleared with a plain `unlock`, as after a killed backup.
 * `onFailed` runs when taskkill fails or is absent (Wine 8's taskkill has no /T): the caller then
 * ends the child alone (TerminateProcess).
 */
export function endWindowsTree(pid: number, onFailed: () => void): void {
  execFile('taskkill', ['/PID', String(pid), '/T', '/F'], { timeout: 10_000, windowsHide: true }, (err) => {
    if (err) onFailed();
  });
}
