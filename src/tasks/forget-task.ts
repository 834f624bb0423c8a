/**
 * The forget task (issue 18 point 2): apply a job's retention policy to exactly that job's history.
 * The job's snapshots are selected by the tag `backup:<job uuid>` alone (every host, every path set,
 * every name tag: CONTRACTS §8 "a job's history is every snapshot with that tag") and the policy
 * is applied to that whole set as ONE group (`--group-by ''`): restic's default grouping by host and
 * paths would split a renamed job, changed source paths or Relica-era snapshots of another host
 * into groups that each keep their own "last N". Never `--prune` (pruning is the repository's own
 * task). Runs under the repository's exclusive lease (restic's forget takes an exclusive lock).
 * Recorded as a run of kind `forget` of the job, with restic's repository id.
 */
import type { JobConfig, RepositoryConfig } from '../config/device-config.js';
import type { TriggeredBy } from '../db/queries/runs.js';
import { AppError } from '../errors.js';
import type { MaintenanceDeps } from '../maintenance/maintenance-deps.js';
import {
  describeRetention,
  keepPolicyOf,
  parseRetention,
  retentionOfKeep,
  type RetentionPolicy,
} from '../maintenance/retention-policy.js';
import { withStaleLockRetry } from '../maintenance/stale-lock-retry.js';
import { exclusiveGate, exclusiveRun, type GateState } from './maintenance-outcome.js';
import { forget, type ForgetGroup, type KeepPolicy } from '../restic/forget.js';

export type { KeepPolicy } from '../restic/forget.js';
import { repositoryKey, failedOutcome, type Task, type TaskContext, type TaskOutcome } from './task.js';

/** The snapshots a forget keeps and removes, with restic's reasons. */
export interface ForgetPlan {
  policy: RetentionPolicy;
  keep: { id: string; time: string; hostname: string; paths: string[]; reasons: string[] }[];
  remove: { id: string; time: string; hostname: string; paths: string[] }[];
}

/** The one group of a job's forget as a plan (restic prints one group with `--group-by ''`). */
export function planOf(policy: RetentionPolicy, groups: readonly ForgetGroup[]): ForgetPlan {
  const plan: ForgetPlan = { policy, keep: [], remove: [] };
  for (const g of groups) {
    const reasonsByTime = new Map(g.reasons.map((r) => [r.time, r.matches]));
    for (const s of g.keep)
      plan.keep.push({
        id: s.id,
        time: s.time,
        hostname: s.hostname,
        paths: s.paths,
        reasons: reasonsByTime.get(s.time) ?? [],
      });
    for (const s of g.remove) plan.remove.push({ id: s.id, time: s.time, hostname: s.hostname, paths: s.paths });
  }
  return plan;
}

/** The forget options of a job: its tag, its policy, one group. */
function forgetOptions(job: JobConfig, policy: RetentionPolicy, dryRun: boolean) {
  return {
    tags: [`backup:${job.id}`],
    keep: keepPolicyOf(policy),
    groupBy: [] as [],
    dryRun,
    ...(dryRun ? { noLock: true } : {}),
  };
}

/**
 * The policy to apply (an explicit `keep` of the caller, else the job's retention), or a sentence
 * saying why it cannot forget.
 */
function usablePolicy(job: JobConfig, keep?: KeepPolicy): { policy: RetentionPolicy; repo: RepositoryConfig } | string {
  if (!job.repository) return `job "${job.name}" has no repository configured`;
  if (keep) {
    const checked = parseRetention(retentionOfKeep(keep));
    if (!checked.ok || !checked.policy)
      return `forget of job "${job.name}": ${checked.ok || Object.keys(retentionOfKeep(keep)).length === 0 ? 'keep needs at least one rule' : checked.problem}`;
    return { policy: checked.policy, repo: job.repository };
  }
  if (job.retentionProblem) return `job "${job.name}": ${job.retentionProblem}; nothing was forgotten`;
  if (!job.retention) return `job "${job.name}" has no retention policy (it keeps everything)`;
  return { policy: job.retention, repo: job.repository };
}

/**
 * What a forget of `job` would keep and remove, without removing anything and without a lock
 * (`forget --dry-run --no-lock`): the UI's preview and `rbackup2 forget --dry-run`. `policy`
 * previews another policy than the job's (the UI, before saving). Throws AppError INVALID_INPUT
 * (no policy, bad policy, no repository) or ResticError.
 */
export async function previewForget(
  job: JobConfig,
  deps: Pick<MaintenanceDeps, 'connect'>,
  policy?: RetentionPolicy,
  signal?: AbortSignal,
): Promise<ForgetPlan> {
  const u = usablePolicy(job, policy ? keepPolicyOf(policy) : undefined);
  if (typeof u === 'string') throw new AppError('INVALID_INPUT', u);
  const groups = await forget(deps.connect(u.repo), forgetOptions(job, u.policy, true), signal ? { signal } : {});
  return planOf(u.policy, groups);
}

/**
 * A forget of `job`'s snapshots by its retention policy, or by `keep` when given (the task
 * registry's `{kind: 'forget', jobId, keep}`). Key `forget:<job id>`. A missing or bad policy is a
 * failed run naming it.
 */
export function forgetTask(job: JobConfig, triggeredBy: TriggeredBy, deps: MaintenanceDeps, keep?: KeepPolicy): Task {
  // An explicit request (the task registry) is refused at once, naming the job or the rule.
  if (keep) {
    const u = usablePolicy(job, keep);
    if (typeof u === 'string') throw new AppError('INVALID_INPUT', u);
  }
  const gateState: GateState = { blocked: null };
  const task: Task = {
    kind: 'forget',
    key: `forget:${job.id}`,
    job,
    repositoryId: job.repository?.id ?? null,
    repository: repositoryKey(job.repository, job.id),
    triggeredBy,
    label: job.name,
    ...(keep ? { startMetadata: { keep } } : {}),
    async prepare({ signal }) {
      const u = usablePolicy(job, keep);
      if (typeof u === 'string') return keep || job.retentionProblem ? null : u; // a bad policy is a failed run
      task.resticRepositoryId = await deps.ids.resolve(u.repo, { signal });
      return null;
    },
    gate(signal, proceed) {
      return exclusiveGate(task, job.repository, deps, gateState)(signal, proceed);
    },
    async run(ctx: TaskContext): Promise<TaskOutcome> {
      const u = usablePolicy(job, keep);
      if (typeof u === 'string') {
        const now = ctx.clock.now();
        return failedOutcome(now, now, u, 'invalid_retention');
      }
      return exclusiveRun(ctx, gateState, async (started, notes) => {
        const conn = deps.connect(u.repo);
        const call = { signal: ctx.signal, clock: ctx.clock };
        const groups = await withStaleLockRetry(conn, call, deps.othersRunning?.(task.repository) ?? false, notes, () =>
          forget(conn, forgetOptions(job, u.policy, false), call),
        );
        const plan = planOf(u.policy, groups);
        const now = ctx.clock.now();
        return {
          status: 'success',
          errorKind: null,
          exitCode: 0,
          errorMessage: null,
          endTime: new Date(now).toISOString(),
          durationSeconds: (now - started) / 1000,
          resticOutput: [
            `retention ${describeRetention(u.policy)}: kept ${plan.keep.length}, removed ${plan.remove.length} snapshot(s) of job "${job.name}"`,
            ...notes,
          ].join('\n'),
          metadata: {
            retention: u.policy,
            kept_count: plan.keep.length,
            removed_count: plan.remove.length,
            removed_ids: plan.remove.slice(0, 1000).map((s) => s.id),
            kept_ids: plan.keep.slice(0, 1000).map((s) => s.id),
          },
        };
      });
    },
  };
  return task;
}
