/**
 * "Notifications are not being delivered" (issue 19 point 3): silence must never look like health.
 * An agent reads the `notifier` lease (a device role may) every `checkSeconds`; when no notifier
 * has held it for `graceSeconds` (or none ever did), its status and UI say so.
 */
import type { Clock } from '../clock.js';
import type { Queryable } from '../db/database.js';
import { leaseState } from '../db/queries/notifications.js';
import { errorMessage } from '../errors.js';
import { Loop } from './loop.js';
import { NOTIFIER_LEASE } from './notifier.js';

export interface NotificationsStatus {
  /** True while a notifier held its lease within the grace time. */
  delivering: boolean;
  /** Why not, for people (null while delivering). */
  message: string | null;
  /** When the notifier lease expires (or expired); null when no notifier ever ran. */
  notifierLeaseUntil: string | null;
  checkedAt: string | null;
}

export const NOT_DELIVERED = 'notifications are not being delivered';

/** The status from a lease row (null = no notifier ever ran) and the grace time. Pure. */
export function notificationsStatus(
  lease: { expiresAt: string; expiredForSeconds: number } | null,
  graceSeconds: number,
  checkedAt: string,
): NotificationsStatus {
  if (!lease)
    return {
      delivering: false,
      message: `${NOT_DELIVERED}: no notifier has run yet (rbackup2 dashboard)`,
      notifierLeaseUntil: null,
      checkedAt,
    };
  if (lease.expiredForSeconds > graceSeconds)
    return {
      delivering: false,
      message: `${NOT_DELIVERED}: no notifier alive since ${lease.expiresAt}`,
      notifierLeaseUntil: lease.expiresAt,
      checkedAt,
    };
  return { delivering: true, message: null, notifierLeaseUntil: lease.expiresAt, checkedAt };
}

/** Periodic check of the notifier lease; `status` is the last result (unknown until the first check). */
export class NotifierHealth {
  status: NotificationsStatus = { delivering: false, message: null, notifierLeaseUntil: null, checkedAt: null };
  private readonly loop: Loop;

  constructor(
    private readonly db: Queryable,
    private readonly clock: Clock,
    private readonly graceSeconds: number,
    checkSeconds: number,
    private readonly onError: (err: string) => void,
  ) {
    this.loop = new Loop(clock, checkSeconds * 1000, async () => void (await this.check()));
  }

  start(): void {
    this.loop.start();
  }

  async check(): Promise<NotificationsStatus> {
    try {
      const lease = await leaseState(this.db, NOTIFIER_LEASE);
      this.status = notificationsStatus(lease, this.graceSeconds, new Date(this.clock.now()).toISOString());
    } catch (err) {
      this.onError(errorMessage(err)); // keep the last known status while the database is away
    }
    return this.status;
  }

  async stop(): Promise<void> {
    await this.loop.stop();
  }
}
