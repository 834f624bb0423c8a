/**
 * A loopback TCP listener that accepts every connection and never sends a byte: a repository
 * server that hangs (C27). Connections are destroyed on close().
 */
import net from 'node:net';
import type { AddressInfo } from 'node:net';

export interface BlackHole {
  port: number;
  accepted: () => number;
  close(): Promise<void>;
}

/** Listen on 127.0.0.1 (random port). */
export async function startBlackHole(): Promise<BlackHole> {
  const sockets = new Set<net.Socket>();
  let count = 0;
  const server = net.createServer((s) => {
    count++;
    sockets.add(s);
    s.on('error', () => undefined);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    accepted: () => count,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
