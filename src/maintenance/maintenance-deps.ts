/**
 * What the maintenance tasks (src/tasks/forget-task.ts, prune-task.ts, check-task.ts) need from the
 * agent; built once in src/app.ts (and by `rbackup2 forget`).
 */
import type { AgentSettings, RepositoryConfig } from '../config/device-config.js';
import type { Database } from '../db/database.js';
import type { RepositoryConnection } from '../restic/connection.js';
import type { RepositoryIds } from './repository-ids.js';
import type { LeaseTarget, RepositoryLeases } from './repository-leases.js';

export interface MaintenanceDeps {
  db: Database;
  deviceId: string;
  leases: RepositoryLeases;
  ids: RepositoryIds;
  /** The restic connection of a repository; throws AppError INVALID_INPUT (no URL/password) or when restic is missing. */
  connect(repo: RepositoryConfig): RepositoryConnection;
  /** The device's effective settings now (raw, for the maintenance plan) and typed. */
  settings(): { raw: Readonly<Record<string, string>>; typed: AgentSettings };
  /** Told each time a repository's size was measured (after a prune): the metrics. */
  onRepositoryStats?(
    repo: RepositoryConfig,
    resticId: string,
    stats: { sizeBytes: number; snapshotCount: number },
  ): void;
  /** Is a restic of this agent running on the repository (other than the caller's)? For stale-lock handling. */
  othersRunning?(repositoryKey: string): boolean;
}

/** The lease target of a repository once its restic id is known. */
export function leaseTarget(repo: RepositoryConfig, resticId: string): LeaseTarget {
  return { resticId, name: repo.name, repositoryId: repo.id };
}
