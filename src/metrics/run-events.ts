/**
 * Metrics observe runs through the agent's event bus (issue 14: one way to observe a run): each
 * `run.finished` becomes a backup_* update (backups, CONTRACTS §7) or an operation counter (every
 * other kind). A metrics error is logged and never reaches the run.
 */
import { errorMessage } from '../errors.js';
import type { EventBus } from '../events.js';
import type { BackupMetrics } from './backup-metrics.js';

/** Logging the observer does (a pino Logger fits). */
interface WarnLogger {
  warn(obj: object, msg: string): void;
}

/**
 * Subscribe `metrics` to `events`; `afterRecord` runs after each recorded run (the agent asks the
 * Pushgateway pusher for a push). Returns the function that unsubscribes.
 */
export function observeRunMetrics(
  events: EventBus,
  metrics: BackupMetrics,
  logger: WarnLogger,
  afterRecord: () => void = () => undefined,
): () => void {
  return events.on('run.finished', (e) => {
    try {
      if (e.operation === 'backup' && e.jobId !== null) {
        metrics.recordRun({
          jobId: e.jobId,
          jobName: e.jobName,
          status: e.status,
          endTime: new Date(e.endTime),
          durationSeconds: e.durationSeconds,
          totalFilesProcessed: e.totalFilesProcessed,
          dataAddedBytes: e.dataAddedBytes,
          notASuccess: e.errorKind === 'empty_source',
        });
      } else {
        metrics.recordOperation({
          operation: e.operation,
          jobId: e.jobId,
          jobName: e.jobName,
          repositoryId: e.repositoryId,
          status: e.status,
          endTime: new Date(e.endTime),
          durationSeconds: e.durationSeconds,
        });
      }
      afterRecord();
    } catch (err) {
      logger.warn({ jobId: e.jobId, operation: e.operation, err: errorMessage(err) }, 'run metrics not recorded');
    }
  });
}
