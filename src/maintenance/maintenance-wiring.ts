/**
 * Builds the maintenance parts of one agent (issue 18) from what the composition root has: the
 * lease coordinator, the restic-id cache, the deps of the forget/prune/check tasks, the backups'
 * repository gate and the schedules. Called once by src/app.ts.
 */
import type { ActiveRepositories } from '../backup/active-repositories.js';
import type { Clock } from '../clock.js';
import { agentSettings, type RepositoryConfig } from '../config/device-config.js';
import type { Database } from '../db/database.js';
import { AppError } from '../errors.js';
import type { Logger } from '../logging.js';
import { connectionFromRepository, type RepositoryConnection } from '../restic/connection.js';
import type { ResticVersion } from '../restic/version.js';
import type { Scheduler } from '../scheduler/scheduler.js';
import { backupGate } from './backup-gate.js';
import type { MaintenanceDeps } from './maintenance-deps.js';
import { MaintenanceSchedules } from './maintenance-schedules.js';
import { RepositoryIds } from './repository-ids.js';
import { RepositoryLeases } from './repository-leases.js';

export interface MaintenanceWiringInput {
  db: Database;
  deviceId: string;
  dataDir: string;
  clock: Clock;
  logger: Logger;
  restic: () => { path: string; version: ResticVersion } | null;
  /** The device's effective settings now. */
  settings: () => Readonly<Record<string, string>>;
  activeRepositories?: ActiveRepositories;
  /** Told after each size measurement (the metrics). */
  onRepositoryStats?: MaintenanceDeps['onRepositoryStats'];
  /** Lease poll period, ms (tests shorten it). */
  pollMs?: number;
}

/**
 * The agent's connection maker (maintenance tasks, restores): throws AppError RESTIC_MISSING when
 * restic was not found (with `resticError`'s reason when given). restic runs in `dataDir`, as for
 * backups (run-backup.ts), so a relative repository URL or password file means the same place.
 */
export function connector(
  restic: MaintenanceWiringInput['restic'],
  dataDir: string,
  resticError?: () => string | null,
): (repo: RepositoryConfig) => RepositoryConnection {
  return (repo) => {
    const r = restic();
    if (!r) throw new AppError('RESTIC_MISSING', resticError?.() ?? 'restic is not available');
    return connectionFromRepository(repo, {
      resticBinary: r.path,
      version: r.version,
      dataDir,
      agentEnv: process.env,
      cwd: dataDir,
    });
  };
}

export function buildMaintenance(i: MaintenanceWiringInput) {
  const typed = () => agentSettings({ ...i.settings() });
  const leases = new RepositoryLeases({
    db: i.db,
    deviceId: i.deviceId,
    clock: i.clock,
    logger: i.logger,
    times: () => typed(),
    ...(i.pollMs ? { pollMs: i.pollMs } : {}),
  });
  const connect = connector(i.restic, i.dataDir);
  const ids = new RepositoryIds(connect);
  const deps: MaintenanceDeps = {
    db: i.db,
    deviceId: i.deviceId,
    leases,
    ids,
    connect,
    settings: () => ({ raw: i.settings(), typed: typed() }),
    ...(i.onRepositoryStats ? { onRepositoryStats: i.onRepositoryStats } : {}),
    ...(i.activeRepositories
      ? { othersRunning: (key: string) => (i.activeRepositories as ActiveRepositories).othersRunning(key) }
      : {}),
  };
  return {
    deps,
    leases,
    ids,
    backupGate: backupGate(leases, ids, i.logger),
    schedules: (scheduler: Scheduler, localZone: string) =>
      new MaintenanceSchedules({ scheduler, deps, clock: i.clock, localZone, logger: i.logger }),
  };
}
