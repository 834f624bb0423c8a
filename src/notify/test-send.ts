/**
 * "Send test" (CLI `notify test`, the local UI's button): one notification straight to a channel,
 * bypassing the outbox, so the admin sees at once whether the channel works.
 */
import { randomUUID } from 'node:crypto';
import type { ChannelRow } from '../db/queries/notifications.js';
import { errorMessage } from '../errors.js';
import type { NotificationPayload } from './events.js';
import { sendNotification } from './channels/senders.js';

/** The test payload: the channel's first contract event, status `test`. */
export function testPayload(channel: ChannelRow, device: { id: string; name: string }, now: Date): NotificationPayload {
  const event = (channel.events.find((e) => e.startsWith('run.') || e.includes('.')) ??
    'run.failed') as NotificationPayload['event'];
  return {
    id: randomUUID(),
    event,
    time: now.toISOString(),
    device_id: device.id,
    device_name: device.name,
    job_id: null,
    job_name: null,
    status: 'test',
    message: `Test notification from rbackup2 for channel ${channel.name}`,
    run_id: null,
    link: null,
  };
}

/** Send a test through `channel`; `{ ok: true }` or `{ ok: false, error }` (no secret in the error). */
export async function sendTest(
  channel: ChannelRow,
  device: { id: string; name: string },
  timeoutMs = 10_000,
): Promise<{ ok: true; id: string } | { ok: false; error: string }> {
  const p = testPayload(channel, device, new Date());
  try {
    await sendNotification(channel, p, timeoutMs);
    return { ok: true, id: p.id };
  } catch (err) {
    return { ok: false, error: errorMessage(err) };
  }
}
