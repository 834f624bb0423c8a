/**
 * A run started by a one-shot CLI command (`rbackup2 backup|forget|restore` with no agent holding
 * the database): the same RunLifecycle as the agent's, recorded straight in the database (no
 * journal: the command reports a failure to record), silent, with no other run beside it; Ctrl-C
 * or SIGTERM cancels the run (restic gets SIGINT, then the grace) instead of killing node and
 * leaving restic running in its own process group.
 */
import { systemClock } from '../clock.js';
import type { Database } from '../db/index.js';
import { EventBus } from '../events.js';
import { silentLogger } from '../logging.js';
import { ActiveRepositories } from '../backup/active-repositories.js';
import { RunLifecycle, type RunLifecycleOptions } from '../runs/run-lifecycle.js';
import { DbRunStore } from '../runs/run-store.js';
import type { ResticVersion } from '../restic/version.js';

/**
 * The lifecycle of one-shot runs of `deviceId`, using restic `restic`; `extra` adds what a kind
 * needs (a backup's time-outs, previous file count, restic host recording).
 */
export function oneShotLifecycle(
  db: Database,
  deviceId: string,
  dataDir: string,
  restic: { path: string; version: ResticVersion },
  extra: Partial<Pick<RunLifecycleOptions, 'timeouts' | 'previousFiles' | 'recordResticHost'>> = {},
): RunLifecycle {
  return new RunLifecycle({
    deviceId,
    dataDir,
    clock: systemClock,
    events: new EventBus(),
    store: new DbRunStore(db),
    logger: silentLogger(),
    activeRepositories: new ActiveRepositories(),
    restic: () => restic,
    resticError: () => null,
    lowerPriority: false, // the user waits for this one (run-backup.ts)
    ...extra,
  });
}

/** Run `fn` with SIGINT and SIGTERM cancelling `lifecycle`'s runs; the handlers are removed after. */
export async function cancelledBySignals<T>(lifecycle: RunLifecycle, fn: () => Promise<T>): Promise<T> {
  const onSignal = () => lifecycle.cancelAll();
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    return await fn();
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
