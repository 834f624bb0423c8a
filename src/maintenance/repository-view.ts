/**
 * The repository view (issue 18 point 5): per repository this device's jobs use, its size and
 * snapshot count (restic stats --mode raw-data, stored after each prune), the last forget, prune and
 * check with their results (runs of any device, by restic's repository id), the maintenance plan
 * and the live leases. Served as `GET /repositories` and shown in the UI. The URL is shown without
 * credentials.
 */
import type { DeviceConfig, RepositoryConfig } from '../config/device-config.js';
import type { Database } from '../db/database.js';
import { lastMaintenanceRuns, listRepositoryState, liveLeases } from '../db/queries/leases.js';
import { errorMessage } from '../errors.js';
import { redactRepositoryUrl } from '../backup/watchdog.js';
import type { RepositoryIds } from './repository-ids.js';
import { maintenancePlan } from './maintenance-settings.js';
import { repositoriesOf } from './maintenance-schedules.js';

export interface RepositoryView {
  /** repositories.id, or null for the repository of the repository_* settings. */
  id: string | null;
  name: string;
  url: string;
  restic_repository_id: string | null;
  /** Why the restic id is not known (repository unreachable...), else null. */
  error: string | null;
  size_bytes: number | null;
  snapshot_count: number | null;
  stats_at: string | null;
  prune_schedule: string | null;
  check_schedule: string | null;
  check_read_data_subset: string | null;
  last: Record<
    string,
    {
      status: string;
      start_time: string;
      end_time: string | null;
      device_id: string;
      error: string | null;
      last_success_at: string | null;
    }
  >;
  leases: { mode: string; operation: string; device_id: string; expires_at: string }[];
}

/**
 * The views of the repositories of `config`. The repositories are read side by side (restic ids
 * resolved through `ids`, at most 120 s each), so unreachable repositories cost one time-out per
 * request, not one each in turn.
 */
export async function repositoryViews(
  db: Database,
  config: DeviceConfig,
  ids: RepositoryIds,
): Promise<RepositoryView[]> {
  return Promise.all(repositoriesOf(config).map((repo) => repositoryView(db, config, repo, ids)));
}

async function repositoryView(
  db: Database,
  config: DeviceConfig,
  repo: RepositoryConfig,
  ids: RepositoryIds,
): Promise<RepositoryView> {
  const plan = maintenancePlan(repo, config.settings);
  const view: RepositoryView = {
    id: repo.id,
    name: repo.name,
    url: redactRepositoryUrl(repo.url),
    restic_repository_id: null,
    error: null,
    size_bytes: null,
    snapshot_count: null,
    stats_at: null,
    prune_schedule: plan.prune,
    check_schedule: plan.check,
    check_read_data_subset: plan.readDataSubset,
    last: {},
    leases: [],
  };
  try {
    const rid = await ids.resolve(repo, { timeoutSeconds: 120 });
    view.restic_repository_id = rid;
    const [[state], last, leases] = await Promise.all([
      listRepositoryState(db, [rid]),
      lastMaintenanceRuns(db, rid),
      liveLeases(db, rid),
    ]);
    if (state) {
      view.size_bytes = state.sizeBytes;
      view.snapshot_count = state.snapshotCount;
      view.stats_at = state.statsAt;
    }
    for (const r of last)
      view.last[r.operation] = {
        status: r.status,
        start_time: r.startTime,
        end_time: r.endTime,
        device_id: r.deviceId,
        error: r.errorMessage,
        last_success_at: r.lastSuccessAt,
      };
    view.leases = leases.map((l) => ({
      mode: l.mode,
      operation: l.operation,
      device_id: l.deviceId,
      expires_at: l.expiresAt,
    }));
  } catch (err) {
    view.error = errorMessage(err);
  }
  return view;
}
