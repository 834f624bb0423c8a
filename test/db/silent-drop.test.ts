/**
 * C19: the network to PostgreSQL drops silently (no RST, packets just stop). A loopback TCP proxy
 * in front of the real server is "black-holed" by the test: it keeps the sockets open and stops
 * forwarding. No query may wait forever, the dead client must be discarded, and the LISTEN
 * connection must notice (heartbeat) and come back once the network does.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import net from 'node:net';
import { createTempPgDatabase } from '../helpers/databases.js';
import { openPostgres, isDbUnavailable } from '../../src/db/index.js';

class BlackholeProxy {
  private server: net.Server;
  private pairs = new Set<[net.Socket, net.Socket]>();
  blackholed = false;
  port = 0;

  constructor(private readonly target: { host: string; port: number }) {
    this.server = net.createServer((client) => {
      const upstream = net.connect(target.port, target.host);
      const pair: [net.Socket, net.Socket] = [client, upstream];
      this.pairs.add(pair);
      // Forward only while the "network" is up; drop bytes silently otherwise (no FIN, no RST).
      client.on('data', (d) => {
        if (!this.blackholed) upstream.write(d);
      });
      upstream.on('data', (d) => {
        if (!this.blackholed) client.write(d);
      });
      const close = () => {
        client.destroy();
        upstream.destroy();
        this.pairs.delete(pair);
      };
      client.on('close', close);
      upstream.on('close', close);
      client.on('error', close);
      upstream.on('error', close);
    });
  }

  listen(): Promise<number> {
    return new Promise((resolve) =>
      this.server.listen(0, '127.0.0.1', () => {
        this.port = (this.server.address() as net.AddressInfo).port;
        resolve(this.port);
      }),
    );
  }

  /** Black-holed connections stay black-holed (their bytes were lost); new ones work again. */
  restore(): void {
    for (const [c, u] of this.pairs) {
      c.destroy();
      u.destroy();
    }
    this.blackholed = false;
  }

  close(): Promise<void> {
    for (const [c, u] of this.pairs) {
      c.destroy();
      u.destroy();
    }
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

describe('C19 silent network loss to PostgreSQL', () => {
  let tmp: Awaited<ReturnType<typeof createTempPgDatabase>>;
  let proxy: BlackholeProxy;
  let url: string;

  beforeAll(async () => {
    tmp = await createTempPgDatabase();
    proxy = new BlackholeProxy({ host: '127.0.0.1', port: 5432 });
    const port = await proxy.listen();
    const u = new URL(tmp.url);
    u.port = String(port);
    u.searchParams.set('sslmode', 'disable');
    url = u.toString();
  });

  afterAll(async () => {
    await proxy.close();
    await tmp.drop();
  });

  it('C19 a query on a black-holed connection fails within the query time-out, and the pool recovers', async () => {
    const db = await openPostgres({
      connectionString: url,
      queryTimeoutMs: 1500,
      connectTimeoutMs: 1500,
      connectAttempts: 1,
    });
    expect((await db.query<{ n: number }>('SELECT 1 AS n')).rows[0]?.n).toBe(1);
    proxy.blackholed = true;
    const t0 = Date.now();
    const err = await db.query('SELECT 2').catch((e: unknown) => e);
    const waited = Date.now() - t0;
    expect(err).toBeInstanceOf(Error);
    expect(isDbUnavailable(err)).toBe(true); // an outage, not bad SQL: the agent keeps running on its journal
    expect(waited).toBeLessThan(6000);
    // A new connection during the outage also gives up (connect time-out), never hangs.
    const t1 = Date.now();
    await expect(db.query('SELECT 3')).rejects.toBeInstanceOf(Error);
    expect(Date.now() - t1).toBeLessThan(6000);
    proxy.restore();
    // The dead clients were discarded: the next query gets a fresh, working connection.
    expect((await db.query<{ n: number }>('SELECT 4 AS n')).rows[0]?.n).toBe(4);
    await db.close();
  });

  it('C19 the LISTEN connection is checked by its heartbeat and re-subscribed after a silent drop', async () => {
    const db = await openPostgres({
      connectionString: url,
      heartbeatMs: 1000,
      maxRetryDelayMs: 300,
      queryTimeoutMs: 1500,
      connectTimeoutMs: 1500,
      connectAttempts: 1,
    });
    const direct = await openPostgres({ connectionString: tmp.url });
    const got: string[] = [];
    await db.listen('rb2_drop', (p) => got.push(p));
    await direct.query("SELECT pg_notify('rb2_drop', 'before')");
    await expect.poll(() => got.includes('before'), { timeout: 5000 }).toBe(true);
    proxy.blackholed = true;
    await new Promise((r) => setTimeout(r, 2500)); // at least one heartbeat is lost
    proxy.restore();
    await expect.poll(() => got.includes(''), { timeout: 15_000 }).toBe(true); // re-established: "may have missed some"
    await direct.query("SELECT pg_notify('rb2_drop', 'after')");
    await expect.poll(() => got.includes('after'), { timeout: 5000 }).toBe(true);
    await db.close();
    await direct.close();
  });
});
