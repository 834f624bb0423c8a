/**
 * The one dedicated connection that LISTENs on PostgreSQL (case C19): checked by a heartbeat
 * (`SELECT 1` with a time-out every `heartbeatMs`), and when it is lost (error, end, failed
 * heartbeat) re-established with bounded back-off and re-subscribed to every channel. After a
 * reconnect each callback is called once with the payload '' ("notifications may have been missed
 * while disconnected; re-check").
 */
import pg from 'pg';
import { errorMessage } from '../errors.js';
import { backoffDelayMs } from './backoff.js';
import type { DbLogger } from './pg-options.js';

export interface PgListenerOptions {
  clientConfig: pg.ClientConfig;
  heartbeatMs: number;
  maxRetryDelayMs: number;
  logger?: DbLogger;
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
  private heartbeat: NodeJS.Timeout | null = null;
  private retryTimer: NodeJS.Timeout | null = null;
  private attempt = 0;
  private closed = false;

  constructor(private readonly opts: PgListenerOptions) {}

  /** Subscribe `cb` to `channel`; resolves once LISTEN is active. Returns the unsubscribe function. */
  async listen(channel: string, cb: Callback): Promise<() => Promise<void>> {
    let set = this.channels.get(channel);
    const isNew = !set;
    if (!set) this.channels.set(channel, (set = new Set()));
    set.add(cb);
    try {
      await this.ensureConnected();
      if (isNew && this.client) await this.client.query(`LISTEN ${ident(channel)}`);
    } catch (err) {
      set.delete(cb);
      if (set.size === 0) this.channels.delete(channel);
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
    if (this.heartbeat) clearInterval(this.heartbeat);
    if (this.retryTimer) clearTimeout(this.retryTimer);
    const c = this.client;
    this.client = null;
    if (c) await c.end().catch(() => undefined);
  }

  private ensureConnected(): Promise<void> {
    if (this.client) return Promise.resolve();
    this.connecting ??= this.connect().finally(() => { this.connecting = null; });
    return this.connecting;
  }

  private async connect(): Promise<void> {
    const client = new pg.Client(this.opts.clientConfig);
    client.on('error', (err) => this.lost(client, err));
    client.on('end', () => this.lost(client, new Error('connection ended')));
    client.on('notification', (n) => this.dispatch(n.channel, n.payload ?? ''));
    try {
      await client.connect();
      for (const ch of this.channels.keys()) await client.query(`LISTEN ${ident(ch)}`);
    } catch (err) {
      client.removeAllListeners('end');
      await client.end().catch(() => undefined);
      throw err;
    }
    if (this.closed) { await client.end().catch(() => undefined); return; }
    this.client = client;
    this.attempt = 0;
    this.heartbeat = setInterval(() => void this.beat(client), this.opts.heartbeatMs);
  }

  private async beat(client: pg.Client): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('heartbeat timed out')), Math.max(1000, this.opts.heartbeatMs / 2));
    });
    try {
      await Promise.race([client.query('SELECT 1'), timeout]);
    } catch (err) {
      this.lost(client, err);
    } finally {
      clearTimeout(timer);
    }
  }

  private dispatch(channel: string, payload: string): void {
    for (const cb of this.channels.get(channel) ?? []) {
      try { cb(payload); } catch (err) { this.opts.logger?.warn({ err: errorMessage(err), channel }, 'LISTEN callback threw'); }
    }
  }

  /** The connection `client` is gone: drop it (never reuse) and reconnect with back-off. */
  private lost(client: pg.Client, err: unknown): void {
    if (this.client !== client || this.closed) return;
    this.client = null;
    if (this.heartbeat) clearInterval(this.heartbeat);
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
    this.retryTimer = setTimeout(() => {
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
