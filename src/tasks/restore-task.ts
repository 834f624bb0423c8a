/**
 * The restore task (issue 17): `restic restore` of chosen paths of one snapshot into a target,
 * recorded as a run with operation 'restore' (snapshot_id = the snapshot restored from; metadata:
 * paths, target, files and bytes). Progress: restic's own where the version prints it (0.16+),
 * else the bytes written below the destinations, measured every `meterSeconds`, against the total
 * the listing gave. Runs beside backups; never beside an exclusive task of its repository (queue).
 * Cancelling (POST /runs/{id}/cancel, agent stop) sends restic SIGINT; restic removes its lock.
 */
import { randomUUID } from 'node:crypto';
import type { JobConfig } from '../config/device-config.js';
import { errorMessage } from '../errors.js';
import type { RepositoryConnection } from '../restic/connection.js';
import { isResticError } from '../restic/errors.js';
import { restore, type RestoreStatus } from '../restic/restore.js';
import { bytesBelow } from '../restore/byte-meter.js';
import { destinationOf } from '../restore/targets.js';
import { repositoryKey, type Task, type TaskContext, type TaskOutcome } from './task.js';

/** A checked restore (src/restore/restore-plan.ts makes it). */
export interface RestorePlan {
  job: JobConfig;
  snapshot: { id: string; shortId: string; time: string; hostname: string };
  /** Tree paths to restore. */
  paths: string[];
  /** Absolute target folder. */
  target: string;
  overwrite: boolean;
  /** Files (non-folders) the restore writes and their total size (bytes), from the listing. */
  files: number;
  totalBytes: number;
}

export interface RestoreTaskDeps {
  connection: (job: JobConfig) => Promise<RepositoryConnection>;
  /** Seconds between two measurements of the bytes written (default 1). */
  meterSeconds?: number;
  triggeredBy?: 'manual';
}

/** A restore task for `plan`; its key is unique, so several restores may wait in the queue. */
export function restoreTask(plan: RestorePlan, deps: RestoreTaskDeps): Task & { restoreId: string } {
  const restoreId = randomUUID();
  const destinations = plan.paths.map((p) => destinationOf(plan.target, p));
  return {
    restoreId,
    kind: 'restore',
    key: `restore:${restoreId}`,
    job: plan.job,
    repositoryId: null,
    repository: repositoryKey(plan.job.repository, plan.job.id),
    triggeredBy: deps.triggeredBy ?? 'manual',
    label: plan.job.name,
    startMetadata: {
      restore_id: restoreId,
      snapshot_id: plan.snapshot.id,
      paths: plan.paths.slice(0, 100),
      target: plan.target,
      overwrite: plan.overwrite,
    },
    async run(ctx: TaskContext): Promise<TaskOutcome> {
      const started = ctx.clock.now();
      let resticStatus: RestoreStatus | null = null;
      const report = (bytesDone: number, filesDone: number | null) => {
        const total = plan.totalBytes;
        ctx.onProgress({
          percentDone: total > 0 ? Math.min(1, bytesDone / total) : 0,
          totalFiles: plan.files,
          filesDone,
          totalBytes: total,
          bytesDone,
          secondsElapsed: Math.round((ctx.clock.now() - started) / 1000),
          secondsRemaining: null,
          currentFiles: [],
        });
      };
      let stopMeter = false;
      let cancelTimer: (() => void) | null = null;
      const tick = () => {
        if (stopMeter || resticStatus) return;
        void bytesBelow(destinations).then((m) => {
          if (stopMeter || resticStatus) return;
          report(Math.min(m.bytes, plan.totalBytes), null);
          cancelTimer = ctx.clock.setTimer(tick, (deps.meterSeconds ?? 1) * 1000);
        });
      };
      cancelTimer = ctx.clock.setTimer(tick, (deps.meterSeconds ?? 1) * 1000);
      const base = {
        snapshotId: plan.snapshot.id,
        metadata: {
          restore_id: restoreId,
          snapshot_id: plan.snapshot.id,
          snapshot_time: plan.snapshot.time,
          snapshot_host: plan.snapshot.hostname,
          paths: plan.paths.slice(0, 100),
          target: plan.target,
          overwrite: plan.overwrite,
          files: plan.files,
          total_bytes: plan.totalBytes,
        },
      };
      try {
        const conn = await deps.connection(plan.job);
        const r = await restore(
          conn,
          plan.snapshot.id,
          { target: plan.target, includes: plan.paths },
          {
            signal: ctx.signal,
            clock: ctx.clock,
            onStatus: (s) => {
              resticStatus = s;
              report(s.bytesRestored ?? 0, s.filesRestored);
            },
          },
        );
        stopMeter = true;
        report(plan.totalBytes, plan.files);
        const now = ctx.clock.now();
        return {
          ...base,
          status: 'success',
          errorKind: null,
          errorMessage: null,
          exitCode: 0,
          resticErrors: r.stderrLines.join('\n') || null,
          totalFilesProcessed: plan.files,
          totalBytesProcessed: plan.totalBytes,
          endTime: new Date(now).toISOString(),
          durationSeconds: (now - started) / 1000,
        };
      } catch (err) {
        const now = ctx.clock.now();
        const cancelled = isResticError(err, 'cancelled');
        return {
          ...base,
          status: cancelled ? 'cancelled' : 'failed',
          errorKind: isResticError(err) ? err.kind : 'restore_error',
          errorMessage: errorMessage(err),
          exitCode: isResticError(err) ? err.exitCode : null,
          resticErrors: isResticError(err) ? err.stderrTail || null : null,
          endTime: new Date(now).toISOString(),
          durationSeconds: (now - started) / 1000,
        };
      } finally {
        stopMeter = true;
        (cancelTimer as (() => void) | null)?.();
      }
    },
  };
}
