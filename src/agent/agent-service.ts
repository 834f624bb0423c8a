/**
 * The running agent as the HTTP API sees it (AgentPort): status, config, runs, triggers. Reads the
 * database for history and config, and the scheduler / run lifecycle for what happens now.
 */
import os from 'node:os';
import type { MaintenanceDeps } from '../maintenance/maintenance-deps.js';
import { repositoryViews, type RepositoryView } from '../maintenance/repository-view.js';
import type { RetentionPolicy } from '../maintenance/retention-policy.js';
import { previewForget, type ForgetPlan } from '../tasks/forget-task.js';
import type { Clock } from '../clock.js';
import type { ConfigSync } from '../sync/config-sync.js';
import type { Database } from '../db/index.js';
import {
  failingSinceOfDevice,
  getRun,
  lastSuccessRunsOfDevice,
  latestRunsOfDevice,
  listRuns,
  type RunOperation,
} from '../db/index.js';
import { storedSettingProblems } from '../config/settings-registry.js';
import { AppError } from '../errors.js';
import type { EventBus } from '../events.js';
import type { AgentPort, AgentStatus, ConfigView, RunDetail, RunSummary, TriggerResult } from '../api/agent-port.js';
import type { ConfigChange } from '../api/config-schema.js';
import type { ResticVersion } from '../restic/version.js';
import { formatVersion } from '../restic/version.js';
import type { RunLifecycle } from '../runs/run-lifecycle.js';
import { nextRunTimes } from '../scheduler/next-run.js';
import type { Scheduler } from '../scheduler/scheduler.js';
import { AGENT_VERSION } from '../version.js';
import { applyConfigChange, readConfigView } from './config-apply.js';
import { runDetail, runSummary } from './run-views.js';
import { setUpRepository, type RepositoryInput } from './repository-setup.js';
import { LocalChannels } from '../notify/local-channels.js';

/**
 * What every agent-side port (AgentService, AgentRestore) gets from the composition root
 * (src/app.ts builds it once and hands the same object to both).
 */
export interface AgentParts {
  db: Database;
  /** client.data_dir (restic's cache of a repository added from the UI, restores, the recovery-kit mark). */
  dataDir: string;
  clock: Clock;
  events: EventBus;
  sync: ConfigSync;
  scheduler: Scheduler;
  lifecycle: RunLifecycle;
  restic: () => { path: string; version: ResticVersion } | null;
  resticError: () => string | null;
}

export interface AgentServiceOptions extends AgentParts {
  deviceId: string;
  deviceName: string;
  localZone: string;
  dbKind: 'postgres' | 'pglite';
  /** Issue 19: the notification status (a notifier alive or not); absent = not shown. */
  notifications?: () => import('../notify/notifier-health.js').NotificationsStatus;
  /** Run records waiting in the local journal for the database. */
  pendingJournalEntries: () => number;
  /** Issue 18: the maintenance parts (repository view, forget preview); absent = those routes answer 404. */
  maintenance?: { deps: MaintenanceDeps };
}

/**
 * How long GET /status reuses the latest runs read from the database (ms). A run that starts or
 * finished on this agent drops the copy at once (run.started / run.finished come after the run
 * store wrote); the TTL only bounds how late runs written by others (journal replay, SQL) appear.
 * Measured by bench/api.mjs: one query per request at 500 requests/s during a backup cost p99.
 */
const LATEST_RUNS_TTL_MS = 1000;

/** The runs GET /status reads from the database, per job id. */
interface LatestRuns {
  latest: Map<string, RunSummary>;
  success: Map<string, RunSummary>;
  failing: Map<string, string>;
}

export class AgentService implements AgentPort {
  readonly events: EventBus;
  /** Notification channels for the local UI (embedded database only; src/notify/local-channels.ts). */
  readonly channels: LocalChannels;
  /** The latest-runs query shared by concurrent and close-together status() calls. */
  private latestRuns: { at: number; result: Promise<LatestRuns> } | null = null;

  constructor(private readonly o: AgentServiceOptions) {
    this.events = o.events;
    this.channels = new LocalChannels({
      db: o.db,
      device: () => ({ id: o.deviceId, name: o.sync.config?.deviceName ?? o.deviceName }),
    });
    const drop = (): void => {
      this.latestRuns = null;
    };
    o.events.on('run.started', drop);
    o.events.on('run.finished', drop);
    o.events.on('config.reloaded', drop);
  }

  /** Latest run per job of this device, read at most once per LATEST_RUNS_TTL_MS; a failed read is not kept. */
  private latestRunsByJob(): Promise<LatestRuns> {
    const now = this.o.clock.monotonic();
    const cached = this.latestRuns;
    if (cached && now - cached.at < LATEST_RUNS_TTL_MS) return cached.result;
    const entry = {
      at: now,
      result: Promise.all([
        latestRunsOfDevice(this.o.db, this.o.deviceId),
        lastSuccessRunsOfDevice(this.o.db, this.o.deviceId),
        failingSinceOfDevice(this.o.db, this.o.deviceId),
      ]).then(([latest, success, failing]) => ({
        latest: new Map(latest.flatMap((r) => (r.jobId ? [[r.jobId, runSummary(r)] as const] : []))),
        success: new Map(success.flatMap((r) => (r.jobId ? [[r.jobId, runSummary(r)] as const] : []))),
        failing,
      })),
    };
    entry.result.catch(() => {
      if (this.latestRuns === entry) this.latestRuns = null;
    });
    this.latestRuns = entry;
    return entry.result;
  }

  async status(): Promise<AgentStatus> {
    const sync = this.o.sync.status();
    const config = this.o.sync.config;
    let latest: LatestRuns = { latest: new Map(), success: new Map(), failing: new Map() };
    if (sync.connected) {
      try {
        latest = await this.latestRunsByJob();
      } catch {
        // database just went away: status still answers from memory
      }
    }
    const sched = new Map(this.o.scheduler.status().map((s) => [s.jobId, s]));
    const restic = this.o.restic();
    const jobs = [
      ...(config?.jobs ?? []).map((j) => ({
        id: j.id,
        name: j.name,
        enabled: j.enabled,
        sourcePaths: j.sourcePaths,
        description: j.description ?? null,
        tags: j.tags,
        invalidReason: null as string | null,
      })),
      ...(config?.invalidJobs ?? []).map((j) => ({
        id: j.id,
        name: j.name,
        enabled: false,
        sourcePaths: [] as string[],
        description: null as string | null,
        tags: [] as string[],
        invalidReason: j.reason,
      })),
    ];
    return {
      device: {
        id: this.o.deviceId,
        name: config?.deviceName ?? this.o.deviceName,
        hostname: os.hostname(),
        platform: process.platform,
        agentVersion: AGENT_VERSION,
        resticVersion: restic ? formatVersion(restic.version) : null,
      },
      database: {
        kind: this.o.dbKind,
        connected: sync.connected,
        lastSyncAt: sync.lastSyncAt,
        usingCachedConfig: sync.usingCachedConfig,
        cachedConfigSince: sync.cachedConfigSince,
        downSince: sync.downSince,
        pendingJournalEntries: this.o.pendingJournalEntries(),
        listening: sync.listening,
        pollingReason: sync.pollingReason,
      },
      restic: {
        ok: restic !== null,
        version: restic ? formatVersion(restic.version) : null,
        error: this.o.resticError(),
      },
      settingProblems: storedSettingProblems(
        Object.entries(config?.settings ?? {}).map(([key, value]) => ({ key, value })),
      ),
      jobs: jobs.map((j) => {
        const s = sched.get(j.id);
        const running = this.o.lifecycle.byJob(j.id);
        return {
          ...j,
          lastRun: latest.latest.get(j.id) ?? null,
          lastSuccess: latest.success.get(j.id) ?? null,
          failingSince: latest.failing.get(j.id) ?? null,
          nextRunAt: s?.nextRunAt?.toISOString() ?? null,
          retryAt: s?.retryAt?.toISOString() ?? null,
          running: running !== null,
          queued: s?.queued ?? false,
          progress: running?.progress ?? null,
        };
      }),
      notifications: this.o.notifications?.() ?? null,
      running: this.o.lifecycle.list().map((r) => ({
        operation: r.operation,
        jobId: r.jobId,
        repositoryId: r.repositoryId,
        runId: r.runId,
        startTime: r.startTime,
        progress: r.progress,
      })),
    };
  }

  getConfig(): Promise<ConfigView> {
    return readConfigView(this.o.db, this.o.deviceId);
  }

  async postConfig(
    body: unknown,
  ): Promise<{ ok: true; config: ConfigView } | { ok: false; errors: import('../errors.js').FieldError[] }> {
    const result = await applyConfigChange(this.o.db, this.o.deviceId, body as ConfigChange);
    if (!result.ok) return result;
    await this.o.sync.checkNow('api'); // apply at once on this agent (others get NOTIFY)
    return { ok: true, config: await this.getConfig() };
  }

  async triggerJob(jobId: string): Promise<TriggerResult> {
    const r = this.o.scheduler.trigger(jobId, 'manual');
    return r.state === 'already_running' ? { state: 'already_running', jobId } : { ...r, jobId };
  }

  async listRuns(q: {
    limit: number;
    offset: number;
    jobId?: string;
    operation?: RunOperation;
  }): Promise<RunSummary[]> {
    return (
      await listRuns(this.o.db, {
        deviceId: this.o.deviceId,
        jobId: q.jobId,
        operation: q.operation,
        limit: q.limit,
        offset: q.offset,
      })
    ).map(runSummary);
  }

  async getRun(id: number): Promise<RunDetail | null> {
    const r = await getRun(this.o.db, id);
    return r && r.deviceId === this.o.deviceId ? runDetail(r) : null;
  }

  async cancelRun(id: number): Promise<boolean> {
    return this.o.lifecycle.cancelRun(id);
  }

  async nextRuns(jobId: string, n: number): Promise<string[]> {
    const job = this.o.sync.config?.jobs.find((j) => j.id === jobId);
    if (!job) throw new AppError('NOT_FOUND', `job ${jobId} not found`);
    const now = new Date(this.o.clock.now());
    const all = job.schedules
      .filter((s) => s.enabled)
      .flatMap((s) => {
        try {
          return nextRunTimes(s, now, n, {
            localZone: this.o.localZone,
            lastRunAt: s.lastRunAt ? new Date(s.lastRunAt) : null,
          });
        } catch {
          return [];
        }
      });
    return all
      .sort((a, b) => a.getTime() - b.getTime())
      .slice(0, n)
      .map((d) => d.toISOString());
  }

  addRepository(input: RepositoryInput): ReturnType<AgentPort['addRepository']> {
    return setUpRepository(
      { db: this.o.db, clock: this.o.clock, dataDir: this.o.dataDir, resticPath: this.o.restic()?.path ?? null },
      input,
    );
  }

  async previewCron(expression: string, timezone: string | null, n: number): Promise<string[]> {
    const schedule = {
      id: 0,
      jobId: '',
      type: 'cron' as const,
      cronExpression: expression,
      intervalSeconds: null,
      timezone,
      catchUp: true,
      enabled: true,
      lastRunAt: null,
      nextRunAt: null,
    };
    return nextRunTimes(schedule, new Date(this.o.clock.now()), n, { localZone: this.o.localZone }).map((d) =>
      d.toISOString(),
    );
  }

  /** GET /repositories (issue 18). Throws CONFLICT while no config is loaded. */
  async repositories(): Promise<RepositoryView[]> {
    const m = this.o.maintenance;
    const config = this.o.sync.config;
    if (!m || !config) throw new AppError('CONFLICT', 'no configuration is loaded yet');
    return repositoryViews(this.o.db, config, m.deps.ids);
  }

  /** The forget preview of a job (issue 18), with `retention` instead of its own policy when given. */
  async previewForget(jobId: string, retention: RetentionPolicy | null): Promise<ForgetPlan> {
    const m = this.o.maintenance;
    const job = this.o.sync.config?.jobs.find((j) => j.id === jobId);
    if (!m || !job) throw new AppError('NOT_FOUND', `job ${jobId} not found`);
    return previewForget(job, m.deps, retention ?? undefined);
  }
}
