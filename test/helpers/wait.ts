/** Small waiting helpers shared by the tests that drive real processes and servers. */
import net from 'node:net';

/** Free TCP port on 127.0.0.1 (bound and released; a tiny race, fine for tests). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

/** Thrown inside a waitFor callback to end the wait at once (e.g. the process died). */
export class StopWaiting extends Error {}

/**
 * Poll `fn` every `everyMs` until it returns a truthy value; throws `what` after `timeoutMs`.
 * Errors thrown by `fn` count as "not yet", except StopWaiting, which ends the wait at once.
 */
export async function waitFor<T>(
  what: string,
  fn: () => Promise<T> | T,
  timeoutMs = 60_000,
  everyMs = 200,
): Promise<NonNullable<T>> {
  const end = Date.now() + timeoutMs;
  let lastErr: unknown = null;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v as NonNullable<T>;
    } catch (err) {
      if (err instanceof StopWaiting) throw err;
      lastErr = err;
    }
    if (Date.now() > end)
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}${lastErr ? ` (last error: ${String(lastErr)})` : ''}`,
      );
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
