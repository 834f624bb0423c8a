/**
 * The first step of a graceful stop: no new backups, running ones get `timeoutMs` to finish,
 * then they are cancelled (SIGINT, grace, kill: src/restic/spawn.ts).
 */
import type { Clock } from '../clock.js';
import type { Logger } from '../logging.js';

/** What stopping the backups needs of the scheduler and the run lifecycle. */
export interface BackupsToStop {
  /** Stop starting runs; resolves when the running ones ended. */
  stopScheduler(): Promise<void>;
  /** Runs in progress. */
  running(): number;
  /** Cancel every run in progress. */
  cancelAll(): void;
}

/** Resolves when no backup runs any more (finished within `timeoutMs`, or cancelled and ended). */
export async function stopBackups(
  parts: BackupsToStop,
  clock: Clock,
  timeoutMs: number,
  logger: Logger,
): Promise<void> {
  const stopped = parts.stopScheduler();
  if (parts.running() > 0) {
    let cancelTimer: (() => void) | null = null;
    await Promise.race([
      stopped,
      new Promise<void>((resolve) => {
        cancelTimer = clock.setTimer(resolve, timeoutMs);
      }),
    ]);
    (cancelTimer as (() => void) | null)?.();
    if (parts.running() > 0) {
      logger.warn({ running: parts.running() }, 'shutdown timeout reached: cancelling running backups');
      parts.cancelAll();
    }
  }
  await stopped;
}
