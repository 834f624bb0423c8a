/**
 * Keeping the agent's device config in step with the database (the single source of truth):
 * one check-in statement per tick, every min(sync_interval_seconds, heartbeat_interval_seconds)
 * (the device heartbeat, `last_seen`, and the change marker that the database's triggers maintain,
 * in one statement: checkIn), an immediate check on NOTIFY, a full load + diff + apply only when
 * the marker moved, and the last-known-good copy on disk for when the database is away.
 *
 * NOTIFY (`listen`): `true` subscribes; `false` never does (polling only); `auto` (default)
 * subscribes and proves delivery (a NOTIFY through another connection must arrive): when it does
 * not (a pooler in transaction mode), it says so once (log, status) and polls from then on.
 *
 * No reload herd: a change of the global part of the marker (global settings, repositories) makes
 * every agent reload; the full load then waits a random delay within
 * min(10 % of the tick interval, fleet size x RELOAD_SPREAD_MS_PER_DEVICE), so the server sees at
 * most ~500 full loads per second however many agents noticed the change at the same moment. A
 * NOTIFY of a global change waits that delay, then makes the full load with no check-in before it
 * (globalNotice): 500 agents directly on PostgreSQL had it within 1.2-1.6 s instead of 1.9-2.1 s
 * (bench/fleet.mjs --phases notify).
 *
 * While the database is away the checks back off (jittered, capped at MAX_BACKOFF_MS) and resume by
 * themselves; LISTEN that failed (database down at start) is retried after the next good check. The
 * Database may be a DeferredDatabase (src/db/deferred-database.ts) that is not connected yet.
 */
import type { Clock } from '../clock.js';
import type { Database } from '../db/database.js';
import {
  checkIn,
  CONFIG_CHANNEL,
  isDbUnavailable,
  loadDeviceConfigVersioned,
  type HeartbeatFacts,
} from '../db/index.js';
import { AppError } from '../errors.js';
import { backoffDelayMs } from '../db/backoff.js';
import { errorMessage } from '../errors.js';
import type { Logger } from '../logging.js';
import { diffDeviceConfig, type ConfigChange } from '../config/config-diff.js';
import { readConfigCache, writeConfigCache } from './config-cache.js';
import { agentSettings, type DeviceConfig } from '../config/device-config.js';

export interface SyncState {
  connected: boolean;
  /** ISO: last successful check against the database. */
  lastSyncAt: string | null;
  usingCachedConfig: boolean;
  /** ISO: when the cached copy in use was saved. */
  cachedConfigSince: string | null;
  /** ISO: since when the database is unreachable (null while connected). */
  downSince: string | null;
  /** NOTIFY subscription active (false: changes arrive with the periodic check only). */
  listening: boolean;
  /** Why changes arrive by polling only (listen: false, or NOTIFY not delivered); null while NOTIFY works or is being set up. */
  pollingReason: string | null;
}

/** `database.listen` of the local config. */
export type ListenMode = 'auto' | boolean;

export interface ConfigSyncOptions {
  db: Database;
  deviceId: string;
  dataDir: string;
  clock: Clock;
  logger: Logger;
  localZone: string;
  /** Called with each new config (and what changed); the scheduler reload happens here. */
  onChange: (config: DeviceConfig, changes: ConfigChange[]) => void;
  /** NOTIFY: 'auto' (default: subscribe, prove delivery, else poll), true, false (poll only). */
  listen?: ListenMode;
  /** Device facts written by the heartbeat in each check-in; none: the check-in only reads the marker. */
  heartbeat?: HeartbeatFacts;
  /** Random source in [0, 1) for the reload delay (tests); default Math.random. */
  random?: () => number;
}

/** Server time budget of a herd: spread a global reload over fleet size x this many ms (500 loads/s). */
export const RELOAD_SPREAD_MS_PER_DEVICE = 2;

/** Longest pause between checks while the database is away, ms. */
const MAX_BACKOFF_MS = 60_000;
/** First pause after a failed check, ms (doubles per failure, jittered). */
const FIRST_BACKOFF_MS = 2_000;

export class ConfigSync {
  private version: string | null = null;
  private current: DeviceConfig | null = null;
  private state: SyncState = {
    connected: false,
    lastSyncAt: null,
    usingCachedConfig: false,
    cachedConfigSince: null,
    downSince: null,
    listening: false,
    pollingReason: null,
  };
  private globalVersion: string | null = null;
  private cancelDelay: (() => void) | null = null;
  /** Full loads deferred by the reload spread, and their delays in ms (tests read them). */
  readonly reloadDelaysMs: number[] = [];
  private cancelTimer: (() => void) | null = null;
  private unlisten: (() => Promise<void>) | null = null;
  private checking: Promise<void> | null = null;
  /** The one check queued behind the check in progress (all callers meanwhile share it). */
  private followUp: Promise<void> | null = null;
  private failures = 0;
  private stopped = false;
  /** Version checks made (tests count them). */
  checks = 0;
  /** Fleet size seen at the last check-in (pg_class estimate), null before the first. */
  private fleetSize: number | null = null;
  /** A global NOTIFY's spread is being waited (globalNotice). */
  private noticeWaiting = false;
  /** The next check follows a spread already waited (globalNotice). */
  private spreadWaited = false;

  constructor(private readonly opts: ConfigSyncOptions) {
    if (opts.listen === false) this.state.pollingReason = 'database.listen is false';
  }

  /** The config in use (null before the first load when neither database nor cache had one). */
  get config(): DeviceConfig | null {
    return this.current;
  }

  status(): SyncState {
    return { ...this.state };
  }

  /**
   * First load: from the database, else from the last-known-good copy. Resolves with the config,
   * or null when there is neither (the agent keeps retrying). Throws non-outage errors (bad SQL).
   */
  async loadInitial(): Promise<DeviceConfig | null> {
    try {
      await this.loadFull('start');
      return this.current;
    } catch (err) {
      if (!isDbUnavailable(err)) throw err;
      this.markDown(err);
      const cached = await readConfigCache(this.opts.dataDir, this.opts.deviceId);
      if (cached.ok) {
        this.current = cached.config;
        this.state.usingCachedConfig = true;
        this.state.cachedConfigSince = cached.savedAt;
        this.opts.logger.warn(
          { savedAt: cached.savedAt },
          'database unreachable: running on the last-known-good config',
        );
        this.opts.onChange(cached.config, []);
        return this.current;
      }
      this.opts.logger.error(
        { cache: cached.detail },
        'database unreachable and no usable cached config: no backups until the database is back',
      );
      return null;
    }
  }

  /** Start periodic checks and NOTIFY. */
  async start(): Promise<void> {
    await this.subscribe();
    this.scheduleNext();
  }

  /**
   * LISTEN on the config channel once (no-op when off, subscribed, given up or stopped). In `auto`
   * mode delivery is proved first; when NOTIFY is not delivered the agent polls from then on and
   * says so once. Other failures are logged and retried after the next good check.
   */
  private async subscribe(): Promise<void> {
    if (this.opts.listen === false || this.unlisten || this.stopped || this.state.pollingReason) return;
    const auto = this.opts.listen === undefined || this.opts.listen === 'auto';
    try {
      const unlisten = await this.opts.db.listen(
        CONFIG_CHANNEL,
        (payload) => {
          if (payload === '*') void this.globalNotice();
          else if (payload === '' || payload === this.opts.deviceId) void this.checkNow('notify');
        },
        { verify: auto },
      );
      if (this.stopped) {
        await unlisten().catch(() => undefined);
        return;
      }
      this.unlisten = unlisten;
      this.state.listening = true;
    } catch (err) {
      if (auto && err instanceof AppError && err.code === 'DB_LISTEN_UNDELIVERED') {
        const every = this.tickSeconds();
        this.state.pollingReason = `NOTIFY is not delivered through this connection (a pooler in transaction mode?); checking for changes every ${every} s`;
        this.opts.logger.warn({ checkEverySeconds: every }, `database.listen auto: ${this.state.pollingReason}`);
        return;
      }
      const level = isDbUnavailable(err) ? 'info' : 'warn';
      this.opts.logger[level](
        { err: errorMessage(err) },
        'LISTEN failed; config changes arrive with the periodic check until it works',
      );
    }
  }

  /**
   * Check the version now. While a check is in progress, callers share one follow-up check that
   * starts when it ends: the check in progress may have read the version before the caller's change
   * (POST /config must see its own write), so joining it would resolve too early.
   */
  checkNow(reason: string): Promise<void> {
    if (this.stopped) return Promise.resolve();
    if (this.checking) {
      this.followUp ??= this.checking.then(() => {
        this.followUp = null;
        return this.checkNow('coalesced');
      });
      return this.followUp;
    }
    this.checking = this.check(reason).finally(() => {
      this.checking = null;
    });
    return this.checking;
  }

  /**
   * A NOTIFY of a global change ('*') reaches every agent at the same moment. Waiting the reload
   * spread first (not after a check-in, as a periodic check finds a change) spares the server a
   * herd of check-ins: with 500 agents directly on PostgreSQL they arrived within a few ms of each
   * other. After the wait the check does the full load alone (check()). Notices during the wait
   * join it.
   */
  private async globalNotice(): Promise<void> {
    if (this.noticeWaiting || this.stopped) return;
    if (this.current === null || this.state.usingCachedConfig || this.fleetSize === null) {
      void this.checkNow('notify');
      return;
    }
    this.noticeWaiting = true;
    try {
      await this.spreadDelay(this.fleetSize);
    } finally {
      this.noticeWaiting = false;
    }
    this.spreadWaited = true;
    await this.checkNow('notify');
  }

  private async check(reason: string): Promise<void> {
    // Set by globalNotice: this check follows a spread already waited.
    const spreadWaited = this.spreadWaited;
    this.spreadWaited = false;
    try {
      if (spreadWaited && this.current !== null && !this.state.usingCachedConfig) {
        // A global change is known (its NOTIFY): the full load is the one statement needed; the
        // check-in (heartbeat and version) would only add a round trip to every agent of the herd.
        await this.loadFull(reason);
        return;
      }
      this.checks++;
      const seen = await checkIn(this.opts.db, this.opts.deviceId, this.opts.heartbeat);
      this.fleetSize = seen.fleetSize;
      this.markUp();
      if (seen.version !== this.version || this.current === null || this.state.usingCachedConfig) {
        const onlyGlobal =
          this.version !== null &&
          this.current !== null &&
          !this.state.usingCachedConfig &&
          seen.globalVersion !== this.globalVersion &&
          seen.version.split('.')[0] === this.version.split('.')[0];
        if (onlyGlobal && !spreadWaited) await this.spreadDelay(seen.fleetSize);
        if (!this.stopped) await this.loadFull(reason);
      }
      if (!this.unlisten) await this.subscribe();
    } catch (err) {
      if (isDbUnavailable(err)) this.markDown(err);
      else this.opts.logger.error({ err: errorMessage(err) }, 'config sync failed');
    } finally {
      this.scheduleNext();
    }
  }

  private async loadFull(reason: string): Promise<void> {
    const { config, version, fleetSize } = await loadDeviceConfigVersioned(
      this.opts.db,
      this.opts.deviceId,
      new Date(this.opts.clock.now()),
      { localZone: this.opts.localZone },
    );
    this.markUp();
    this.fleetSize = fleetSize;
    const before = this.current;
    const changes = diffDeviceConfig(before, config);
    this.version = version;
    this.globalVersion = version.split('.')[1] ?? null;
    this.current = config;
    this.state.usingCachedConfig = false;
    this.state.cachedConfigSince = null;
    for (const j of config.invalidJobs)
      this.opts.logger.warn({ jobId: j.id, job: j.name, reason: j.reason }, 'invalid job skipped');
    if (before) for (const c of changes) this.opts.logger.info({ change: c.kind, jobId: c.jobId }, c.message);
    // Apply before the first await, so /status never shows the new config with the old schedule.
    if (before === null || changes.length > 0) this.opts.onChange(config, changes);
    try {
      await writeConfigCache(this.opts.dataDir, config, new Date(this.opts.clock.now()));
    } catch (err) {
      this.opts.logger.warn({ err: errorMessage(err) }, 'could not write the last-known-good config copy');
    }
    this.opts.logger.debug({ reason, version, changes: changes.length }, 'config loaded');
  }

  private markUp(): void {
    if (!this.state.connected && this.state.downSince)
      this.opts.logger.info({ downSince: this.state.downSince }, 'database reachable again');
    this.state.connected = true;
    this.state.downSince = null;
    this.state.lastSyncAt = new Date(this.opts.clock.now()).toISOString();
    this.failures = 0;
  }

  private markDown(err: unknown): void {
    if (this.state.connected || this.state.downSince === null) {
      this.opts.logger.warn({ err: errorMessage(err) }, 'database unreachable; retrying with backoff');
      this.state.downSince = new Date(this.opts.clock.now()).toISOString();
    }
    this.state.connected = false;
    this.failures++;
  }

  /** Wait a random part of the reload spread (see the file comment); stop() cuts it short. */
  private async spreadDelay(fleetSize: number): Promise<void> {
    const spreadMs = Math.min(this.tickSeconds() * 100, fleetSize * RELOAD_SPREAD_MS_PER_DEVICE);
    const delay = Math.floor((this.opts.random ?? Math.random)() * spreadMs);
    if (delay <= 0) return;
    if (this.reloadDelaysMs.length < 1000) this.reloadDelaysMs.push(delay);
    await new Promise<void>((resolve) => {
      const cancel = this.opts.clock.setTimer(resolve, delay);
      this.cancelDelay = () => {
        cancel();
        resolve();
      };
    });
    this.cancelDelay = null;
  }

  /** Seconds between check-ins: the sync interval, or the heartbeat interval when that is shorter and the check-in carries the heartbeat. */
  private tickSeconds(): number {
    const s = agentSettings(this.current?.settings ?? {});
    return this.opts.heartbeat ? Math.min(s.syncIntervalSeconds, s.heartbeatIntervalSeconds) : s.syncIntervalSeconds;
  }

  private scheduleNext(): void {
    if (this.stopped) return;
    this.cancelTimer?.();
    const intervalMs = this.tickSeconds() * 1000;
    const delay = this.state.connected
      ? intervalMs
      : Math.min(intervalMs, backoffDelayMs(this.failures - 1, FIRST_BACKOFF_MS, MAX_BACKOFF_MS));
    this.cancelTimer = this.opts.clock.setTimer(() => void this.checkNow('timer'), delay);
  }

  /** Stop timers and LISTEN; waits for a check in progress. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.cancelTimer?.();
    this.cancelTimer = null;
    this.cancelDelay?.();
    try {
      await this.unlisten?.();
      this.state.listening = false;
    } catch {
      // the connection may already be gone
    }
    await this.checking;
  }
}
