/**
 * The notifier (issue 19 point 3): delivers the outbox at least once, with bounded retries and
 * exponential back-off, each channel at a bounded rate. One notifier at a time fleet-wide holds
 * the `notifier` lease; the lease's expiry is also what agents read to say "notifications are not
 * being delivered" (src/notify/notifier-health.ts). In a fleet it runs inside `rbackup2 dashboard`
 * (admin rights: devices never see channel secrets); on the embedded database inside the agent.
 *
 * Per tick: renew the lease (skip the tick if another holder's lease is valid) -> route new outbox
 * rows to channels -> send due deliveries (at most `batch`, `concurrency` at once, each bounded by
 * `sendTimeoutMs`) -> record outcomes -> purge finished rows older than `keepDays`.
 */
import { randomUUID } from 'node:crypto';
import type { Clock } from '../clock.js';
import type { Database } from '../db/database.js';
import {
  acquireLease,
  deferDelivery,
  dueDeliveries,
  purgeOutbox,
  recordDelivery,
  releaseLease,
  routeOutbox,
  type DueDelivery,
} from '../db/queries/notifications.js';
import { errorMessage } from '../errors.js';
import type { NotificationPayload } from './events.js';
import { Loop } from './loop.js';
import { sendNotification } from './channels/senders.js';
import { RateLimiter } from './rate-limit.js';

export const NOTIFIER_LEASE = 'notifier';

export interface NotifierLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  debug(obj: object, msg: string): void;
}

export interface NotifierOptions {
  db: Database;
  clock: Clock;
  logger: NotifierLogger;
  /** Lease holder name, e.g. `dashboard@host:pid` (default a random one). */
  owner?: string;
  /** Seconds between ticks (default 10). */
  intervalSeconds?: number;
  /** First retry after this many seconds, doubling per attempt (default 10). */
  retryBaseSeconds?: number;
  /** Longest wait between two attempts, seconds (default 1800). */
  retryMaxSeconds?: number;
  /** Attempts per delivery before giving up (default 20: about 8 h with the defaults). */
  maxAttempts?: number;
  /** Notifications per channel per minute (default 30); more wait, none are dropped. */
  ratePerMinute?: number;
  /** Time limit of one send, ms (default 10 000). */
  sendTimeoutMs?: number;
  /** Deliveries per tick (default 100) and at once (default 4). */
  batch?: number;
  concurrency?: number;
  /** Days finished outbox rows are kept (default 30). */
  keepDays?: number;
}

/** Back-off before attempt `attempts + 1` (seconds), or null when `attempts` reached the limit. */
export function retryDelay(attempts: number, base: number, max: number, maxAttempts: number): number | null {
  if (attempts >= maxAttempts) return null;
  return Math.min(max, base * 2 ** Math.max(0, attempts - 1));
}

/** Due deliveries grouped by channel id, each group in the order given (oldest first). */
function byChannel(due: DueDelivery[]): Map<number, DueDelivery[]> {
  const groups = new Map<number, DueDelivery[]>();
  for (const d of due) {
    const g = groups.get(d.channel.id);
    if (g) g.push(d);
    else groups.set(d.channel.id, [d]);
  }
  return groups;
}

export class Notifier {
  readonly owner: string;
  private readonly loop: Loop;
  private readonly limiter: RateLimiter;
  private lastPurge = 0;
  /** Aborted by stop(): in-flight sends end at once and the rest of the tick's batch waits. */
  private stopping = new AbortController();
  /** Deliveries sent since start (tests and status). */
  delivered = 0;

  constructor(private readonly o: NotifierOptions) {
    this.owner = o.owner ?? `notifier-${randomUUID()}`;
    this.limiter = new RateLimiter(o.ratePerMinute ?? 30, 60_000, () => o.clock.monotonic());
    this.loop = new Loop(o.clock, (o.intervalSeconds ?? 10) * 1000, () => this.tick());
  }

  start(): void {
    if (this.stopping.signal.aborted) this.stopping = new AbortController();
    this.loop.start();
  }

  /** Run a tick soon (a new outbox row was written in this process). */
  kick(): void {
    this.loop.kick();
  }

  /** One pass; exposed for tests. Never throws (a database error waits for the next tick). */
  async tick(): Promise<void> {
    const o = this.o;
    const interval = o.intervalSeconds ?? 10;
    try {
      if (!(await acquireLease(o.db, NOTIFIER_LEASE, this.owner, Math.max(30, interval * 3)))) return;
      await routeOutbox(o.db);
      const due = await dueDeliveries(o.db, o.batch ?? 100);
      // One channel's deliveries go one after another, oldest first, and when one must wait (the
      // receiver failed, or the rate limit) the rest of that channel's share waits as long: a
      // receiver sees notifications in the order they happened (a healthchecks start ping that
      // overtook the success ping would open a new run and later report the job down). Different
      // channels are sent side by side.
      const queue = [...byChannel(due).values()];
      const worker = async () => {
        for (let ds = queue.shift(); ds && !this.stopping.signal.aborted; ds = queue.shift()) {
          for (let i = 0; i < ds.length && !this.stopping.signal.aborted; i++) {
            const wait = await this.deliver(ds[i]!);
            if (wait === null) continue;
            for (const later of ds.slice(i + 1)) await deferDelivery(o.db, later.outboxId, later.channel.id, wait);
            break;
          }
        }
      };
      await Promise.all(Array.from({ length: Math.min(o.concurrency ?? 4, queue.length) }, worker));
      if (due.length > 0) await routeOutbox(o.db); // mark finished rows done
      if (o.clock.now() - this.lastPurge > 3_600_000) {
        this.lastPurge = o.clock.now();
        await purgeOutbox(o.db, o.keepDays ?? 30);
      }
    } catch (err) {
      o.logger.warn({ err: errorMessage(err) }, 'notifier: database error, retrying at the next tick');
    }
  }

  /**
   * Send one delivery and record the outcome. Returns null when the channel's next delivery may go
   * now (this one was delivered, given up, or cut short by stop), else the seconds this one waits.
   */
  private async deliver(d: DueDelivery): Promise<number | null> {
    const o = this.o;
    const wait = this.limiter.take(d.channel.id);
    if (wait > 0) {
      await deferDelivery(o.db, d.outboxId, d.channel.id, Math.ceil(wait / 1000));
      return Math.ceil(wait / 1000);
    }
    const payload = d.payload as unknown as NotificationPayload;
    try {
      await sendNotification(d.channel, payload, o.sendTimeoutMs ?? 10_000, this.stopping.signal);
      await recordDelivery(o.db, d.outboxId, d.channel.id, { ok: true });
      this.delivered++;
      o.logger.info({ channel: d.channel.name, event: payload.event, id: d.outboxId }, 'notification delivered');
      return null;
    } catch (err) {
      if (this.stopping.signal.aborted) {
        // Cut short by stop(), not the channel's fault: no attempt counted; still due, so the next
        // start (or the next notifier holding the lease) sends it again (at-least-once).
        o.logger.info(
          { channel: d.channel.name, event: payload.event, id: d.outboxId },
          'notification send interrupted by stop',
        );
        return null;
      }
      const attempts = d.attempts + 1;
      const retryIn = retryDelay(attempts, o.retryBaseSeconds ?? 10, o.retryMaxSeconds ?? 1800, o.maxAttempts ?? 20);
      const error = errorMessage(err);
      await recordDelivery(o.db, d.outboxId, d.channel.id, { ok: false, error, retryInSeconds: retryIn });
      o.logger.warn(
        { channel: d.channel.name, event: payload.event, id: d.outboxId, attempts, retry_in_s: retryIn, err: error },
        retryIn === null ? 'notification given up' : 'notification not delivered, will retry',
      );
      return retryIn;
    }
  }

  /**
   * Stop: abort sends in flight (a dead or slow channel never holds up a stop), wait for the
   * running tick to record what it has, and hand the lease back.
   */
  async stop(): Promise<void> {
    this.stopping.abort();
    await this.loop.stop();
    await releaseLease(this.o.db, NOTIFIER_LEASE, this.owner).catch(() => undefined);
  }
}
