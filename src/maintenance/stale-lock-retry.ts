/**
 * A maintenance command that meets a restic lock (issue 18 point 6): the task holds the
 * repository's exclusive lease, so no rbackup2 backup, prune or check of the fleet is live on the
 * repository; a lock left behind (a killed prune or check) is handled as for backups (C06,
 * src/backup/locks.ts): read the locks, and when one is stale by restic's own rule (older than 30
 * minutes, or of this host with a dead PID) run plain `restic unlock` (never `--remove-all`), then
 * try once more. A live lock (another host's, younger than 30 minutes) stays and the task fails.
 */
import os from 'node:os';
import { clearStaleLocks, lockCommands, pidAliveOnThisHost } from '../backup/locks.js';
import type { RepositoryConnection } from '../restic/connection.js';
import { isResticError } from '../restic/errors.js';
import type { CallOptions } from '../restic/runner.js';

/**
 * Run `fn`; when it fails with restic's `locked`, clear stale locks (see the module doc) and run it
 * once more. `notes` receives what was found and done. `othersRunning`: a restic of this agent
 * runs on the repository (then nothing is unlocked). Rethrows fn's error otherwise.
 */
export async function withStaleLockRetry<T>(
  conn: RepositoryConnection,
  call: CallOptions & { clock: { now(): number } },
  othersRunning: boolean,
  notes: string[],
  fn: () => Promise<T>,
): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (!isResticError(err, 'locked')) throw err;
    const lockCall: CallOptions = { ...call, timeoutSeconds: 120 };
    const report = await clearStaleLocks(lockCommands(conn, lockCall), {
      now: call.clock.now(),
      hostname: os.hostname(),
      pidAlive: pidAliveOnThisHost,
      ourResticRunning: othersRunning,
    });
    notes.push(...report.notes);
    if (!report.unlocked) throw err;
    return fn();
  }
}
