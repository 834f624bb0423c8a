/**
 * The service's stop, delivered to the agent as a graceful stop. A Windows service has no
 * console, so a Ctrl+C from the service wrapper is unreliable, and Node's `process.kill` on Windows
 * is TerminateProcess (no cleanup at all). Instead the running agent listens on a local channel
 * (Windows: the named pipe `\\.\pipe\rbackup2-stop-<hash of data_dir>`; elsewhere a Unix socket
 * `<data_dir>/stop.sock`) and `rbackup2 service stop-agent`, which WinSW runs as the service's
 * stop command (winsw.ts), sends `stop <api token>`: the agent answers `stopping` and stops exactly
 * as on SIGTERM (running backups finish within client.shutdown_timeout_seconds, then are
 * cancelled). The token (data_dir/api-token, readable only by the agent's account and
 * administrators) keeps other local users from stopping the agent.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { AppError } from '../errors.js';

/** Longest request accepted, bytes (`stop ` + a 43-character token, with room to spare). */
const MAX_REQUEST = 512;

/**
 * The channel's address for the agent (or, with `service: 'dashboard'`, the `rbackup2 dashboard`)
 * whose data folder is `dataDir` (absolute). The two never share an address: a dashboard started
 * with the agent's data folder must not take over (or remove) the agent's socket.
 */
export function stopChannelPath(
  dataDir: string,
  platform: NodeJS.Platform = process.platform,
  service: 'agent' | 'dashboard' = 'agent',
): string {
  const prefix = service === 'agent' ? '' : `${service}-`;
  if (platform === 'win32') {
    const hash = createHash('sha256').update(dataDir.toLowerCase()).digest('hex').slice(0, 16);
    return `\\\\.\\pipe\\rbackup2-${prefix}stop-${hash}`;
  }
  return path.join(dataDir, `${prefix}stop.sock`);
}

function sameToken(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * Listen on `address` for `stop <token>` lines; calls `onStop('service stop')` once per valid
 * request (the caller's stop is idempotent). Wrong or oversized requests get `refused` and change
 * nothing. Resolves with a close function once listening; rejects when the address is in use (an
 * agent with the same data folder runs already).
 */
export async function listenForStop(
  address: string,
  token: string,
  onStop: (reason: string) => void,
): Promise<() => Promise<void>> {
  if (!address.startsWith('\\\\.\\pipe\\')) fs.rmSync(address, { force: true });
  const server = net.createServer((sock) => {
    let buf = '';
    sock.setTimeout(5000, () => sock.destroy());
    sock.on('error', () => undefined);
    sock.on('data', (d: Buffer) => {
      buf += d.toString('utf8');
      if (buf.length > MAX_REQUEST) {
        sock.end('refused\n');
        return;
      }
      const nl = buf.indexOf('\n');
      if (nl < 0) return;
      const line = buf.slice(0, nl).trim();
      if (line.startsWith('stop ') && sameToken(line.slice(5), token)) {
        sock.end('stopping\n');
        onStop('service stop');
      } else sock.end('refused\n');
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(address, () => {
      server.off('error', reject);
      resolve();
    });
  });
  if (!address.startsWith('\\\\.\\pipe\\')) fs.chmodSync(address, 0o600);
  return () => new Promise<void>((resolve) => server.close(() => resolve()));
}

/**
 * Ask the agent (or dashboard: `what`, used in the messages) at `address` to stop (bounded by `timeoutMs`). Resolves when the agent accepted;
 * throws AppError CONFLICT when nothing listens (the agent is not running) and
 * UNAUTHORIZED when it refused the token.
 */
export async function requestStop(
  address: string,
  token: string,
  timeoutMs = 10_000,
  what: 'agent' | 'dashboard' = 'agent',
): Promise<void> {
  const answer = await new Promise<string>((resolve, reject) => {
    let buf = '';
    const sock = net.connect(address, () => sock.write(`stop ${token}\n`));
    sock.setTimeout(timeoutMs, () => sock.destroy(new Error(`no answer within ${timeoutMs / 1000} s`)));
    sock.on('data', (d: Buffer) => (buf += d.toString('utf8').slice(0, 100)));
    sock.on('end', () => resolve(buf.trim()));
    sock.on('error', reject);
  }).catch((err: Error) => {
    throw new AppError('CONFLICT', `the ${what} does not answer on ${address} (${err.message}): is it running?`);
  });
  if (answer !== 'stopping')
    throw new AppError(
      'UNAUTHORIZED',
      `the ${what} refused the stop request (${answer || 'no answer'}): the API token does not match`,
    );
}
