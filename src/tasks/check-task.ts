/**
 * The check task (issue 18 point 4): `restic check` of one repository, optionally reading a part
 * of the data (`check_read_data_subset`, e.g. `5%`), once per turn fleet-wide, under the
 * repository's exclusive lease (restic's check takes an exclusive lock). Errors found are a failed
 * run with restic's summary in the metadata (`errors`, `suggested_repair`); the run.finished event
 * with operation `check` and status `failed` is what notifications turn into `check.failed`.
 * Time-out: `check_timeout_seconds`.
 */
import type { RepositoryConfig } from '../config/device-config.js';
import type { TriggeredBy } from '../db/queries/runs.js';
import type { MaintenanceDeps } from '../maintenance/maintenance-deps.js';
import { maintenancePlan } from '../maintenance/maintenance-settings.js';
import { withStaleLockRetry } from '../maintenance/stale-lock-retry.js';
import { check, type CheckResult } from '../restic/check.js';
import { exclusiveRun, maintenanceFrame, type FleetTurn } from './maintenance-outcome.js';
import type { Task, TaskContext, TaskOutcome } from './task.js';

/** What to do about a failed check, as restic says it (0.18+ JSON), else null. */
export function suggestedRepair(r: CheckResult): string | null {
  const s: string[] = [];
  if (r.suggestRepairIndex) s.push('restic repair index');
  if (r.suggestPrune) s.push('restic prune');
  if (r.brokenPacks.length > 0) s.push('restic repair packs ' + r.brokenPacks.slice(0, 10).join(' '));
  return s.length ? s.join('; then ') : null;
}

/** A check of `repo`; `turn` = a scheduled fleet turn (null: a manual check). */
export function checkTask(
  repo: RepositoryConfig,
  triggeredBy: TriggeredBy,
  deps: MaintenanceDeps,
  turn: FleetTurn | null,
): Task {
  const frame = maintenanceFrame('check', repo, turn, deps);
  const task: Task = {
    ...frame,
    triggeredBy,
    run: (ctx: TaskContext): Promise<TaskOutcome> =>
      exclusiveRun(ctx, frame.gateState, async (started, notes) => {
        const { raw, typed } = deps.settings();
        const subset = maintenancePlan(repo, raw).readDataSubset;
        const call = { signal: ctx.signal, clock: ctx.clock, timeoutSeconds: typed.checkTimeoutSeconds };
        const conn = deps.connect(repo);
        const others = deps.othersRunning?.(task.repository) ?? false;
        const result = await withStaleLockRetry(conn, call, others, notes, () =>
          check(conn, subset ? { readDataSubset: subset } : {}, call),
        );
        const now = ctx.clock.now();
        const repair = suggestedRepair(result);
        return {
          status: result.ok ? 'success' : 'failed',
          errorKind: result.ok ? null : 'check_errors',
          exitCode: result.ok ? 0 : 1,
          errorMessage: result.ok
            ? null
            : `restic check found errors in repository "${repo.name}": ${result.errors[0] ?? 'see the run output'}` +
              (repair ? ` (suggested: ${repair})` : ''),
          endTime: new Date(now).toISOString(),
          durationSeconds: (now - started) / 1000,
          resticOutput: result.ok ? ['no errors were found', ...notes].join('\n') : null,
          resticErrors: result.ok ? null : [...result.errors, ...notes].join('\n'),
          metadata: {
            read_data_subset: subset,
            errors: result.errors,
            error_count: result.errors.length,
            suggested_repair: repair,
            notes,
          },
        };
      }),
  };
  return task;
}
