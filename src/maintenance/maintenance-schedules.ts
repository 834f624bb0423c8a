/**
 * The maintenance schedules of a device (issue 18 points 2-4): for each repository its enabled
 * jobs use, a prune and a check ScheduledTask (src/scheduler/scheduled-task.ts) on the repository's
 * `prune_schedule` / `check_schedule` (else the global settings of those names; 'off' = none), and
 * a forget of a job after each successful backup when the job has a retention policy. Every agent
 * that uses a repository schedules its prune; the fleet claim (src/tasks/maintenance-outcome.ts)
 * lets only the first one due run it each turn.
 */
import type { Clock } from '../clock.js';
import type { DeviceConfig, JobConfig, RepositoryConfig } from '../config/device-config.js';
import type { EventBus } from '../events.js';
import { errorMessage } from '../errors.js';
import type { Logger } from '../logging.js';
import { nextRunTime } from '../scheduler/next-run.js';
import type { Scheduler } from '../scheduler/scheduler.js';
import type { ScheduledTask } from '../scheduler/scheduled-task.js';
import { checkTask } from '../tasks/check-task.js';
import { forgetTask } from '../tasks/forget-task.js';
import { pruneTask } from '../tasks/prune-task.js';
import { repositoryKey } from '../tasks/task.js';
import type { MaintenanceDeps } from './maintenance-deps.js';
import { maintenancePlan } from './maintenance-settings.js';

/** The next time `cron` fires after `after` (ms) in `zone`, or null (bad expression: logged by the caller). */
export function nextCron(cron: string, after: number, zone: string): number | null {
  const d = nextRunTime(
    {
      id: 0,
      jobId: 'maintenance',
      type: 'cron',
      cronExpression: cron,
      intervalSeconds: null,
      timezone: null,
      catchUp: false,
      enabled: true,
      lastRunAt: null,
      nextRunAt: null,
    },
    new Date(after),
    { localZone: zone },
  );
  return d ? d.getTime() : null;
}

/** Repositories used by the device's enabled jobs, one per repository key (first job's definition). */
export function repositoriesOf(config: DeviceConfig): RepositoryConfig[] {
  const out = new Map<string, RepositoryConfig>();
  for (const j of config.jobs)
    if (j.enabled && j.repository && !out.has(repositoryKey(j.repository, null)))
      out.set(repositoryKey(j.repository, null), j.repository);
  return [...out.values()];
}

export interface MaintenanceSchedulesOptions {
  scheduler: Scheduler;
  deps: MaintenanceDeps;
  clock: Clock;
  localZone: string;
  logger: Logger;
}

export class MaintenanceSchedules {
  /** Scheduled task id -> signature of what it was built from (unchanged ones keep their due time). */
  private readonly installed = new Map<string, string>();
  private config: DeviceConfig | null = null;

  constructor(private readonly o: MaintenanceSchedulesOptions) {}

  /** Install, replace or remove the prune and check schedules for `config`. */
  apply(config: DeviceConfig): void {
    this.config = config;
    const wanted = new Map<string, { sig: string; st: ScheduledTask }>();
    for (const repo of repositoriesOf(config)) {
      const plan = maintenancePlan(repo, config.settings);
      for (const [op, cron] of [
        ['prune', plan.prune],
        ['check', plan.check],
      ] as const) {
        if (!cron) continue;
        const id = `${op}:${repositoryKey(repo, null)}`;
        const sig = JSON.stringify([cron, repo, op === 'check' ? plan.readDataSubset : null]);
        wanted.set(id, { sig, st: this.scheduled(id, op, repo, cron) });
      }
    }
    for (const id of this.installed.keys())
      if (!wanted.has(id)) {
        this.o.scheduler.removeScheduledTask(id);
        this.installed.delete(id);
      }
    for (const [id, { sig, st }] of wanted) {
      if (this.installed.get(id) === sig) continue;
      this.o.scheduler.addScheduledTask(st);
      this.installed.set(id, sig);
    }
  }

  private scheduled(id: string, op: 'prune' | 'check', repo: RepositoryConfig, cron: string): ScheduledTask {
    const { clock, localZone, deps, logger } = this.o;
    const next = (after: number): number | null => {
      try {
        return nextCron(cron, after, localZone);
      } catch (err) {
        logger.warn({ task: id, err: errorMessage(err) }, `${op} schedule unusable`);
        return null;
      }
    };
    return {
      id,
      nextDue: (now) => next(now),
      create: (by) => {
        // This turn is claimed unless another device claimed it within half a period before now.
        const now = clock.now();
        const n1 = next(now) ?? now + 86_400_000;
        const period = Math.max(1000, (next(n1) ?? n1 + 86_400_000) - n1);
        const turn = { notBefore: new Date(now - period / 2) };
        return op === 'prune' ? pruneTask(repo, by, deps, turn) : checkTask(repo, by, deps, turn);
      },
    };
  }

  /** The job of the current config, or null. */
  job(jobId: string): JobConfig | null {
    return this.config?.jobs.find((j) => j.id === jobId) ?? null;
  }

  /**
   * Queue a forget of a job after each successful backup when it has a retention policy (or a
   * retention value that fails the check: the forget run then fails, naming it). Returns the
   * function that stops listening.
   */
  forgetAfterBackup(events: EventBus): () => void {
    return events.on('run.finished', (e) => {
      if (e.operation !== 'backup' || e.status !== 'success' || !e.jobId) return;
      const job = this.job(e.jobId);
      if (!job || (!job.retention && !job.retentionProblem)) return;
      try {
        this.o.scheduler.enqueue(forgetTask(job, e.triggeredBy === 'manual' ? 'manual' : 'schedule', this.o.deps));
      } catch (err) {
        this.o.logger.warn({ job: job.name, err: errorMessage(err) }, 'forget after the backup not queued');
      }
    });
  }
}
