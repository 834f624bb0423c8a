/** One bounded HTTP request for the channel senders: fetch with a time limit; non-2xx is an error. */
import { errorMessage } from '../../errors.js';

/**
 * POST (or GET) `url` with `body` and `headers`, aborted after `timeoutMs` or when `stop` aborts
 * (the agent or dashboard is stopping). Resolves on 2xx; throws an Error with the status (or the
 * network error) otherwise. The URL is never in the message (it may carry a token).
 */
export async function httpSend(
  url: string,
  init: { method?: string; body?: string; headers?: Record<string, string> },
  timeoutMs: number,
  stop?: AbortSignal,
): Promise<void> {
  const timeout = AbortSignal.timeout(timeoutMs);
  let res: Response;
  try {
    res = await fetch(url, {
      method: init.method ?? 'POST',
      body: init.body,
      headers: init.headers,
      signal: stop ? AbortSignal.any([timeout, stop]) : timeout,
      redirect: 'error',
    });
  } catch (err) {
    const cause = (err as { cause?: unknown }).cause;
    throw new Error(`request failed: ${errorMessage(cause ?? err)}`);
  }
  await res.arrayBuffer().catch(() => undefined); // drain (bounded by the timeout)
  if (res.status < 200 || res.status > 299) throw new Error(`answered HTTP ${res.status}`);
}
