/**
 * The one dedicated connection that LISTENs on PostgreSQL (case C19): checked by a heartbeat
 * every `heartbeatMs` (`SELECT 1` within a time-out: a silently dropped network is found), and
 * every PROBE_EVERY_BEATS-th heartbeat (and at subscribe, with `verify`) one that proves delivery,
 * not just a live connection: a NOTIFY on this listener's own probe channel
 * (`rbackup2_probe_<random>`) is sent through ANOTHER connection (`probe`, the pool) and must
 * arrive here within the time-out. Not every heartbeat: PostgreSQL (async.c SignalBackends, up to
 * 17 at least) wakes EVERY listening backend of the database on each NOTIFY, whatever its channel,
 * so N agents probing every 30 s cost N x N / 30 wakeups a second (500 agents: ~8,300/s; the fleet
 * bench saw 350 probes in 20 s and 126 % of a core in the backends). A pooler in transaction mode
 * (PgBouncer) runs LISTEN on some pooled server connection and drops what it receives later, so
 * there the probe never arrives (a NOTIFY sent on the listener's own connection could come back
 * on the same pooled server connection and prove nothing). When the connection is lost (error,
 * end, failed heartbeat) it is re-established with bounded back-off and re-subscribed to every
 * channel; after a reconnect each callback is called once with the payload '' ("notifications may
 * have been missed while disconnected; re-check").
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { every, systemClock, type Repeating } from '../clock.js';
import { AppError, errorMessage } from '../errors.js';
import { backoffDelayMs } from './backoff.js';
import type { DbLogger } from './pg-options.js';

/** Every how many heartbeats a NOTIFY probe proves delivery (the others are `SELECT 1`): see above. */
export const PROBE_EVERY_BEATS = 10;

export interface PgListenerOptions {
  clientConfig: pg.ClientConfig;
  heartbeatMs: number;
  maxRetryDelayMs: number;
  logger?: DbLogger;
  /**
   * Send `SELECT pg_notify(channel, payload)` through a connection other than the listener's (the
   * pool). Without it the heartbeat is a plain `SELECT 1` (liveness only).
   */
  probe?: (channel: string, payload: string) => Promise<void>;
}

type Callback = (payload: string) => void;

/** Quote a channel name as an SQL identifier. */
function ident(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

export class PgListener {
  private client: pg.Client | null = null;
  private readonly channels = new Map<string, Set<Callback>>();
  private connecting: Promise<void> | null = null;
  private heartbeat: Repeating | null = null;
  private retryTimer: (() => void) | null = null;
  private attempt = 0;
  /** Heartbeats since the connection was made (every PROBE_EVERY_BEATS-th proves delivery). */
  private beats = 0;
  private closed = false;
  private readonly probeChannel = `rbackup2_probe_${randomBytes(8).toString('hex')}`;
  private readonly waiting = new Map<string, () => void>();

  constructor(private readonly opts: PgListenerOptions) {}

  /**
   * Subscribe `cb` to `channel`; resolves once LISTEN is active. Returns the unsubscribe function.
   * With `verify` (and a `probe`), also proves that a NOTIFY from another connection arrives within
   * `max(1000, heartbeatMs / 2)` ms; when it does not, unsubscribes and throws AppError
   * DB_LISTEN_UNDELIVERED (a pooler in transaction mode).
   */
  async listen(channel: string, cb: Callback, verify = false): Promise<() => Promise<void>> {
    let set = this.channels.get(channel);
    const isNew = !set;
    if (!set) this.channels.set(channel, (set = new Set()));
    set.add(cb);
    const undo = async () => {
      set.delete(cb);
      if (set.size > 0 || this.channels.get(channel) !== set) return;
      this.channels.delete(channel);
      await this.client?.query(`UNLISTEN ${ident(channel)}`).catch(() => undefined);
    };
    try {
      await this.ensureConnected();
      if (isNew && this.client) await this.client.query(`LISTEN ${ident(channel)}`);
      if (verify && this.opts.probe && !(await this.delivered())) {
        throw new AppError(
          'DB_LISTEN_UNDELIVERED',
          'a NOTIFY sent through another connection did not arrive on the LISTEN connection (a connection pooler in transaction mode, such as PgBouncer, drops them)',
        );
      }
    } catch (err) {
      await undo();
      if (this.channels.size === 0) await this.disconnect();
      throw err;
    }
    return async () => {
      const s = this.channels.get(channel);
      if (!s?.delete(cb) || s.size > 0) return;
      this.channels.delete(channel);
      await this.client?.query(`UNLISTEN ${ident(channel)}`).catch(() => undefined);
    };
  }

  /** Stop the heartbeat, any retry, and close the connection. */
  async close(): Promise<void> {
    this.closed = true;
    await this.disconnect();
  }

  /** Close the connection and its heartbeat (nothing is listened to any more). */
  private async disconnect(): Promise<void> {
    void this.heartbeat?.stop();
    this.heartbeat = null;
    this.retryTimer?.();
    this.retryTimer = null;
    const c = this.client;
    this.client = null;
    if (c) {
      c.removeAllListeners('end');
      await c.end().catch(() => undefined);
    }
  }

  private ensureConnected(): Promise<void> {
    if (this.client) return Promise.resolve();
    this.connecting ??= this.connect().finally(() => {
      this.connecting = null;
    });
    return this.connecting;
  }

  /**
   * Does a NOTIFY sent through the probe connection arrive here within the time-out? Throws when
   * the probe statement itself fails (the database is away).
   */
  private async delivered(): Promise<boolean> {
    const nonce = randomBytes(6).toString('hex');
    let cancelTimer: (() => void) | undefined;
    const arrived = new Promise<boolean>((resolve) => {
      this.waiting.set(nonce, () => resolve(true));
      cancelTimer = systemClock.setTimer(() => resolve(false), Math.max(1000, this.opts.heartbeatMs / 2));
    });
    try {
      await this.opts.probe?.(this.probeChannel, nonce);
      return await arrived;
    } finally {
      cancelTimer?.();
      this.waiting.delete(nonce);
    }
  }

  private async connect(): Promise<void> {
    const client = new pg.Client(this.opts.clientConfig);
    client.on('error', (err) => this.lost(client, err));
    client.on('end', () => this.lost(client, new Error('connection ended')));
    client.on('notification', (n) => {
      if (n.channel === this.probeChannel) this.waiting.get(n.payload ?? '')?.();
      else this.dispatch(n.channel, n.payload ?? '');
    });
    try {
      await client.connect();
      const channels = [...this.channels.keys(), ...(this.opts.probe ? [this.probeChannel] : [])];
      for (const ch of channels) await client.query(`LISTEN ${ident(ch)}`);
    } catch (err) {
      client.removeAllListeners('end');
      await client.end().catch(() => undefined);
      throw err;
    }
    if (this.closed) {
      await client.end().catch(() => undefined);
      return;
    }
    this.client = client;
    this.attempt = 0;
    this.beats = 0;
    this.heartbeat = every(systemClock, this.opts.heartbeatMs, () => this.beat(client));
  }

  private async beat(client: pg.Client): Promise<void> {
    let cancelTimer: (() => void) | undefined;
    const timeout = new Promise<never>((_, reject) => {
      cancelTimer = systemClock.setTimer(
        () => reject(new Error('heartbeat timed out')),
        Math.max(1000, this.opts.heartbeatMs / 2),
      );
    });
    try {
      this.beats++;
      if (this.opts.probe && this.beats % PROBE_EVERY_BEATS === 0) {
        if (!(await Promise.race([this.delivered(), timeout]))) throw new Error('heartbeat NOTIFY did not arrive');
      } else {
        await Promise.race([client.query('SELECT 1'), timeout]);
      }
    } catch (err) {
      this.lost(client, err);
    } finally {
      cancelTimer?.();
    }
  }

  private dispatch(channel: string, payload: string): void {
    for (const cb of this.channels.get(channel) ?? []) {
      try {
        cb(payload);
      } catch (err) {
        this.opts.logger?.warn({ err: errorMessage(err), channel }, 'LISTEN callback threw');
      }
    }
  }

  /** The connection `client` is gone: drop it (never reuse) and reconnect with back-off. */
  private lost(client: pg.Client, err: unknown): void {
    if (this.client !== client || this.closed) return;
    this.client = null;
    void this.heartbeat?.stop();
    this.heartbeat = null;
    client.removeAllListeners('end');
    client.on('error', () => undefined);
    const conn = (client as unknown as { connection?: { stream?: { destroy(): void } } }).connection;
    conn?.stream?.destroy();
    this.opts.logger?.warn({ err: errorMessage(err) }, 'database LISTEN connection lost; reconnecting');
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (this.closed || this.retryTimer) return;
    const delay = backoffDelayMs(this.attempt++, 500, this.opts.maxRetryDelayMs);
    this.retryTimer = systemClock.setTimer(() => {
      this.retryTimer = null;
      if (this.closed || this.channels.size === 0) return;
      this.ensureConnected().then(
        () => {
          this.opts.logger?.info({ channels: [...this.channels.keys()] }, 'database LISTEN connection re-established');
          for (const ch of this.channels.keys()) this.dispatch(ch, '');
        },
        (e: unknown) => {
          this.opts.logger?.warn({ err: errorMessage(e) }, 'database LISTEN reconnect failed');
          this.scheduleReconnect();
        },
      );
    }, delay);
  }
}
