/**
 * One bounded HTTP request to a Pushgateway group (PUT the exposition, or DELETE the group).
 * Never throws: the outcome is a PushResult whose error text carries no credentials (they travel
 * in a header built by pushgateway-url.ts, never in the URL that errors mention).
 */
import type { GroupTarget } from './pushgateway-url.js';

/** Success is any 2xx: 200 (push), 202 (DELETE, or push with --push.disable-consistency-check), 204 (proxies). */
export type PushResult = { ok: true; status: number } | { ok: false; error: string };

/** Text exposition format 0.0.4, which the Pushgateway parses (README, "PUT method"). */
export const EXPOSITION_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';
const MAX_RESPONSE_BYTES = 4096;

/**
 * Send `method` to the group. The whole exchange (connect, headers, reading at most 4 KiB of the
 * answer) is bounded by `timeoutMs`; `stopSignal` aborts it early (agent stopping). Redirects are
 * refused, so a body is never re-sent somewhere else.
 */
export async function sendToGateway(
  target: GroupTarget,
  method: 'PUT' | 'DELETE',
  body: string | undefined,
  timeoutMs: number,
  stopSignal: AbortSignal | null,
): Promise<PushResult> {
  const timeout = AbortSignal.timeout(timeoutMs);
  const signal = stopSignal ? AbortSignal.any([timeout, stopSignal]) : timeout;
  try {
    const headers: Record<string, string> = { ...target.headers };
    if (body !== undefined) headers['content-type'] = EXPOSITION_CONTENT_TYPE;
    const res = await fetch(target.url, { method, headers, body, signal, redirect: 'error' });
    const text = await readSnippet(res);
    if (res.status >= 200 && res.status < 300) return { ok: true, status: res.status };
    return { ok: false, error: `HTTP ${res.status}${text.trim() ? `: ${text.trim().slice(0, 300)}` : ''}` };
  } catch (err) {
    if (timeout.aborted) return { ok: false, error: `no answer within ${timeoutMs / 1000} s` };
    if (signal.aborted) return { ok: false, error: 'aborted: pusher stopped' };
    return { ok: false, error: describeError(err) };
  }
}

/** Read at most MAX_RESPONSE_BYTES of the body as text and drop the rest. */
async function readSnippet(res: Response): Promise<string> {
  if (!res.body) return '';
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  while (size < MAX_RESPONSE_BYTES) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    size += value.byteLength;
  }
  await reader.cancel().catch(() => {});
  return Buffer.concat(chunks).subarray(0, MAX_RESPONSE_BYTES).toString('utf8');
}

/** A one-line reason for a thrown error; `fetch failed` hides the reason in `cause` (ECONNREFUSED, ...). */
export function describeError(err: unknown): string {
  if (err instanceof Error) {
    const cause = (err as { cause?: { code?: unknown; message?: unknown } }).cause;
    if (cause && typeof cause.code === 'string') return `${err.message} (${cause.code})`;
    if (cause && typeof cause.message === 'string') return `${err.message}: ${cause.message}`;
    return err.message;
  }
  return String(err);
}
