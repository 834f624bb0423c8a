/**
 * Keeping the agent's device config in step with the database (the single source of truth):
 * a cheap version check every `sync_interval_seconds` (one query on the change marker that the
 * database's triggers maintain), an immediate check on NOTIFY, a full load + diff + apply only when
 * the version moved, and the last-known-good copy on disk for when the database is away.
 *
 * While the database is away the checks back off (jittered, capped at MAX_BACKOFF_MS) and resume by
 * themselves; LISTEN that failed (database down at start) is retried after the next good check. The
 * Database may be a DeferredDatabase (src/db/deferred-database.ts) that is not connected yet.
 */
import type { Clock } from '../clock.js';
import type { Database } from '../db/database.js';
import { CONFIG_CHANNEL, getConfigVersion, isDbUnavailable, loadDeviceConfigVersioned } from '../db/index.js';
import { backoffDelayMs } from '../db/backoff.js';
import { errorMessage } from '../errors.js';
import type { Logger } from '../logging.js';
import { diffDeviceConfig, type ConfigChange } from '../scheduler/reload-diff.js';
import { readConfigCache, writeConfigCache } from './config-cache.js';
import { agentSettings, type DeviceConfig } from './device-config.js';

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
}

export interface ConfigSyncOptions {
  db: Database;
  deviceId: string;
  dataDir: string;
  clock: Clock;
  logger: Logger;
  localZone: string;
  /** Called with each new config (and what changed); the scheduler reload happens here. */
  onChange: (config: DeviceConfig, changes: ConfigChange[]) => void;
  /** Subscribe to NOTIFY (default true); off = periodic checks only (a pooler that drops NOTIFY). */
  listen?: boolean;
}

/** Longest pause between checks while the database is away, ms. */
const MAX_BACKOFF_MS = 60_000;
/** First pause after a failed check, ms (doubles per failure, jittered). */
const FIRST_BACKOFF_MS = 2_000;

export class ConfigSync {
  private version: string | null = null;
  private current: DeviceConfig | null = null;
  private state: SyncState = { connected: false, lastSyncAt: null, usingCachedConfig: false, cachedConfigSince: null, downSince: null, listening: false };
  private cancelTimer: (() => void) | null = null;
  private unlisten: (() => Promise<void>) | null = null;
  private checking: Promise<void> | null = null;
  private again = false;
  private failures = 0;
  private stopped = false;
  /** Version checks made (tests count them). */
  checks = 0;

  constructor(private readonly opts: ConfigSyncOptions) {}

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
        this.opts.logger.warn({ savedAt: cached.savedAt }, 'database unreachable: running on the last-known-good config');
        this.opts.onChange(cached.config, []);
        return this.current;
      }
      this.opts.logger.error({ cache: cached.detail }, 'database unreachable and no usable cached config: no backups until the database is back');
      return null;
    }
  }

  /** Start periodic checks and NOTIFY. */
  async start(): Promise<void> {
    await this.subscribe();
    this.scheduleNext();
  }

  /** LISTEN on the config channel once (no-op when off, subscribed or stopped); failure is logged, retried after the next good check. */
  private async subscribe(): Promise<void> {
    if (this.opts.listen === false || this.unlisten || this.stopped) return;
    try {
      const unlisten = await this.opts.db.listen(CONFIG_CHANNEL, (payload) => {
        if (payload === '' || payload === '*' || payload === this.opts.deviceId) void this.checkNow('notify');
      });
      if (this.stopped) {
        await unlisten().catch(() => undefined);
        return;
      }
      this.unlisten = unlisten;
      this.state.listening = true;
    } catch (err) {
      const level = isDbUnavailable(err) ? 'info' : 'warn';
      this.opts.logger[level]({ err: errorMessage(err) }, 'LISTEN failed; config changes arrive with the periodic check until it works');
    }
  }

  /** Check the version now (coalesced with a check in progress). */
  checkNow(reason: string): Promise<void> {
    if (this.stopped) return Promise.resolve();
    if (this.checking) {
      this.again = true;
      return this.checking;
    }
    this.checking = this.check(reason).finally(() => {
      this.checking = null;
      if (this.again && !this.stopped) {
        this.again = false;
        void this.checkNow('coalesced');
      }
    });
    return this.checking;
  }

  private async check(reason: string): Promise<void> {
    try {
      this.checks++;
      const version = await getConfigVersion(this.opts.db, this.opts.deviceId);
      this.markUp();
      if (version !== this.version || this.current === null || this.state.usingCachedConfig) await this.loadFull(reason);
      if (!this.unlisten) await this.subscribe();
    } catch (err) {
      if (isDbUnavailable(err)) this.markDown(err);
      else this.opts.logger.error({ err: errorMessage(err) }, 'config sync failed');
    } finally {
      this.scheduleNext();
    }
  }

  private async loadFull(reason: string): Promise<void> {
    const { config, version } = await loadDeviceConfigVersioned(this.opts.db, this.opts.deviceId, new Date(this.opts.clock.now()), { localZone: this.opts.localZone });
    this.markUp();
    const before = this.current;
    const changes = diffDeviceConfig(before, config);
    this.version = version;
    this.current = config;
    this.state.usingCachedConfig = false;
    this.state.cachedConfigSince = null;
    for (const j of config.invalidJobs) this.opts.logger.warn({ jobId: j.id, job: j.name, reason: j.reason }, 'invalid job skipped');
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
    if (!this.state.connected && this.state.downSince) this.opts.logger.info({ downSince: this.state.downSince }, 'database reachable again');
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

  private scheduleNext(): void {
    if (this.stopped) return;
    this.cancelTimer?.();
    const intervalMs = agentSettings(this.current?.settings ?? {}).syncIntervalSeconds * 1000;
    const delay = this.state.connected ? intervalMs : Math.min(intervalMs, backoffDelayMs(this.failures - 1, FIRST_BACKOFF_MS, MAX_BACKOFF_MS));
    this.cancelTimer = this.opts.clock.setTimer(() => void this.checkNow('timer'), Math.min(delay, 2 ** 31 - 1));
  }

  /** Stop timers and LISTEN; waits for a check in progress. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.cancelTimer?.();
    this.cancelTimer = null;
    try {
      await this.unlisten?.();
      this.state.listening = false;
    } catch {
      // the connection may already be gone
    }
    await this.checking;
  }
}
