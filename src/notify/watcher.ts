/**
 * The watcher (issue 19 point 4): reports `job.stale` and `device.silent`, because a powered-off
 * device cannot report itself. In a fleet it runs in `rbackup2 dashboard` over the whole fleet,
 * one instance at a time fleet-wide (the `watcher` lease row, with an expiry); on the embedded
 * database the agent watches its own jobs. Each finding is written to the outbox once: its id is
 * derived from the job and its last success (the device and its last_seen), so later passes and a
 * second watcher write the same id, which the outbox ignores.
 */
import { randomUUID } from 'node:crypto';
import type { Clock } from '../clock.js';
import type { Queryable } from '../db/database.js';
import {
  acquireLease,
  enqueueNotification,
  releaseLease,
  silentDevices,
  watchedJobs,
} from '../db/queries/notifications.js';
import { errorMessage } from '../errors.js';
import { stableId, type NotificationPayload } from './events.js';
import { Loop } from './loop.js';
import { DEFAULT_SILENT_AFTER_SECONDS, StaleLimits } from './stale.js';

export const WATCHER_LEASE = 'watcher';

export interface WatcherOptions {
  db: Queryable;
  clock: Clock;
  logger: { info(o: object, m: string): void; warn(o: object, m: string): void };
  owner?: string;
  /** Only this device's jobs, and no device.silent (the embedded agent); null/absent = whole fleet. */
  deviceId?: string | null;
  /** Seconds between passes (default 300). */
  intervalSeconds?: number;
  /** Zone for cron schedules without their own (default the process's). */
  localZone?: string;
  /** A link for a job or device, e.g. the dashboard's page. */
  link?: (kind: 'job' | 'device', id: string) => string | null;
  onEnqueued?: () => void;
}

export class Watcher {
  readonly owner: string;
  private readonly loop: Loop;
  private readonly limits: StaleLimits;

  constructor(private readonly o: WatcherOptions) {
    this.owner = o.owner ?? `watcher-${randomUUID()}`;
    this.limits = new StaleLimits(o.localZone ?? Intl.DateTimeFormat().resolvedOptions().timeZone);
    this.loop = new Loop(o.clock, (o.intervalSeconds ?? 300) * 1000, () => this.pass().then(() => undefined));
  }

  start(): void {
    this.loop.start();
  }

  /** One pass; returns the notifications newly written (empty when another watcher holds the lease). */
  async pass(): Promise<NotificationPayload[]> {
    const o = this.o;
    const written: NotificationPayload[] = [];
    try {
      const ttl = Math.max(60, (o.intervalSeconds ?? 300) * 3);
      if (!(await acquireLease(o.db, WATCHER_LEASE, this.owner, ttl))) return written;
      const now = new Date(o.clock.now());
      for (const j of await watchedJobs(o.db, o.deviceId ?? null)) {
        const limit = this.limits.limit(j, now);
        if (limit === null) continue;
        const since = Date.parse(j.lastSuccess ?? j.createdAt);
        if (now.getTime() - since <= limit * 1000) continue;
        const p: NotificationPayload = {
          id: stableId('job.stale', j.jobId, j.lastSuccess ?? 'never'),
          event: 'job.stale',
          time: now.toISOString(),
          device_id: j.deviceId,
          device_name: j.deviceName,
          job_id: j.jobId,
          job_name: j.jobName,
          status: 'stale',
          message: `Backup ${j.jobName} on ${j.deviceName} is stale: ${j.lastSuccess ? `last success ${j.lastSuccess}` : 'never succeeded'} (limit ${limit} s)`,
          run_id: null,
          link: o.link?.('job', j.jobId) ?? null,
        };
        if (await this.write(p)) written.push(p);
      }
      if (!o.deviceId) {
        for (const d of await silentDevices(o.db, DEFAULT_SILENT_AFTER_SECONDS)) {
          const p: NotificationPayload = {
            id: stableId('device.silent', d.deviceId, d.lastSeen),
            event: 'device.silent',
            time: now.toISOString(),
            device_id: d.deviceId,
            device_name: d.deviceName,
            job_id: null,
            job_name: null,
            status: 'silent',
            message: `Device ${d.deviceName} has not reported since ${d.lastSeen} (limit ${d.silentAfter} s)`,
            run_id: null,
            link: o.link?.('device', d.deviceId) ?? null,
          };
          if (await this.write(p)) written.push(p);
        }
      }
      if (written.length > 0) {
        o.logger.info({ count: written.length }, 'watcher: stale jobs or silent devices reported');
        o.onEnqueued?.();
      }
    } catch (err) {
      o.logger.warn({ err: errorMessage(err) }, 'watcher pass failed; retrying at the next one');
    }
    return written;
  }

  private write(p: NotificationPayload): Promise<boolean> {
    return enqueueNotification(this.o.db, {
      id: p.id,
      event: p.event,
      deviceId: p.device_id,
      jobId: p.job_id,
      payload: p,
    });
  }

  /** Stop (waits for a running pass) and hand the lease back. */
  async stop(): Promise<void> {
    await this.loop.stop();
    await releaseLease(this.o.db, WATCHER_LEASE, this.owner).catch(() => undefined);
  }
}
