/**
 * The LISTEN connection's heartbeat (src/db/pg-listener.ts, C19 and issue 22): `SELECT 1` on most
 * beats and a NOTIFY probe that proves delivery only every PROBE_EVERY_BEATS-th, because
 * PostgreSQL wakes every listening backend of the database on each NOTIFY (500 agents probing on
 * every beat cost the server N x N wakeups). Real PostgreSQL; the probe is counted.
 */
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { PgListener, PROBE_EVERY_BEATS } from '../../src/db/pg-listener.js';
import { createTempPgDatabase } from '../helpers/databases.js';

let tmp: Awaited<ReturnType<typeof createTempPgDatabase>>;
let sender: pg.Client;

beforeAll(async () => {
  tmp = await createTempPgDatabase();
  sender = new pg.Client({ connectionString: tmp.url });
  await sender.connect();
});
afterAll(async () => {
  await sender?.end();
  await tmp?.drop();
});

it('probes delivery at subscribe and on every PROBE_EVERY_BEATS-th heartbeat only; notifications still arrive', async () => {
  const probes: number[] = [];
  const t0 = Date.now();
  const listener = new PgListener({
    clientConfig: { connectionString: tmp.url },
    heartbeatMs: 100,
    maxRetryDelayMs: 1000,
    probe: async (channel, payload) => {
      probes.push(Date.now() - t0);
      await sender.query('SELECT pg_notify($1, $2)', [channel, payload]);
    },
  });
  const got: string[] = [];
  const unlisten = await listener.listen('rb2_probe_test', (p) => got.push(p), true);
  expect(probes).toHaveLength(1); // the verify at subscribe
  // Two more probes take at least 2 * PROBE_EVERY_BEATS heartbeats of 100 ms (a loaded machine
  // only makes beats later, never sooner); a probe per beat would have them within ~200 ms.
  const subscribed = Date.now() - t0;
  await expect.poll(() => probes.length - 1, { timeout: 20_000 }).toBeGreaterThanOrEqual(2);
  expect(probes[2]! - subscribed).toBeGreaterThanOrEqual(2 * PROBE_EVERY_BEATS * 100 - 150);
  await sender.query("SELECT pg_notify('rb2_probe_test', 'hello')");
  await expect.poll(() => got, { timeout: 5000 }).toContain('hello');
  await unlisten();
  await listener.close();
}, 30_000);
