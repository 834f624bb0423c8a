/**
 * The composition root: the one place that builds and wires the agent's parts (CONTRACTS §1 `run`),
 * and takes them down again in order. Nothing else creates long-lived objects.
 *
 * start: restic discovery -> database (migrate, register device, close crashed runs) -> config
 *        (database or last-known-good copy) -> metrics -> run lifecycle -> scheduler -> config
 *        sync (each check-in also records the device heartbeat) -> HTTP API
 * stop:  stop starting backups -> let running ones finish (bounded) -> cancel -> sync, API,
 *        metrics push, database.
 */
import os from 'node:os';
import { systemClock, type Clock } from './clock.js';
import type { LocalConfig } from './config/local-config.js';
import { ConfigSync, type ListenMode } from './config/config-sync.js';
import { agentSettings } from './config/device-config.js';
import { ownerGone } from './runs/run-owner.js';
import { openDatabase, migrate, upsertDevice, markInterruptedRuns, lastSuccessFiles, lastSuccessPerJob, recordResticHost, setScheduleNextRun, usesServer, type Database } from './db/index.js';
import { isTransientConnectError } from './db/db-errors.js';
import { connectInBackground, DeferredDatabase, quietRetryLogger } from './db/deferred-database.js';
import { AppError, errorMessage } from './errors.js';
import { EventBus } from './events.js';
import type { Logger } from './logging.js';
import { ActiveRepositories } from './backup/active-repositories.js';
import { discoverRestic, formatVersion, type ResticVersion } from './backup/restic-version.js';
import { RunLifecycle } from './runs/run-lifecycle.js';
import { DbRunStore } from './runs/run-store.js';
import { RunRetention } from './runs/retention.js';
import { JournalRunStore } from './runs/journal-run-store.js';
import { Scheduler } from './scheduler/scheduler.js';
import { BackupMetrics } from './metrics/backup-metrics.js';
import { PushgatewayPusher } from './metrics/pushgateway.js';
import { createApiServer, type ApiServer } from './api/server.js';
import { AgentService } from './agent/agent-service.js';
import { AGENT_VERSION } from './version.js';
import { ensureApiToken } from './api/auth/token-file.js';
import { uiPasswordHash } from './api/auth/ui-password-setting.js';
import { sharedRoleWarning } from './db/shared-role.js';

export interface StartAgentOptions {
  local: LocalConfig;
  logger: Logger;
  clock?: Clock;
  /** Serve the HTTP API (default true). */
  http?: boolean;
  /** NOTIFY for config changes: overrides `database.listen` of the local config (default 'auto'). */
  listen?: ListenMode;
  /** A one-time login code for `GET /?token=CODE` (the quick start prints the link), valid 1 h. */
  loginCode?: string;
}

export interface Agent {
  readonly db: Database;
  readonly service: AgentService;
  /** The API's URL, or null when HTTP is off. */
  readonly url: string | null;
  /** Graceful stop (idempotent): see the module doc. Resolves when everything is closed. */
  stop(reason: string): Promise<void>;
  /** Cancel running backups now (a second SIGTERM). */
  cancelRunning(): void;
}

const INTERRUPTED_MESSAGE = 'The agent stopped (crash, kill or power loss) while this backup ran; it will catch up once.';

/**
 * Start every part of the agent; throws DB_CONNECT / DB_LOCKED / CONFIG_INVALID as user errors. A
 * PostgreSQL server that is merely unreachable (refused, time-out) is no error: the agent starts from
 * the last-known-good config and connects in the background (src/db/deferred-database.ts).
 */
export async function startAgent(opts: StartAgentOptions): Promise<Agent> {
  const { local, logger } = opts;
  const clock = opts.clock ?? systemClock;
  const deviceId = local.device.id;
  const localZone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  const events = new EventBus();
  // First, so a token file with a wrong owner or mode stops the start before anything runs.
  const apiToken = opts.http === false ? null : local.client.api_token ?? ensureApiToken(local.dataDir);

  // `restic version` (a child process) runs while the database opens: opening the embedded one is
  // CPU work in this process, so the two overlap instead of adding up (bench/footprint.mjs).
  const discovery = discoverRestic(local.client.restic_binary).then(
    (found) => ({ found, error: null }),
    (err: unknown) => ({ found: null, error: errorMessage(err) }),
  );
  const opening = openDatabase({ database: local.database, dataDir: local.dataDir }, logger);
  opening.catch(() => undefined); // awaited below; only keeps an early failure from being unhandled meanwhile
  const discovered = await discovery;
  const restic: { path: string; version: ResticVersion } | null = discovered.found;
  const resticError: string | null = discovered.error;
  if (resticError) logger.error({ restic_binary: local.client.restic_binary }, resticError);

  // A PostgreSQL server that is unreachable at start (not a config error such as a bad password)
  // does not stop the agent: it runs from the last-known-good config and connects in the background.
  const prepare = (conn: Database) => prepareDatabase(conn, local, restic, logger);
  let db: Database;
  let deferred: DeferredDatabase | null = null;
  let interrupted: InterruptedRun[] = [];
  try {
    db = await opening;
  } catch (err) {
    if (!usesServer(local.database) || !isUnreachable(err)) throw err;
    logger.error({ err: errorMessage(err) }, 'database unreachable at start: running from the last-known-good config and connecting in the background');
    db = deferred = new DeferredDatabase('postgres', errorMessage(err));
  }
  if (!deferred) {
    try {
      interrupted = await prepare(db);
    } catch (err) {
      await db.close();
      throw err;
    }
  }

  const metrics = new BackupMetrics({ deviceId });
  const pusher = local.metrics.enabled
    ? new PushgatewayPusher({
      url: local.metrics.prometheus_pushgateway, deviceId, timeoutSeconds: local.metrics.push_timeout_seconds,
      intervalSeconds: local.metrics.push_interval_seconds, logger, getBody: () => metrics.metricsText(), clock,
    })
    : null;

  // Every run goes to the local journal before the database, so an outage loses nothing (C17).
  const store = new JournalRunStore(new DbRunStore(db), local.dataDir, logger, () => new Date(clock.now()));
  await store.replay();
  const lifecycle = new RunLifecycle({
    deviceId, dataDir: local.dataDir, clock, events, logger, store, activeRepositories: new ActiveRepositories(),
    restic: () => restic, resticError: () => resticError,
    timeouts: () => agentSettings(sync.config?.settings ?? {}),
    previousFiles: (jobId) => lastSuccessFiles(db, jobId),
    recordResticHost: (jobId, host) => recordResticHost(db, jobId, host), verifySnapshotTag: true,
    onFinished: (job, r) => {
      metrics.recordRun({ jobId: job.id, jobName: job.name, status: r.status, endTime: new Date(r.endTime), durationSeconds: r.durationSeconds, totalFilesProcessed: r.totalFilesProcessed, dataAddedBytes: r.dataAddedBytes, notASuccess: r.errorKind === 'empty_source' });
      pusher?.pushSoon();
    },
  });
  const scheduler = new Scheduler({
    clock, localZone, logger,
    execute: (job, by) => lifecycle.execute(job, by),
    onNextRunComputed: (scheduleId, next) => {
      setScheduleNextRun(db, scheduleId, next).catch((err: unknown) => logger.debug({ err: errorMessage(err) }, 'next_run_at not stored'));
    },
  });
  const sync = new ConfigSync({
    db, deviceId, dataDir: local.dataDir, clock, logger, localZone, listen: opts.listen ?? local.database?.listen ?? 'auto',
    heartbeat: { hostname: os.hostname(), metadata: deviceMetadata(restic) },
    onChange: (config, changes) => {
      scheduler.reload(config);
      metrics.syncJobs(config.jobs.map((j) => ({ id: j.id, name: j.name })));
      events.emit('config.reloaded', { changes: changes.map((c) => c.message), loadedAt: config.loadedAt });
    },
  });
  const config = await sync.loadInitial();
  logBanner(logger, local, db, config, restic);
  const catchUp = (runs: InterruptedRun[]) => {
    for (const r of runs) if (sync.config?.jobs.some((j) => j.id === r.jobId && j.enabled)) scheduler.trigger(r.jobId, 'missed');
  };
  catchUp(interrupted);
  scheduler.start();
  await sync.start();
  const connector = deferred
    ? connectInBackground({
      target: deferred, clock, logger,
      open: () => openDatabase({ database: local.database, dataDir: local.dataDir }, quietRetryLogger(logger)),
      setup: async (conn) => { interrupted = await prepare(conn); },
      onAttached: async () => {
        await sync.checkNow('database connected');
        catchUp(interrupted);
        await store.replay();
      },
    })
    : null;
  // C32: the gauges come from the runs table before the first push replaces the Pushgateway group.
  if (!deferred) {
    try {
      for (const l of await lastSuccessPerJob(db, deviceId)) metrics.restoreLastSuccess({ id: l.jobId, name: l.jobName }, l);
    } catch (err) {
      logger.warn({ err: errorMessage(err) }, 'could not read the last successful runs for the metrics');
    }
  }
  pusher?.start();

  const service = new AgentService({ db, deviceId, pendingJournalEntries: () => store.pending, deviceName: local.device.name ?? deviceId, localZone, events, scheduler, lifecycle, sync, restic: () => restic, resticError: () => resticError, dbKind: db.kind, clock });
  let api: ApiServer | null = null;
  let url: string | null = null;
  if (opts.http !== false) {
    api = await createApiServer({
      port: service, bind: local.client.http_bind, apiToken: apiToken ?? '', logger, version: AGENT_VERSION,
      passwordHash: () => uiPasswordHash(db, deviceId, () => sync.config?.settings ?? {}),
      extraRoutes: (app) => {
        // Behind the login like every route, unless metrics.public (a scraper without the token).
        app.get('/metrics', { config: { publicRoute: local.metrics.public } }, async (_req, reply) => reply.type(metrics.contentType).send(await metrics.metricsText()));
      },
    });
    if (opts.loginCode) api.addLoginCode(opts.loginCode, 3600);
    url = await api.listen();
    logger.info({ url }, 'web UI and API listening');
  }

  const retention = new RunRetention({ db, clock, logger });
  retention.start();
  const stopReplay = startJournalReplay(store, metrics, clock);

  let stopping: Promise<void> | null = null;
  const stop = (reason: string): Promise<void> => {
    stopping ??= (async () => {
      logger.info({ reason, running: lifecycle.size }, 'stopping');
      const stopped = scheduler.stop();
      const timeoutMs = local.client.shutdown_timeout_seconds * 1000;
      if (lifecycle.size > 0) {
        let cancelTimer: (() => void) | null = null;
        await Promise.race([stopped, new Promise<void>((resolve) => { cancelTimer = clock.setTimer(resolve, Math.min(timeoutMs, 2 ** 31 - 1)); })]);
        (cancelTimer as (() => void) | null)?.();
        if (lifecycle.size > 0) {
          logger.warn({ running: lifecycle.size }, 'shutdown timeout reached: cancelling running backups');
          lifecycle.cancelAll();
        }
      }
      await stopped;
      await retention.stop();
      await connector?.stop();
      stopReplay();
      await store.replay();
      await sync.stop();
      await api?.close();
      await pusher?.stop();
      await db.close();
      logger.info('stopped');
    })();
    return stopping;
  };
  return { db, service, url, stop, cancelRunning: () => lifecycle.cancelAll() };
}

type InterruptedRun = { id: number; jobId: string };

/** A failure to open PostgreSQL that is an outage (refused, time-out, server starting), not a config error. */
function isUnreachable(err: unknown): boolean {
  return err instanceof AppError && err.code === 'DB_CONNECT' && err.cause !== undefined && isTransientConnectError(err.cause);
}

/** Migrate, register this device, close runs a crash left `running`; throws the database's error. */
async function prepareDatabase(db: Database, local: LocalConfig, restic: { version: ResticVersion } | null, logger: Logger): Promise<InterruptedRun[]> {
  const migrated = await migrate(db);
  if (migrated.applied.length > 0) logger.info({ applied: migrated.applied }, 'database migrated');
  await upsertDevice(db, {
    id: local.device.id, name: local.device.name, platform: process.platform, hostname: os.hostname(),
    metadata: deviceMetadata(restic),
  });
  const shared = await sharedRoleWarning(db);
  if (shared) logger.warn(shared);
  // C33: a run whose owner still lives (a `rbackup2 backup` of this device) is left alone.
  const interrupted = await markInterruptedRuns(db, local.device.id, INTERRUPTED_MESSAGE, (o) => ownerGone(o));
  for (const r of interrupted) logger.warn({ runId: r.id, jobId: r.jobId }, 'run left running by a crash marked interrupted');
  return interrupted;
}

function logBanner(logger: Logger, local: LocalConfig, db: Database, config: import('./config/device-config.js').DeviceConfig | null, restic: { path: string; version: ResticVersion } | null): void {
  logger.info({
    version: AGENT_VERSION, device: local.device.id, database: db.kind === 'pglite' ? `embedded (${local.dataDir})` : 'postgresql',
    restic: restic ? `${formatVersion(restic.version)} (${restic.path})` : 'missing',
    jobs: config?.jobs.filter((j) => j.enabled).map((j) => j.name) ?? [],
    invalidJobs: config?.invalidJobs.map((j) => `${j.name}: ${j.reason}`) ?? [],
    settings: config ? { sync_interval_seconds: config.settings.sync_interval_seconds, max_concurrent_backups: config.settings.max_concurrent_backups } : null,
  }, 'rbackup2 agent started');
}

/** Write journalled runs to the database every 30 s (a no-op when none wait); returns the stop function. */
function startJournalReplay(store: JournalRunStore, metrics: BackupMetrics, clock: Clock): () => void {
  let cancel: (() => void) | null = null;
  let stopped = false;
  const tick = () => {
    void store.replay().finally(() => {
      metrics.setJournalPending(store.pending);
      if (!stopped) cancel = clock.setTimer(tick, 30_000);
    });
  };
  cancel = clock.setTimer(tick, 30_000);
  return () => {
    stopped = true;
    cancel?.();
  };
}

/** What devices.metadata says about this agent (set at registration and by every check-in's heartbeat). */
function deviceMetadata(restic: { version: ResticVersion } | null): Record<string, unknown> {
  return { agent_version: AGENT_VERSION, restic_version: restic ? formatVersion(restic.version) : null, os: `${os.type()} ${os.release()}`, arch: process.arch };
}
