/**
 * The `config` JSONB of each channel kind (issue 19 point 1), checked with zod where it enters (CLI,
 * dashboard) and again before each delivery (an admin may edit the row with SQL), and redacted in
 * every answer and log.
 *
 * - webhook: `{ url, secret? }`: JSON POST; with `secret`, header `X-Rbackup2-Signature:
 *   sha256=<hex HMAC-SHA256 of the body>`.
 * - ntfy: `{ url (topic URL, e.g. https://ntfy.sh/mytopic), token?, priorities? }`; priority by
 *   event (ntfy's 1-5; defaults below).
 * - email: `{ host, port?, secure?, user?, password?, from, to: [..], tls_ca_file? }`; STARTTLS is
 *   required unless `secure` (implicit TLS) or `allow_plaintext` (a test server on loopback).
 *   `tls_ca_file`: a PEM file (on the machine that delivers) of the CA, or the self-signed
 *   certificate, the server's certificate must chain to, instead of the system's CAs.
 * - healthchecks: `{ urls: { "<job uuid>": "https://hc-ping.com/<check uuid>" } }`: start, success
 *   (`url`) and fail (`url/fail`) pings per job (healthchecks.io's ping API).
 */
import * as z from 'zod';
import { AppError } from '../errors.js';
import { NOTIFICATION_EVENTS, PING_EVENTS } from './events.js';
import { CHANNEL_KINDS, type ChannelKind } from './channel-kinds.js';

const httpUrl = z
  .string()
  .url()
  .refine((u) => /^https?:\/\//i.test(u), 'must be an http or https URL');

export const CHANNEL_SCHEMAS = {
  webhook: z.strictObject({ url: httpUrl, secret: z.string().min(1).optional() }),
  ntfy: z.strictObject({
    url: httpUrl,
    token: z.string().min(1).optional(),
    priorities: z.record(z.string(), z.number().int().min(1).max(5)).optional(),
  }),
  email: z.strictObject({
    host: z.string().min(1),
    port: z.number().int().min(1).max(65535).optional(),
    secure: z.boolean().optional(),
    allow_plaintext: z.boolean().optional(),
    tls_ca_file: z.string().min(1).optional(),
    user: z.string().optional(),
    password: z.string().optional(),
    from: z.string().min(3),
    to: z.array(z.string().min(3)).min(1),
  }),
  healthchecks: z.strictObject({ urls: z.record(z.string().uuid(), httpUrl) }),
} as const satisfies Record<ChannelKind, z.ZodType>;

export { CHANNEL_KINDS, type ChannelKind };
export type ChannelConfig<K extends ChannelKind> = z.infer<(typeof CHANNEL_SCHEMAS)[K]>;

/** Events a channel may subscribe to: the contract events, plus the pings for healthchecks. */
export const SUBSCRIBABLE_EVENTS: readonly string[] = [...NOTIFICATION_EVENTS, ...PING_EVENTS];

/** The checked config of `kind`; throws AppError INVALID_INPUT naming the channel and each bad field. */
export function parseChannelConfig<K extends ChannelKind>(kind: K, config: unknown, channel: string): ChannelConfig<K> {
  const schema = (CHANNEL_SCHEMAS as Record<string, z.ZodType | undefined>)[kind];
  if (!schema)
    throw new AppError('INVALID_INPUT', `channel ${channel}: kind "${kind}" is not one of ${CHANNEL_KINDS.join(', ')}`);
  const r = schema.safeParse(config);
  if (!r.success) {
    const fields = r.error.issues.map((i) => `config.${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new AppError('INVALID_INPUT', `channel ${channel} (${kind}): ${fields}`);
  }
  return r.data as ChannelConfig<K>;
}

/** Checks an events list; throws AppError INVALID_INPUT naming an unknown event. */
export function checkEvents(events: readonly string[], channel: string): void {
  for (const e of events)
    if (!SUBSCRIBABLE_EVENTS.includes(e))
      throw new AppError(
        'INVALID_INPUT',
        `channel ${channel}: unknown event "${e}" (known: ${SUBSCRIBABLE_EVENTS.join(', ')})`,
      );
}

const SECRET_KEY = /secret|password|token|pass|key/i;

/** A URL without user info, query and fragment; the path kept only for a webhook/ntfy topic. */
function redactUrl(u: string, keepPath: boolean): string {
  try {
    const url = new URL(u);
    return `${url.protocol}//${url.host}${keepPath ? url.pathname : '/…'}${url.search ? '?…' : ''}`;
  } catch {
    return '(set)';
  }
}

/**
 * `config` with secrets replaced: secret-named keys become "(set)", URLs lose user info and query,
 * healthchecks ping URLs (a ping URL is its own secret) keep only the host. For every answer and log.
 */
export function redactConfig(kind: string, config: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(config)) {
    if (SECRET_KEY.test(k)) out[k] = v === undefined || v === '' ? v : '(set)';
    else if (k === 'url' && typeof v === 'string') out[k] = redactUrl(v, true);
    else if (k === 'urls' && v && typeof v === 'object')
      out[k] = Object.fromEntries(
        Object.entries(v).map(([j, u]) => [j, typeof u === 'string' ? redactUrl(u, false) : '(set)']),
      );
    else out[k] = v;
  }
  void kind;
  return out;
}
