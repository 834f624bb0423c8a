/**
 * The running agent as the HTTP API sees it (AgentPort): status, config, runs, triggers. Reads the
 * database for history and config, and the scheduler / run lifecycle for what happens now.
 */
import os from 'node:os';
import type { Clock } from '../clock.js';
import type { ConfigSync } from '../config/config-sync.js';
import type { Database } from '../db/index.js';
import { getRun, latestRunsOfDevice, listRuns } from '../db/index.js';
import { AppError } from '../errors.js';
import type { EventBus } from '../events.js';
import type { AgentPort, AgentStatus, ConfigView, RunDetail, RunSummary, TriggerResult } from '../api/agent-port.js';
import type { ConfigChange } from '../api/config-schema.js';
import type { ResticVersion } from '../backup/restic-version.js';
import { formatVersion } from '../backup/restic-version.js';
import type { RunLifecycle } from '../runs/run-lifecycle.js';
import { nextRunTimes } from '../scheduler/next-run.js';
import type { Scheduler } from '../scheduler/scheduler.js';
import { AGENT_VERSION } from '../version.js';
import { applyConfigChange, readConfigView } from './config-apply.js';
import { runDetail, runSummary } from './run-views.js';

export interface AgentServiceOptions {
  db: Database;
  deviceId: string;
  deviceName: string;
  localZone: string;
  events: EventBus;
  scheduler: Scheduler;
  lifecycle: RunLifecycle;
  sync: ConfigSync;
  restic: () => { path: string; version: ResticVersion } | null;
  resticError: () => string | null;
  dbKind: 'postgres' | 'pglite';
  clock: Clock;
  /** Run records waiting in the local journal for the database. */
  pendingJournalEntries: () => number;
}

/**
 * How long GET /status reuses the latest runs read from the database (ms). A run that starts or
 * finished on this agent drops the copy at once (run.started / run.finished come after the run
 * store wrote); the TTL only bounds how late runs written by others (journal replay, SQL) appear.
 * Measured by bench/api.mjs: one query per request at 500 requests/s during a backup cost p99.
 */
const LATEST_RUNS_TTL_MS = 1000;

export class AgentService implements AgentPort {
  readonly events: EventBus;
  /** The latest-runs query shared by concurrent and close-together status() calls. */
  private latestRuns: { at: number; result: Promise<Map<string, RunSummary>> } | null = null;

  constructor(private readonly o: AgentServiceOptions) {
    this.events = o.events;
    const drop = (): void => { this.latestRuns = null; };
    o.events.on('run.started', drop);
    o.events.on('run.finished', drop);
    o.events.on('config.reloaded', drop);
  }

  /** Latest run per job of this device, read at most once per LATEST_RUNS_TTL_MS; a failed read is not kept. */
  private latestRunsByJob(): Promise<Map<string, RunSummary>> {
    const now = this.o.clock.monotonic();
    const cached = this.latestRuns;
    if (cached && now - cached.at < LATEST_RUNS_TTL_MS) return cached.result;
    const entry = { at: now, result: latestRunsOfDevice(this.o.db, this.o.deviceId).then((rows) => new Map(rows.map((r) => [r.jobId, runSummary(r)]))) };
    entry.result.catch(() => { if (this.latestRuns === entry) this.latestRuns = null; });
    this.latestRuns = entry;
    return entry.result;
  }

  async status(): Promise<AgentStatus> {
    const sync = this.o.sync.status();
    const config = this.o.sync.config;
    let latest: Map<string, RunSummary> = new Map();
    if (sync.connected) {
      try {
        latest = await this.latestRunsByJob();
      } catch {
        // database just went away: status still answers from memory
      }
    }
    const sched = new Map(this.o.scheduler.status().map((s) => [s.jobId, s]));
    const restic = this.o.restic();
    const jobs = [...(config?.jobs ?? []).map((j) => ({ id: j.id, name: j.name, enabled: j.enabled, sourcePaths: j.sourcePaths, invalidReason: null as string | null })),
      ...(config?.invalidJobs ?? []).map((j) => ({ id: j.id, name: j.name, enabled: false, sourcePaths: [] as string[], invalidReason: j.reason }))];
    return {
      device: { id: this.o.deviceId, name: config?.deviceName ?? this.o.deviceName, hostname: os.hostname(), platform: process.platform, agentVersion: AGENT_VERSION, resticVersion: restic ? formatVersion(restic.version) : null },
      database: { kind: this.o.dbKind, connected: sync.connected, lastSyncAt: sync.lastSyncAt, usingCachedConfig: sync.usingCachedConfig, cachedConfigSince: sync.cachedConfigSince, downSince: sync.downSince, pendingJournalEntries: this.o.pendingJournalEntries(), listening: sync.listening, pollingReason: sync.pollingReason },
      restic: { ok: restic !== null, version: restic ? formatVersion(restic.version) : null, error: this.o.resticError() },
      jobs: jobs.map((j) => {
        const s = sched.get(j.id);
        const running = this.o.lifecycle.byJob(j.id);
        return {
          ...j, lastRun: latest.get(j.id) ?? null, nextRunAt: s?.nextRunAt?.toISOString() ?? null,
          running: running !== null, queued: s?.queued ?? false, progress: running?.progress ?? null,
        };
      }),
      running: this.o.lifecycle.list().map((r) => ({ jobId: r.jobId, runId: r.runId, startTime: r.startTime, progress: r.progress })),
    };
  }

  getConfig(): Promise<ConfigView> {
    return readConfigView(this.o.db, this.o.deviceId);
  }

  async postConfig(body: unknown): Promise<{ ok: true; config: ConfigView } | { ok: false; errors: import('../errors.js').FieldError[] }> {
    const result = await applyConfigChange(this.o.db, this.o.deviceId, body as ConfigChange);
    if (!result.ok) return result;
    await this.o.sync.checkNow('api'); // apply at once on this agent (others get NOTIFY)
    return { ok: true, config: await this.getConfig() };
  }

  async triggerJob(jobId: string): Promise<TriggerResult> {
    const r = this.o.scheduler.trigger(jobId, 'manual');
    return r.state === 'already_running' ? { state: 'already_running', jobId } : { ...r, jobId };
  }

  async listRuns(q: { limit: number; offset: number; jobId?: string }): Promise<RunSummary[]> {
    return (await listRuns(this.o.db, { deviceId: this.o.deviceId, jobId: q.jobId, limit: q.limit, offset: q.offset })).map(runSummary);
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
    const all = job.schedules.filter((s) => s.enabled).flatMap((s) => {
      try {
        return nextRunTimes(s, now, n, { localZone: this.o.localZone, lastRunAt: s.lastRunAt ? new Date(s.lastRunAt) : null });
      } catch {
        return [];
      }
    });
    return all.sort((a, b) => a.getTime() - b.getTime()).slice(0, n).map((d) => d.toISOString());
  }

  async previewCron(expression: string, timezone: string | null, n: number): Promise<string[]> {
    const schedule = { id: 0, jobId: '', type: 'cron' as const, cronExpression: expression, intervalSeconds: null, timezone, catchUp: true, enabled: true, lastRunAt: null, nextRunAt: null };
    return nextRunTimes(schedule, new Date(this.o.clock.now()), n, { localZone: this.o.localZone }).map((d) => d.toISOString());
  }
}
