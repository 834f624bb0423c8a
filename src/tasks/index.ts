/**
 * Building a task from a plain request (the agent's `enqueueTask`, later the API and issue 18's
 * maintenance schedules). One entry per kind; the kind's module (backup-task.ts, forget-task.ts)
 * says what it does and which repository it touches. The queue, the lifecycle, the run journal,
 * the events, /runs and the metrics need no change for a new kind.
 */
import type { JobConfig } from '../config/device-config.js';
import type { TriggeredBy } from '../db/queries/runs.js';
import { AppError } from '../errors.js';
import { backupTask, type BackupTaskDeps } from './backup-task.js';
import { forgetTask, type KeepPolicy } from './forget-task.js';
import type { MaintenanceDeps } from '../maintenance/maintenance-deps.js';
import type { Task } from './task.js';

/** A request for a task, as callers write it. */
export type TaskSpec =
  | { kind: 'backup'; jobId: string; triggeredBy?: TriggeredBy }
  | { kind: 'forget'; jobId: string; keep: KeepPolicy; triggeredBy?: TriggeredBy };

/** What the task modules need from the agent. */
export interface TaskEnv {
  /** The job as the current config has it, or null. */
  job(jobId: string): JobConfig | null;
  backup: BackupTaskDeps;
  /** The maintenance tasks' needs (issue 18: leases, restic ids, connections). */
  forget: MaintenanceDeps;
}

function jobOf(env: TaskEnv, jobId: string): JobConfig {
  const job = env.job(jobId);
  if (!job) throw new AppError('NOT_FOUND', `job ${jobId} not found`);
  return job;
}

/** The Task of `spec`. Throws AppError NOT_FOUND for an unknown job, INVALID_INPUT for a bad request. */
export function createTask(spec: TaskSpec, env: TaskEnv): Task {
  const by = spec.triggeredBy ?? 'manual';
  switch (spec.kind) {
    case 'backup':
      return backupTask(jobOf(env, spec.jobId), by, env.backup);
    case 'forget':
      return forgetTask(jobOf(env, spec.jobId), by, env.forget, spec.keep);
    default:
      throw new AppError('INVALID_INPUT', `unknown task kind ${String((spec as { kind: unknown }).kind)}`);
  }
}
