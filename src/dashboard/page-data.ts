/**
 * The data of one dashboard page (issue 19 point 5): a page of devices, each with its jobs marked
 * stale (src/notify/stale.ts, the watcher's rule) or failing (last run failed), silent devices,
 * repositories and recent failures. Stale limits are cached per schedule set (StaleLimits: a
 * per-minute cron costs 2000 due-time computations once an hour, not per request).
 */
import type { Queryable } from '../db/database.js';
import {
  fleetDevicesPage,
  fleetJobs,
  fleetRepositories,
  recentFailures,
  type FleetDevice,
  type FleetJob,
} from '../db/queries/dashboard.js';
import { getEffectiveSettings } from '../db/queries/settings.js';
import { DEFAULT_SILENT_AFTER_SECONDS, intOrNull, StaleLimits } from '../notify/stale.js';

export interface PageJob extends Omit<FleetJob, 'schedules' | 'staleAfter' | 'grace'> {
  stale: boolean;
  failing: boolean;
  staleLimitSeconds: number | null;
}

export interface PageData {
  generatedAt: string;
  page: number;
  perPage: number;
  totalDevices: number;
  devices: (FleetDevice & { silent: boolean; jobs: PageJob[] })[];
  repositories: Awaited<ReturnType<typeof fleetRepositories>>;
  failures: Awaited<ReturnType<typeof recentFailures>>;
}

export class PageDataSource {
  private readonly limits: StaleLimits;

  constructor(
    private readonly db: Queryable,
    localZone: string,
    private readonly now: () => number = Date.now,
  ) {
    this.limits = new StaleLimits(localZone);
  }

  /** Page `page` (1-based) of `perPage` devices (1..200), optionally filtered by name/id. */
  async load(page: number, perPage: number, search = ''): Promise<PageData> {
    const now = new Date(this.now());
    const [{ total, devices }, settings, repositories, failures] = await Promise.all([
      fleetDevicesPage(this.db, perPage, (page - 1) * perPage, search),
      getEffectiveSettings(this.db, null),
      fleetRepositories(this.db),
      recentFailures(this.db, 20),
    ]);
    const silentAfter = intOrNull(settings.silent_after_seconds ?? null) ?? DEFAULT_SILENT_AFTER_SECONDS;
    const jobs = await fleetJobs(
      this.db,
      devices.map((d) => d.id),
    );
    const byDevice = new Map<string, PageJob[]>();
    for (const j of jobs) {
      const limit = j.enabled ? this.limits.limit(j, now) : null;
      const since = j.lastSuccess ?? null;
      const stale = limit !== null && (since === null || now.getTime() - Date.parse(since) > limit * 1000);
      const { schedules: _s, staleAfter: _a, grace: _g, ...rest } = j;
      const list = byDevice.get(j.deviceId) ?? [];
      list.push({ ...rest, stale, failing: j.lastRunStatus === 'failed', staleLimitSeconds: limit });
      byDevice.set(j.deviceId, list);
    }
    return {
      generatedAt: now.toISOString(),
      page,
      perPage,
      totalDevices: total,
      devices: devices.map((d) => ({
        ...d,
        silent: d.lastSeen !== null && now.getTime() - Date.parse(d.lastSeen) > silentAfter * 1000,
        jobs: byDevice.get(d.id) ?? [],
      })),
      repositories,
      failures,
    };
  }
}
