/**
 * Start Debian's real Pushgateway (/usr/bin/prometheus-pushgateway) on a free loopback port, in
 * memory only (no --persistence.file), and wait for /-/ready. Tests stop it with stop().
 */
import { spawn, type ChildProcess } from 'node:child_process';

export const PUSHGATEWAY_BIN = '/usr/bin/prometheus-pushgateway';

export interface RunningGateway {
  url: string;
  port: number;
  /** SIGTERM, then SIGKILL after 3 s; resolves when the process has exited. */
  stop(): Promise<void>;
  /** GET /metrics of the gateway as text. */
  scrape(): Promise<string>;
}

export { freePort } from '../helpers/wait.js';
import { freePort } from '../helpers/wait.js';

/** Start a gateway; `port` lets a test restart one on the same address. */
export async function startPushgateway(port?: number): Promise<RunningGateway> {
  const p = port ?? (await freePort());
  const child: ChildProcess = spawn(PUSHGATEWAY_BIN, [`--web.listen-address=127.0.0.1:${p}`, '--log.level=warn'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = `http://127.0.0.1:${p}`;
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`pushgateway exited: ${stderr}`);
    try {
      const res = await fetch(`${url}/-/ready`, { signal: AbortSignal.timeout(1000) });
      if (res.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`pushgateway not ready within 15 s: ${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    port: p,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(t);
    },
    async scrape() {
      const res = await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(5000) });
      if (!res.ok) throw new Error(`scrape: HTTP ${res.status}`);
      return res.text();
    },
  };
}
