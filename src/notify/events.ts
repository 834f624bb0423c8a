/**
 * Notification events (CONTRACTS §8, issue 19): the names are part of the contract. A webhook body
 * is the `NotificationPayload` below as JSON. `run.started` and `run.succeeded` are internal: only
 * `healthchecks` channels use them (start and success pings of a dead man's switch).
 */
import { createHash } from 'node:crypto';

export const NOTIFICATION_EVENTS = [
  'run.failed',
  'run.partial',
  'run.recovered',
  'check.failed',
  'prune.failed',
  'job.stale',
  'device.silent',
] as const;
export type NotificationEvent = (typeof NOTIFICATION_EVENTS)[number];

/** Events that go to the outbox only for healthchecks pings; never chosen in `events` of other kinds. */
export const PING_EVENTS = ['run.started', 'run.succeeded'] as const;
export type OutboxEvent = NotificationEvent | (typeof PING_EVENTS)[number];

/** The body of one notification (a webhook POSTs it as JSON). Times are ISO 8601 UTC. */
export interface NotificationPayload {
  /** Unique per notification: receivers deduplicate deliveries by it (at-least-once delivery). */
  id: string;
  event: OutboxEvent;
  time: string;
  device_id: string;
  device_name: string;
  job_id: string | null;
  job_name: string | null;
  /** The run's status (`failed`, `partial`, `success`), `stale` or `silent`. */
  status: string;
  /** One line for people. */
  message: string;
  run_id: number | null;
  /** Link to the run (or job/device) in the local UI or dashboard; null when unknown. */
  link: string | null;
}

/** True for a contract event name. */
export function isNotificationEvent(s: string): s is NotificationEvent {
  return (NOTIFICATION_EVENTS as readonly string[]).includes(s);
}

/**
 * A stable UUID (version-5 layout, SHA-1) from `parts`: the same facts give the same notification
 * id, so a replayed journal entry or a second watcher pass is one notification, not two.
 */
export function stableId(...parts: readonly (string | number | null)[]): string {
  const h = createHash('sha1')
    .update(parts.map((p) => String(p)).join('\u0000'))
    .digest();
  h[6] = (h[6]! & 0x0f) | 0x50;
  h[8] = (h[8]! & 0x3f) | 0x80;
  const x = h.subarray(0, 16).toString('hex');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20, 32)}`;
}
