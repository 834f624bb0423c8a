/**
 * Delivery of one notification to one channel, per kind (issue 19 point 1). Each send is bounded
 * in time (`timeoutMs`) and throws on failure (the notifier retries with back-off). Errors never
 * carry a secret (no URLs, no passwords).
 */
import { createHmac } from 'node:crypto';
import fs from 'node:fs';
import { errorMessage } from '../../errors.js';
import type { NotificationPayload } from '../events.js';
import { parseChannelConfig, type ChannelConfig, type ChannelKind } from '../channel-config.js';
import { httpSend } from './http-post.js';

/** ntfy priorities (1 min .. 5 max) by event, unless the channel's `priorities` says otherwise. */
export const NTFY_PRIORITY: Readonly<Record<string, number>> = {
  'run.failed': 4,
  'check.failed': 4,
  'prune.failed': 4,
  'device.silent': 4,
  'job.stale': 4,
  'run.partial': 3,
  'run.recovered': 2,
};

/** The subject / title line of a notification. */
export function titleOf(p: NotificationPayload): string {
  const what = p.job_name ? `${p.job_name} on ${p.device_name}` : p.device_name;
  return `rbackup2 ${p.event}: ${what}`;
}

function bodyText(p: NotificationPayload): string {
  return [p.message, '', `event: ${p.event}`, `time: ${p.time}`, `device: ${p.device_name} (${p.device_id})`]
    .concat(p.job_id ? [`job: ${p.job_name ?? ''} (${p.job_id})`] : [])
    .concat(p.link ? [`link: ${p.link}`] : [])
    .concat([`id: ${p.id}`])
    .join('\n');
}

async function webhook(
  c: ChannelConfig<'webhook'>,
  p: NotificationPayload,
  timeoutMs: number,
  stop?: AbortSignal,
): Promise<void> {
  const body = JSON.stringify(p);
  const headers: Record<string, string> = { 'content-type': 'application/json', 'user-agent': 'rbackup2' };
  if (c.secret) headers['x-rbackup2-signature'] = `sha256=${createHmac('sha256', c.secret).update(body).digest('hex')}`;
  await httpSend(c.url, { body, headers }, timeoutMs, stop);
}

async function ntfy(
  c: ChannelConfig<'ntfy'>,
  p: NotificationPayload,
  timeoutMs: number,
  stop?: AbortSignal,
): Promise<void> {
  const priority = c.priorities?.[p.event] ?? NTFY_PRIORITY[p.event] ?? 3;
  const headers: Record<string, string> = {
    title: titleOf(p),
    priority: String(priority),
    tags: p.event === 'run.recovered' ? 'white_check_mark' : 'warning',
    'x-rbackup2-id': p.id,
  };
  if (p.link) headers.click = p.link;
  if (c.token) headers.authorization = `Bearer ${c.token}`;
  await httpSend(c.url, { body: bodyText(p), headers }, timeoutMs, stop);
}

/** A TLS verification failure (nodemailer keeps Node's message, e.g. "self-signed certificate"). */
const CERT_ERROR = /certificate|self[- ]signed|CERT_|altnames/i;

async function email(
  name: string,
  c: ChannelConfig<'email'>,
  p: NotificationPayload,
  timeoutMs: number,
  stop?: AbortSignal,
): Promise<void> {
  let ca: string | undefined;
  if (c.tls_ca_file) {
    try {
      ca = fs.readFileSync(c.tls_ca_file, 'utf8');
    } catch (err) {
      throw new Error(`channel ${name}: tls_ca_file ${c.tls_ca_file} not readable: ${errorMessage(err)}`);
    }
  }
  // Loaded only when an email goes out: nodemailer is large, and most agents have no email channel.
  const { default: nodemailer } = await import('nodemailer');
  const transport = nodemailer.createTransport({
    host: c.host,
    port: c.port ?? (c.secure ? 465 : 587),
    secure: c.secure ?? false,
    requireTLS: !c.secure && !c.allow_plaintext,
    ignoreTLS: Boolean(c.allow_plaintext) && !c.secure,
    auth: c.user ? { user: c.user, pass: c.password ?? '' } : undefined,
    ...(ca ? { tls: { ca } } : {}),
    connectionTimeout: timeoutMs,
    greetingTimeout: timeoutMs,
    socketTimeout: timeoutMs,
  });
  try {
    await transport.sendMail({
      from: c.from,
      to: c.to,
      subject: titleOf(p),
      text: bodyText(p),
      messageId: `<${p.id}@rbackup2>`,
      headers: { 'X-Rbackup2-Id': p.id, 'X-Rbackup2-Event': p.event },
      // nodemailer closes the SMTP connection on abort: a stop never waits out the timeouts.
      ...(stop ? { signal: stop } : {}),
    });
  } catch (err) {
    const msg = errorMessage(err);
    if (!stop?.aborted && CERT_ERROR.test(msg))
      throw new Error(
        `channel ${name}: the TLS certificate of ${c.host} is not trusted (${msg})` +
          (c.tls_ca_file ? `: it does not chain to tls_ca_file ${c.tls_ca_file}` : ': set tls_ca_file to its CA (PEM)'),
      );
    throw err;
  } finally {
    transport.close();
  }
}

async function healthchecks(
  c: ChannelConfig<'healthchecks'>,
  p: NotificationPayload,
  timeoutMs: number,
  stop?: AbortSignal,
): Promise<void> {
  const url = p.job_id ? c.urls[p.job_id] : undefined;
  if (!url) return; // a job without a check: nothing to ping
  const suffix =
    p.event === 'run.started' ? '/start' : p.event === 'run.failed' || p.event === 'run.partial' ? '/fail' : '';
  if (suffix === '' && p.event !== 'run.succeeded' && p.event !== 'run.recovered') return;
  await httpSend(
    `${url.replace(/\/+$/, '')}${suffix}`,
    { body: p.message.slice(0, 1000), headers: { 'content-type': 'text/plain' } },
    timeoutMs,
    stop,
  );
}

/**
 * Send `payload` through a channel of `kind` with raw `config` (checked here: a row edited with SQL
 * gives a clear error naming the channel). Throws on failure; `stop` aborts the send at once (the
 * process is stopping: a hanging channel must not hold it up).
 */
export async function sendNotification(
  channel: { name: string; kind: string; config: unknown },
  payload: NotificationPayload,
  timeoutMs = 10_000,
  stop?: AbortSignal,
): Promise<void> {
  const kind = channel.kind as ChannelKind;
  switch (kind) {
    case 'webhook':
      return webhook(parseChannelConfig('webhook', channel.config, channel.name), payload, timeoutMs, stop);
    case 'ntfy':
      return ntfy(parseChannelConfig('ntfy', channel.config, channel.name), payload, timeoutMs, stop);
    case 'email':
      return email(channel.name, parseChannelConfig('email', channel.config, channel.name), payload, timeoutMs, stop);
    case 'healthchecks':
      return healthchecks(parseChannelConfig('healthchecks', channel.config, channel.name), payload, timeoutMs, stop);
    default:
      parseChannelConfig(kind, channel.config, channel.name); // throws naming the kind
  }
}
