/**
 * The notification part of the agent (one place in startAgent, src/app.ts): the producer always;
 * on the embedded database also the notifier and the watcher of this device's own jobs (the agent
 * is its own notifier there); in a fleet the notifier-health check (the dashboard delivers).
 */
import type { Clock } from '../clock.js';
import type { Database } from '../db/database.js';
import type { EventBus } from '../events.js';
import { Notifier, type NotifierLogger } from './notifier.js';
import { NotifierHealth, type NotificationsStatus } from './notifier-health.js';
import { jobLink, runLink } from './links.js';
import { NotificationProducer } from './producer.js';
import { Watcher } from './watcher.js';

export interface NotificationPartOptions {
  db: Database;
  events: EventBus;
  clock: Clock;
  logger: NotifierLogger;
  dataDir: string;
  deviceId: string;
  deviceName: string;
  /** The local UI's base URL once known (for links), else null. */
  uiUrl: () => string | null;
  /** Test knobs: notifier/watcher tick seconds, retry base, health grace and check interval, outbox journal replay. */
  intervals?: {
    journalReplaySeconds?: number;
    notifierSeconds?: number;
    watcherSeconds?: number;
    retryBaseSeconds?: number;
    healthGraceSeconds?: number;
    healthCheckSeconds?: number;
  };
}

export interface NotificationPart {
  readonly producer: NotificationProducer;
  readonly notifier: Notifier | null;
  readonly watcher: Watcher | null;
  status(): NotificationsStatus;
  stop(): Promise<void>;
}

/** Start the part; `stop()` stops producer (flushing to outbox or journal), notifier, watcher, health. */
export function startNotificationPart(o: NotificationPartOptions): NotificationPart {
  const embedded = o.db.kind === 'pglite';
  const iv = o.intervals ?? {};
  const notifier = embedded
    ? new Notifier({
        db: o.db,
        clock: o.clock,
        logger: o.logger,
        owner: `agent:${o.deviceId}`,
        intervalSeconds: iv.notifierSeconds ?? 10,
        retryBaseSeconds: iv.retryBaseSeconds,
      })
    : null;
  const producer = new NotificationProducer({
    db: o.db,
    events: o.events,
    clock: o.clock,
    logger: o.logger,
    dataDir: o.dataDir,
    deviceId: o.deviceId,
    deviceName: o.deviceName,
    runLink: (runId) => runLink(o.uiUrl(), runId),
    onEnqueued: () => notifier?.kick(),
    replaySeconds: iv.journalReplaySeconds,
  });
  const watcher = embedded
    ? new Watcher({
        db: o.db,
        clock: o.clock,
        logger: o.logger,
        owner: `agent:${o.deviceId}`,
        deviceId: o.deviceId,
        intervalSeconds: iv.watcherSeconds ?? 300,
        // job.stale opens the job's history; a device.silent is never about this (running) device
        link: (kind, id) => (kind === 'job' ? jobLink(o.uiUrl(), id) : null),
        onEnqueued: () => notifier?.kick(),
      })
    : null;
  const health = new NotifierHealth(o.db, o.clock, iv.healthGraceSeconds ?? 600, iv.healthCheckSeconds ?? 60, (err) =>
    o.logger.debug({ err }, 'notifier lease not readable'),
  );
  producer.start();
  notifier?.start();
  watcher?.start();
  health.start();
  return {
    producer,
    notifier,
    watcher,
    status: () => health.status,
    async stop() {
      await producer.stop();
      await watcher?.stop();
      await notifier?.stop();
      await health.stop();
    },
  };
}
