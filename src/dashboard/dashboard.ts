/**
 * `rbackup2 dashboard` as a process (issue 19 points 3-5): beside the fleet database, with the
 * admin's connection, it runs the notifier (devices never see channel secrets), the watcher over
 * the whole fleet (one at a time: the `watcher` lease), and the web dashboard (the fleet read-only,
 * notification channels managed). Stop
 * order: web server -> watcher -> notifier (hands back its lease) -> database.
 */
import os from 'node:os';
import type { FastifyBaseLogger } from 'fastify';
import type { Clock } from '../clock.js';
import { systemClock } from '../clock.js';
import type { AdminLocalConfig } from '../config/local-config.js';
import { ensureApiToken } from '../api/auth/token-file.js';
import { openDatabase } from '../db/open.js';
import { migrate } from '../db/migrate.js';
import type { Database } from '../db/database.js';
import { UI_PASSWORD_KEY } from '../api/auth/ui-password-setting.js';
import { getEffectiveSettings } from '../db/queries/settings.js';
import type { Logger } from '../logging.js';
import { Notifier } from '../notify/notifier.js';
import { Watcher } from '../notify/watcher.js';
import { createDashboardServer, type DashboardServer } from './server.js';

export const DEFAULT_DASHBOARD_BIND = '127.0.0.1:1202';

export interface DashboardOptions {
  local: AdminLocalConfig;
  logger: Logger;
  bind?: string;
  clock?: Clock;
  /** Test knobs (seconds): notifier and watcher ticks, retry base, live update check. */
  intervals?: { notifierSeconds?: number; watcherSeconds?: number; retryBaseSeconds?: number; liveSeconds?: number };
}

export interface Dashboard {
  db: Database;
  url: string;
  notifier: Notifier;
  watcher: Watcher;
  stop(): Promise<void>;
}

/** Start the dashboard process's parts; throws DB_CONNECT / CONFIG_INVALID as user errors. */
export async function startDashboard(o: DashboardOptions): Promise<Dashboard> {
  const clock = o.clock ?? systemClock;
  const iv = o.intervals ?? {};
  const owner = `dashboard@${os.hostname()}:${process.pid}`;
  const db = await openDatabase({ database: o.local.database, dataDir: o.local.dataDir }, o.logger);
  let server: DashboardServer | null = null;
  try {
    await migrate(db);
    const token = o.local.client.api_token ?? ensureApiToken(o.local.dataDir);
    const notifier = new Notifier({
      db,
      clock,
      logger: o.logger,
      owner,
      intervalSeconds: iv.notifierSeconds ?? 10,
      retryBaseSeconds: iv.retryBaseSeconds,
    });
    const watcher = new Watcher({ db, clock, logger: o.logger, owner, intervalSeconds: iv.watcherSeconds ?? 300 });
    server = await createDashboardServer({
      db,
      bind: o.bind ?? DEFAULT_DASHBOARD_BIND,
      apiToken: token,
      logger: o.logger as unknown as FastifyBaseLogger,
      passwordHash: async () => (await getEffectiveSettings(db, null))[UI_PASSWORD_KEY] || null,
      localZone: Intl.DateTimeFormat().resolvedOptions().timeZone,
      liveSeconds: iv.liveSeconds,
      sender: {
        id: o.local.device.id ?? `dashboard@${os.hostname()}`,
        name: o.local.device.name ?? o.local.device.id ?? 'rbackup2 dashboard',
      },
    });
    const url = await server.listen();
    notifier.start();
    watcher.start();
    o.logger.info({ url, owner }, 'rbackup2 dashboard started (notifier and watcher running)');
    const srv = server;
    let stopping: Promise<void> | null = null;
    return {
      db,
      url,
      notifier,
      watcher,
      stop: () =>
        (stopping ??= (async () => {
          await srv.close();
          await watcher.stop();
          await notifier.stop();
          await db.close();
          o.logger.info('dashboard stopped');
        })()),
    };
  } catch (err) {
    await server?.close().catch(() => undefined);
    await db.close();
    throw err;
  }
}
