/**
 * Shared pieces of the repository-level maintenance tasks (prune, check): the task frame (key,
 * repository identity, restic id resolved and the fleet claim taken in `prepare`) and the outcome
 * of a failure.
 */
import type { RepositoryConfig } from '../config/device-config.js';
import { claimMaintenance, type MaintenanceOperation } from '../db/queries/leases.js';
import { errorMessage } from '../errors.js';
import type { MaintenanceDeps } from '../maintenance/maintenance-deps.js';
import { isResticError } from '../restic/errors.js';
import { leaseTarget } from '../maintenance/maintenance-deps.js';
import { failedOutcome, repositoryKey, type Task, type TaskContext, type TaskOutcome } from './task.js';

/**
 * A scheduled turn of a fleet-wide operation: claimed for this device unless another device
 * claimed it at or after `notBefore` (then the task is skipped without a run).
 */
export interface FleetTurn {
  notBefore: Date;
}

/** The outcome of a thrown error (ResticError: its kind, exit code and stderr tail). */
export function errorOutcome(started: number, now: number, err: unknown, notes: readonly string[] = []): TaskOutcome {
  const kind = isResticError(err) ? err.kind : 'task_error';
  const status = isResticError(err, 'cancelled') ? 'cancelled' : 'failed';
  return {
    ...failedOutcome(started, now, errorMessage(err), kind, status),
    exitCode: isResticError(err) ? err.exitCode : null,
    resticErrors: [isResticError(err) ? err.stderrTail : '', ...notes].filter((s) => s !== '').join('\n') || null,
  };
}

/**
 * The run of an exclusive task (forget, prune, check) around its restic work `body`: recorded as
 * failed (`lease_unavailable`, with the gate's reason) when its gate could not get the lease; a
 * thrown error becomes its outcome (errorOutcome) with the notes `body` collected so far.
 * `started` is the run's start (ms, the task clock).
 */
export async function exclusiveRun(
  ctx: Pick<TaskContext, 'clock'>,
  gateState: GateState,
  body: (started: number, notes: string[]) => Promise<TaskOutcome>,
): Promise<TaskOutcome> {
  const started = ctx.clock.now();
  if (gateState.blocked) return failedOutcome(started, ctx.clock.now(), gateState.blocked, 'lease_unavailable');
  const notes: string[] = [];
  try {
    return await body(started, notes);
  } catch (err) {
    return errorOutcome(started, ctx.clock.now(), err, notes);
  }
}

/**
 * The common frame of a prune or check task of `repo`: key `<op>:<repository key>`, the queue's
 * repository identity, and `prepare` resolving restic's id (stored on the task) and, for a
 * scheduled turn, claiming it fleet-wide. The database being away makes prepare throw: the task is
 * skipped (no prune or check starts without the database).
 */
export function maintenanceFrame(
  operation: MaintenanceOperation,
  repo: RepositoryConfig,
  turn: FleetTurn | null,
  deps: MaintenanceDeps,
): Pick<Task, 'kind' | 'key' | 'job' | 'repositoryId' | 'repository' | 'label'> & {
  prepare(this: Task, ctx: { signal: AbortSignal }): Promise<string | null>;
  gateState: GateState;
  gate(
    this: Task,
    signal: AbortSignal,
    proceed: Parameters<NonNullable<Task['gate']>>[1],
  ): ReturnType<NonNullable<Task['gate']>>;
} {
  const repository = repositoryKey(repo, null);
  const gateState: GateState = { blocked: null };
  return {
    gateState,
    gate(this: Task, signal, proceed) {
      return exclusiveGate(this, repo, deps, gateState)(signal, proceed);
    },
    kind: operation,
    key: `${operation}:${repository}`,
    job: null,
    repositoryId: repo.id,
    repository,
    label: repo.name,
    async prepare(this: Task, { signal }) {
      const resticId = await deps.ids.resolve(repo, { signal });
      this.resticRepositoryId = resticId;
      if (!turn) return null;
      const claimed = await claimMaintenance(
        deps.db,
        { resticId, name: repo.name, repositoryId: repo.id, deviceId: deps.deviceId },
        operation,
        turn.notBefore,
      );
      return claimed
        ? `this turn's ${operation} of "${repo.name}" is done by device ${claimed.by} (claimed ${claimed.at})`
        : null;
    },
  };
}

/** Why an exclusive task could not get its lease (set by its gate), read by its run. */
export interface GateState {
  blocked: string | null;
}

/**
 * The gate of an exclusive task (forget, prune, check): the repository's exclusive lease around
 * the recorded run. Without a known restic id (prepare failed to read it) the run goes ahead and
 * reports the failure itself; when the lease is not had in time the run is recorded as failed
 * with the reason (state.blocked).
 */
export function exclusiveGate(
  task: Pick<Task, 'kind' | 'resticRepositoryId'>,
  repo: RepositoryConfig | null,
  deps: MaintenanceDeps,
  state: GateState,
): NonNullable<Task['gate']> {
  return async (signal, proceed) => {
    const id = task.resticRepositoryId;
    if (!id || !repo) return proceed();
    const r = await deps.leases.exclusive(leaseTarget(repo, id), task.kind, signal, proceed);
    if (r.ok) return r.value;
    state.blocked = r.reason;
    return proceed();
  };
}
