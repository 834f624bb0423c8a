/**
 * The repository gate of a backup (issue 18 point 3): the backup runs under a shared lease of its
 * repository (repository-leases.ts), so a prune or check of any device never overlaps it. A
 * repository whose restic id cannot be read (not created yet, unreachable) gets no lease: the
 * backup itself then reports what is wrong.
 */
import type { JobConfig } from '../config/device-config.js';
import { errorMessage } from '../errors.js';
import type { Logger } from '../logging.js';
import { leaseTarget } from './maintenance-deps.js';
import type { RepositoryIds } from './repository-ids.js';
import type { RepositoryLeases } from './repository-leases.js';

/** A BackupTaskDeps.repositoryGate over `leases`. */
export function backupGate(leases: RepositoryLeases, ids: RepositoryIds, logger: Logger) {
  return async <T>(job: JobConfig, signal: AbortSignal, fn: () => Promise<T>): Promise<T> => {
    const repo = job.repository;
    if (!repo) return fn();
    let resticId: string;
    try {
      resticId = await ids.resolve(repo, { signal, timeoutSeconds: 120 });
    } catch (err) {
      logger.debug({ job: job.name, err: errorMessage(err) }, 'repository id unknown; backup runs without a lease');
      return fn();
    }
    return leases.shared(leaseTarget(repo, resticId), 'backup', signal, fn);
  };
}
