/**
 * A PostgreSQL server that is down when the agent starts (case C17): the agent must start anyway,
 * from its last-known-good config, and connect later. `DeferredDatabase` is the Database the rest
 * of the agent holds from the start: until a real connection is attached every call fails with
 * AppError DB_CONNECT (which `isDbUnavailable` recognises, so callers treat it as an outage), after
 * `attach` it forwards to the real Database. `connectInBackground` keeps trying to open the real
 * one with bounded, jittered back-off and hands it over once its setup (migrate, register) worked.
 */
import type { Clock } from '../clock.js';
import { AppError, errorMessage } from '../errors.js';
import { backoffDelayMs } from './backoff.js';
import type { Database, ListenOptions, Queryable, QueryResult } from './database.js';
import { isDbUnavailable } from './db-errors.js';

export class DeferredDatabase implements Database {
  private inner: Database | null = null;
  private closed = false;

  /** `why`: the one-line reason shown in errors until connected (no password; from DB_CONNECT). */
  constructor(
    readonly kind: 'postgres' | 'pglite',
    private why: string,
  ) {}

  /** Is a real connection attached? */
  get attached(): boolean {
    return this.inner !== null;
  }

  /** Update the reason given by calls made before the connection exists. */
  setReason(why: string): void {
    this.why = why;
  }

  /** Hand over the real database. After `close()` it is closed at once instead. Throws when already attached. */
  async attach(db: Database): Promise<void> {
    if (this.inner) throw new Error('DeferredDatabase: already attached');
    if (this.closed) {
      await db.close();
      return;
    }
    this.inner = db;
  }

  private real(): Database {
    if (this.inner) return this.inner;
    throw new AppError('DB_CONNECT', this.closed ? 'database closed' : `database not connected yet: ${this.why}`);
  }

  query<T = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<QueryResult<T>> {
    try {
      return this.real().query<T>(sql, params);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
    try {
      return this.real().transaction(fn);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  listen(channel: string, onNotify: (payload: string) => void, opts?: ListenOptions): Promise<() => Promise<void>> {
    try {
      return this.real().listen(channel, onNotify, opts);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    const db = this.inner;
    if (db) await db.close();
  }
}

/**
 * The logger to give `openDatabase` in the background loop: openPostgres' per-attempt warning
 * ('database connection failed; retrying') becomes debug, since connectInBackground already logs
 * one line per round; everything else (e.g. a pool's failed idle connection later) is unchanged.
 */
export function quietRetryLogger<
  L extends {
    warn(obj: object, msg: string): void;
    info(obj: object, msg: string): void;
    debug(obj: object, msg: string): void;
  },
>(logger: L): { warn(obj: object, msg: string): void; info(obj: object, msg: string): void } {
  return {
    warn: (obj, msg) =>
      msg === 'database connection failed; retrying' ? logger.debug(obj, msg) : logger.warn(obj, msg),
    info: (obj, msg) => logger.info(obj, msg),
  };
}

/** Logger subset used here (pino-compatible). */
interface ConnectLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface BackgroundConnectOptions {
  target: DeferredDatabase;
  /** Open the real database; throws (AppError DB_CONNECT) while the server is away. */
  open: () => Promise<Database>;
  /** Prepare the fresh connection before it is attached (migrate, register the device, close crashed runs). */
  setup: (db: Database) => Promise<void>;
  /** Called after the attach (e.g. ConfigSync.checkNow). Errors are logged. */
  onAttached: () => void | Promise<void>;
  clock: Clock;
  logger: ConnectLogger;
  /** First retry delay and cap, milliseconds (defaults 2 000 and 60 000; cap clamped to 2^31-1). */
  baseDelayMs?: number;
  maxDelayMs?: number;
}

/**
 * Retry `open` + `setup` until both succeed, then attach. Attempt n waits backoffDelayMs(n, base,
 * max) (jittered, so a fleet does not reconnect in lock-step). A failure that is not an outage
 * (e.g. a migration error) is logged as an error and retried at the capped delay: the agent never
 * exits or spins over it. Returns `stop()`, which cancels the next attempt and waits for one in progress.
 */
export function connectInBackground(o: BackgroundConnectOptions): { stop(): Promise<void> } {
  const base = o.baseDelayMs ?? 2000;
  const max = o.maxDelayMs ?? 60_000;
  let attempt = 0;
  let stopped = false;
  let cancel: (() => void) | null = null;
  let running: Promise<void> | null = null;

  const tryOnce = async (): Promise<void> => {
    let db: Database | null = null;
    try {
      db = await o.open();
      if (stopped) return;
      await o.setup(db);
      if (stopped) return;
      await o.target.attach(db);
      db = null;
      o.logger.info({ attempts: attempt + 1 }, 'database connected');
      try {
        await o.onAttached();
      } catch (err) {
        o.logger.warn({ err: errorMessage(err) }, 'after connecting: follow-up failed');
      }
    } catch (err) {
      const outage = isDbUnavailable(err);
      o.target.setReason(errorMessage(err));
      if (outage)
        o.logger.warn({ attempt: attempt + 1, err: errorMessage(err) }, 'database still unreachable; retrying');
      else
        o.logger.error({ attempt: attempt + 1, err: errorMessage(err) }, 'database reachable but not usable; retrying');
      const delay = outage ? backoffDelayMs(attempt, base, max) : max;
      attempt++;
      if (!stopped) cancel = o.clock.setTimer(run, delay);
    } finally {
      if (db) await db.close().catch(() => undefined);
    }
  };
  function run(): void {
    cancel = null;
    if (stopped) return;
    running = tryOnce().finally(() => {
      running = null;
    });
  }
  cancel = o.clock.setTimer(run, backoffDelayMs(0, base, max));
  return {
    async stop() {
      stopped = true;
      cancel?.();
      cancel = null;
      await running;
    },
  };
}
