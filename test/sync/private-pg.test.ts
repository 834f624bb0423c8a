/**
 * The private server helper itself: starts, answers, stops (clients see a connection error), starts again.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { privatePgAvailable, startPrivatePg, type PrivatePg } from '../helpers/private-pg.js';

describe.runIf(privatePgAvailable())('private PostgreSQL helper', () => {
  let server: PrivatePg;
  beforeAll(async () => {
    server = await startPrivatePg();
  }, 120_000);
  afterAll(async () => {
    await server?.destroy();
  });

  const select1 = async () => {
    const c = new pg.Client({ connectionString: server.url() });
    try {
      await c.connect();
      return (await c.query<{ one: number }>('SELECT 1 AS one')).rows[0]?.one;
    } finally {
      await c.end().catch(() => undefined);
    }
  };

  it('answers, refuses while stopped, answers after a restart', async () => {
    expect(await select1()).toBe(1);
    await server.stop('fast');
    await expect(select1()).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    await server.start();
    expect(await select1()).toBe(1);
  });
});
