/**
 * The prune task (issue 18 point 3): `restic prune` of one repository, once per turn fleet-wide
 * (whichever agent is due first claims the turn, maintenance-outcome.ts), under the repository's
 * exclusive lease, so it never overlaps a backup of any device (restic 0.14 has no --retry-lock:
 * either would fail on the other's lock). A stale lock of a killed prune or check is cleared first
 * (stale-lock-retry.ts). Afterwards the repository's size (`restic stats --mode raw-data`) and
 * snapshot count are stored (repository_state). Time-out: `prune_timeout_seconds`.
 */
import type { RepositoryConfig } from '../config/device-config.js';
import type { TriggeredBy } from '../db/queries/runs.js';
import { recordRepositoryStats } from '../db/queries/leases.js';
import { errorMessage } from '../errors.js';
import type { MaintenanceDeps } from '../maintenance/maintenance-deps.js';
import { withStaleLockRetry } from '../maintenance/stale-lock-retry.js';
import { prune, type PruneResult } from '../restic/prune.js';
import { stats } from '../restic/stats.js';
import { exclusiveRun, maintenanceFrame, type FleetTurn } from './maintenance-outcome.js';
import type { Task, TaskContext, TaskOutcome } from './task.js';

/** A prune of `repo`; `turn` = a scheduled fleet turn (null: a manual prune, always runs). */
export function pruneTask(
  repo: RepositoryConfig,
  triggeredBy: TriggeredBy,
  deps: MaintenanceDeps,
  turn: FleetTurn | null,
): Task {
  const frame = maintenanceFrame('prune', repo, turn, deps);
  const task: Task = {
    ...frame,
    triggeredBy,
    run: (ctx: TaskContext): Promise<TaskOutcome> =>
      exclusiveRun(ctx, frame.gateState, async (started, notes) => {
        const call = {
          signal: ctx.signal,
          clock: ctx.clock,
          timeoutSeconds: deps.settings().typed.pruneTimeoutSeconds,
        };
        const resticId = task.resticRepositoryId ?? (await deps.ids.resolve(repo, { signal: ctx.signal }));
        const conn = deps.connect(repo);
        ctx.logger.info({ repository: repo.name }, 'prune started (exclusive lease held)');
        const others = deps.othersRunning?.(task.repository) ?? false;
        const pruned: PruneResult = await withStaleLockRetry(conn, call, others, notes, () => prune(conn, {}, call));
        const size = await stats(conn, { mode: 'raw-data' }, { ...call, timeoutSeconds: 3600 }).catch(
          (err: unknown) => {
            notes.push(`size not refreshed: ${errorMessage(err)}`);
            return null;
          },
        );
        if (size) {
          const measured = { sizeBytes: size.totalSize, snapshotCount: size.snapshotsCount ?? 0 };
          deps.onRepositoryStats?.(repo, resticId, measured);
          await recordRepositoryStats(deps.db, resticId, measured).catch((err: unknown) =>
            notes.push(`size not stored: ${errorMessage(err)}`),
          );
        }
        const now = ctx.clock.now();
        return {
          status: 'success',
          errorKind: null,
          exitCode: 0,
          errorMessage: null,
          endTime: new Date(now).toISOString(),
          durationSeconds: (now - started) / 1000,
          resticOutput: [...pruned.summary, ...notes].join('\n'),
          metadata: {
            removed_blobs: pruned.removedBlobs,
            remaining_blobs: pruned.remainingBlobs,
            size_bytes: size?.totalSize ?? null,
            snapshot_count: size?.snapshotsCount ?? null,
            notes,
          },
        };
      }),
  };
  return task;
}
