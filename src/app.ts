/**
 * The composition root: the one place that builds and wires the agent's parts (CONTRACTS §1 `run`),
 * and takes them down again in order. Nothing else creates long-lived objects; each part's loop
 * lives in its own module (the database start in src/agent-start/, config sync in src/sync/, the
 * scheduler, the Pushgateway pusher, run-history cleanup and journal replay in theirs).
 *
 * start: restic discovery + database (migrate, register device, close crashed runs) -> metrics ->
 *        run journal + lifecycle -> scheduler -> config sync (database or last-known-good copy;
 *        each check-in also records the device heartbeat) -> background connect -> HTTP API ->
 *        run-history cleanup, journal replay
 * stop:  stop starting backups -> let running ones finish (bounded) -> cancel -> cleanup,
 *        background connect, journal replay (a last one) -> sync, API, metrics push, database.
 */
import os from 'node:os';
import { systemClock, type Clock } from './clock.js';
import type { LocalConfig } from './config/local-config.js';
import { agentSettings } from './config/device-config.js';
import {
  lastSuccessFiles,
  lastSuccessPerJob,
  openDatabase,
  recordResticHost,
  setScheduleNextRun,
  type Database,
} from './db/index.js';
import { connectInBackground, quietRetryLogger } from './db/deferred-database.js';
import { errorMessage } from './errors.js';
import { EventBus } from './events.js';
import type { Logger } from './logging.js';
import { ActiveRepositories } from './backup/active-repositories.js';
import { discoverRestic, type ResticVersion } from './restic/version.js';
import { prepareDatabase, startDatabase, type InterruptedRun } from './agent-start/database.js';
import { deviceMetadata, logBanner } from './agent-start/device-facts.js';
import { stopBackups } from './agent-start/stop-backups.js';
import { RunLifecycle } from './runs/run-lifecycle.js';
import { DbRunStore } from './runs/run-store.js';
import { RunHistoryCleanup } from './runs/run-history-cleanup.js';
import { JournalRunStore } from './runs/journal-run-store.js';
import { startJournalReplay } from './runs/journal-replay.js';
import { Scheduler, type TriggerResult } from './scheduler/scheduler.js';
import { ConfigSync, type ListenMode } from './sync/config-sync.js';
import { createTask, type TaskEnv, type TaskSpec } from './tasks/index.js';
import type { BackupTaskDeps } from './tasks/backup-task.js';
import type { BackupMetrics } from './metrics/backup-metrics.js';
import { observeRunMetrics } from './metrics/run-events.js';
import { PushgatewayPusher } from './metrics/pushgateway.js';
import type { ApiServer } from './api/server.js';
import { AgentService, type AgentParts } from './agent/agent-service.js';
import { AgentRestore } from './agent/agent-restore.js';
import { AGENT_VERSION } from './version.js';
import { ensureApiToken } from './api/auth/token-file.js';
import { uiPasswordHash } from './api/auth/ui-password-setting.js';
import { startNotificationPart, type NotificationPartOptions } from './notify/agent-part.js';
import { buildMaintenance } from './maintenance/maintenance-wiring.js';

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
  /** Notification timings (tests): notifier/watcher tick, retry base, health grace (src/notify/agent-part.ts). */
  notifyIntervals?: NotificationPartOptions['intervals'];
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
  /**
   * Queue a task of any kind (issue 14), e.g. `enqueueTask({ kind: 'forget', jobId, keep: { last: 2 } })`:
   * it goes through the one task queue (never beside a backup or another exclusive task of its
   * repository) and is recorded as a run of that operation. Throws AppError NOT_FOUND for an
   * unknown job, INVALID_INPUT for a bad request, CONFLICT while stopping or when the queue is full.
   */
  enqueueTask(spec: TaskSpec): TriggerResult;
}

/**
 * Start every part of the agent, in this order (each part's loop lives in its own module):
 *   1. restic discovery and the database, overlapping (src/agent-start/database.ts)
 *   2. metrics and the Pushgateway pusher (src/metrics/)
 *   3. the run journal and the run lifecycle (src/runs/)
 *   4. the scheduler (src/scheduler/)
 *   5. config sync: first config, then periodic check-ins and LISTEN (src/sync/)
 *   6. the background database connection, when the server was away at start
 *   7. the API server and web UI (src/api/)
 *   8. run-history cleanup and journal replay (src/runs/)
 * and stop them in reverse order (see `stop` below). Throws DB_CONNECT / DB_LOCKED /
 * CONFIG_INVALID as user errors.
 */
export async function startAgent(opts: StartAgentOptions): Promise<Agent> {
  const { local, logger } = opts;
  const clock = opts.clock ?? systemClock;
  const deviceId = local.device.id;
  const localZone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  const events = new EventBus();
  // First, so a token file with a wrong owner or mode stops the start before anything runs.
  const apiToken = opts.http === false ? null : (local.client.api_token ?? ensureApiToken(local.dataDir));

  // 1. restic and the database. `restic version` (a child process) runs while the database opens:
  // opening the embedded one is CPU work in this process, so the two overlap (bench/footprint.mjs).
  const discovery = discoverRestic(local.client.restic_binary).then(
    (found) => ({ found, error: null }),
    (err: unknown) => ({ found: null, error: errorMessage(err) }),
  );
  const opening = openDatabase({ database: local.database, dataDir: local.dataDir }, logger);
  opening.catch(() => undefined); // awaited below; only keeps an early failure from being unhandled meanwhile
  // The API server's code (fastify, its schema compilers: the largest part of the agent) loads
  // meanwhile too: the embedded database compiles its WebAssembly on V8's background threads and
  // the PostgreSQL server answers over the network, both leave this thread idle for a while.
  const apiCode = opts.http === false ? null : import('./api/server.js');
  apiCode?.catch(() => undefined);
  // prom-client likewise (54-83 ms of this thread when loaded with the agent's own code).
  const metricsCode = import('./metrics/backup-metrics.js');
  metricsCode.catch(() => undefined);
  const discovered = await discovery;
  const restic: { path: string; version: ResticVersion } | null = discovered.found;
  const resticError: string | null = discovered.error;
  if (resticError) logger.error({ restic_binary: local.client.restic_binary }, resticError);
  const database = await startDatabase(opening, local, restic, logger);
  const { db, deferred } = database;
  let interrupted = database.interrupted;

  // 2. metrics.
  const { BackupMetrics } = await metricsCode;
  const metrics: BackupMetrics = new BackupMetrics({ deviceId });
  const pusher = local.metrics.enabled
    ? new PushgatewayPusher({
        url: local.metrics.prometheus_pushgateway,
        deviceId,
        timeoutSeconds: local.metrics.push_timeout_seconds,
        intervalSeconds: local.metrics.push_interval_seconds,
        logger,
        getBody: () => metrics.metricsText(),
        clock,
      })
    : null;

  // 3. runs: every run goes to the local journal before the database, so an outage loses nothing (C17).
  const store = new JournalRunStore(new DbRunStore(db), local.dataDir, logger, () => new Date(clock.now()));
  await store.replay();
  // Issue 18: leases, restic repository ids and the maintenance tasks' needs (forget, prune, check).
  const activeRepositories = new ActiveRepositories();
  const maintenance = buildMaintenance({
    db,
    deviceId,
    dataDir: local.dataDir,
    clock,
    logger,
    restic: () => restic,
    settings: () => sync.config?.settings ?? {},
    activeRepositories,
    onRepositoryStats: (repo, resticId, st) =>
      metrics.setRepositorySize(repo.name, resticId, st.sizeBytes, st.snapshotCount),
  });
  const backupDeps: BackupTaskDeps = {
    activeRepositories,
    repositoryGate: maintenance.backupGate,
    restic: () => restic,
    resticError: () => resticError,
    timeouts: () => agentSettings(sync.config?.settings ?? {}),
    previousFiles: (jobId) => lastSuccessFiles(db, jobId),
    recordResticHost: (jobId, host) => recordResticHost(db, jobId, host),
    verifySnapshotTag: true,
  };
  const lifecycle = new RunLifecycle({ deviceId, dataDir: local.dataDir, clock, events, logger, store, ...backupDeps });
  // Metrics observe runs through the event bus like the SSE stream (one way to observe a run).
  observeRunMetrics(events, metrics, logger, () => pusher?.pushSoon());

  // 4. the scheduler.
  const scheduler = new Scheduler({
    clock,
    localZone,
    logger,
    execute: (job, by) => lifecycle.execute(job, by),
    runTask: (task) => lifecycle.run(task),
    onNextRunComputed: (scheduleId, next) => {
      setScheduleNextRun(db, scheduleId, next).catch((err: unknown) =>
        logger.debug({ err: errorMessage(err) }, 'next_run_at not stored'),
      );
    },
  });

  // 5. config sync: the diff is computed once, by the sync, and handed over with the config.
  const sync = new ConfigSync({
    db,
    deviceId,
    dataDir: local.dataDir,
    clock,
    logger,
    localZone,
    listen: opts.listen ?? local.database?.listen ?? 'auto',
    heartbeat: { hostname: os.hostname(), metadata: deviceMetadata(restic) },
    onChange: (config, changes) => {
      scheduler.reload(config);
      schedules.apply(config);
      metrics.syncJobs(config.jobs.map((j) => ({ id: j.id, name: j.name })));
      events.emit('config.reloaded', { changes: changes.map((c) => c.message), loadedAt: config.loadedAt });
    },
  });
  const schedules = maintenance.schedules(scheduler, localZone);
  const stopForgetAfterBackup = schedules.forgetAfterBackup(events);
  const config = await sync.loadInitial();
  logBanner(logger, local, db, config, restic);
  const catchUp = (runs: InterruptedRun[]) => {
    for (const r of runs)
      if (sync.config?.jobs.some((j) => j.id === r.jobId && j.enabled)) scheduler.trigger(r.jobId, 'missed');
  };
  catchUp(interrupted);
  let url: string | null = null;
  // Issue 19: outbox producer on the event bus; on the embedded database also notifier and watcher.
  const notifications = startNotificationPart({
    db,
    events,
    clock,
    logger,
    dataDir: local.dataDir,
    deviceId,
    deviceName: local.device.name ?? deviceId,
    uiUrl: () => url,
    intervals: opts.notifyIntervals,
  });
  scheduler.start();
  await sync.start();

  // 6. the database connection in the background, when the server was away at start.
  const connector = deferred
    ? connectInBackground({
        target: deferred,
        clock,
        logger,
        open: () => openDatabase({ database: local.database, dataDir: local.dataDir }, quietRetryLogger(logger)),
        setup: async (conn) => {
          interrupted = await prepareDatabase(conn, local, restic, logger);
        },
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
      for (const l of await lastSuccessPerJob(db, deviceId))
        metrics.restoreLastSuccess({ id: l.jobId, name: l.jobName }, l);
    } catch (err) {
      logger.warn({ err: errorMessage(err) }, 'could not read the last successful runs for the metrics');
    }
  }
  pusher?.start();

  // The API (7) and upkeep (8) parts need these; `stop` below undoes everything in reverse.
  const parts: AgentParts = {
    db,
    dataDir: local.dataDir,
    clock,
    events,
    sync,
    scheduler,
    lifecycle,
    restic: () => restic,
    resticError: () => resticError,
  };
  const service = new AgentService({
    ...parts,
    deviceId,
    pendingJournalEntries: () => store.pending,
    deviceName: local.device.name ?? deviceId,
    localZone,
    dbKind: db.kind,
    notifications: () => notifications.status(),
    maintenance,
  });
  const restore = new AgentRestore({ ...parts, embedded: db.kind === 'pglite' });
  let api: Awaited<ReturnType<typeof startApi>> | null = null;
  let runHistoryCleanup: RunHistoryCleanup | null = null;
  let journalReplay: ReturnType<typeof startJournalReplay> | null = null;

  let stopping: Promise<void> | null = null;
  const stop = (reason: string): Promise<void> => {
    stopping ??= (async () => {
      logger.info({ reason, running: lifecycle.size }, 'stopping');
      await stopBackups(
        {
          stopScheduler: () => scheduler.stop(),
          running: () => lifecycle.size,
          cancelAll: () => lifecycle.cancelAll(),
        },
        clock,
        local.client.shutdown_timeout_seconds * 1000,
        logger,
      );
      stopForgetAfterBackup();
      await runHistoryCleanup?.stop();
      await connector?.stop();
      await journalReplay?.stop();
      await store.replay(); // what the last runs journalled, while the database is still open
      await notifications.stop();
      await sync.stop();
      await api?.close();
      restore.close();
      await pusher?.stop();
      await db.close();
      logger.info('stopped');
    })();
    return stopping;
  };

  try {
    // 7. the API server and web UI.
    api = apiCode ? await startApi(await apiCode, opts, service, restore, apiToken ?? '', metrics, db, sync) : null;
    url = api?.url ?? null;

    // 8. background upkeep: old run rows, journal replay.
    runHistoryCleanup = new RunHistoryCleanup({ db, clock, logger });
    runHistoryCleanup.start();
    journalReplay = startJournalReplay(store, clock, (pending) => metrics.setJournalPending(pending));
  } catch (err) {
    // The scheduler may already run a catch-up backup: stop it (and everything else started)
    // before the caller closes the log and exits, as a stop would.
    await stop(`start-up failed: ${errorMessage(err)}`).catch(() => undefined);
    throw err;
  }
  const taskEnv: TaskEnv = {
    job: (jobId) => sync.config?.jobs.find((j) => j.id === jobId) ?? null,
    backup: backupDeps,
    forget: maintenance.deps,
  };
  return {
    db,
    service,
    url: api?.url ?? null,
    stop,
    cancelRunning: () => lifecycle.cancelAll(),
    enqueueTask: (spec) => scheduler.enqueue(createTask(spec, taskEnv)),
  };
}

/** Part 7: the HTTP API and web UI on `client.http_bind`, with `/metrics`; resolves once listening. */
async function startApi(
  { createApiServer }: typeof import('./api/server.js'),
  opts: StartAgentOptions,
  service: AgentService,
  restore: AgentRestore,
  apiToken: string,
  metrics: BackupMetrics,
  db: Database,
  sync: ConfigSync,
): Promise<{ url: string; close(): Promise<void> }> {
  const { local, logger } = opts;
  const api: ApiServer = await createApiServer({
    port: service,
    restore,
    bind: local.client.http_bind,
    apiToken,
    logger,
    version: AGENT_VERSION,
    passwordHash: () => uiPasswordHash(db, local.device.id, () => sync.config?.settings ?? {}),
    extraRoutes: (app) => {
      // Behind the login like every route, unless metrics.public (a scraper without the token).
      app.get('/metrics', { config: { publicRoute: local.metrics.public } }, async (_req, reply) =>
        reply.type(metrics.contentType).send(await metrics.metricsText()),
      );
    },
  });
  if (opts.loginCode) api.addLoginCode(opts.loginCode, 3600);
  const url = await api.listen();
  logger.info({ url }, 'web UI and API listening');
  return { url, close: () => api.close() };
}
