/** Whether a process id is alive on this machine: shared by restic lock and PGlite lock checks. */

/** Signal 0 probes without signalling; EPERM means the process exists but belongs to another user. */
export function pidAliveOnThisHost(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
