/**
 * A wrong database password is a configuration error, said plainly (issue 2: "says clearly what is
 * wrong ... bad password"), never retried as an outage and never echoing the password. The shared
 * server trusts everyone, so this uses a private server with scram-sha-256 for one role.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { privatePgAvailable, startPrivatePg, type PrivatePg } from '../helpers/private-pg.js';
import { openPostgres } from '../../src/db/index.js';
import { isAppError, type AppError } from '../../src/errors.js';

describe.skipIf(!privatePgAvailable())('PostgreSQL password authentication', () => {
  let server: PrivatePg;

  beforeAll(async () => {
    server = await startPrivatePg();
    const admin = new pg.Client({ connectionString: server.url() });
    await admin.connect();
    await admin.query("CREATE ROLE agent LOGIN PASSWORD 'right-pa$$ w0rd'");
    // postgres stays trusted (the test's own connection); every other role needs its password.
    fs.writeFileSync(
      path.join(server.dataDir, 'pg_hba.conf'),
      'host all postgres 127.0.0.1/32 trust\nhost all all 127.0.0.1/32 scram-sha-256\nlocal all all trust\n',
    );
    await admin.query('SELECT pg_reload_conf()');
    await admin.end();
  });

  afterAll(async () => {
    await server?.destroy();
  });

  it('a wrong password is one DB_CONNECT line naming the user, at once, without the password', async () => {
    const t0 = Date.now();
    const err = await openPostgres({
      host: '127.0.0.1',
      port: server.port,
      user: 'agent',
      password: 'wrong-pa$$ w0rd',
      database: 'postgres',
      sslMode: 'disable',
      connectAttempts: 5,
    }).catch((e: unknown) => e);
    expect(isAppError(err, 'DB_CONNECT')).toBe(true);
    const message = (err as AppError).message;
    expect(message).toMatch(/password authentication failed for user "agent"/);
    expect(message).not.toContain('\n');
    expect(message).not.toContain('pa$$');
    expect(Date.now() - t0).toBeLessThan(3000); // not retried with back-off like an outage
  });

  it('the right password connects', async () => {
    const db = await openPostgres({
      host: '127.0.0.1',
      port: server.port,
      user: 'agent',
      password: 'right-pa$$ w0rd',
      database: 'postgres',
      sslMode: 'disable',
    });
    expect((await db.query<{ u: string }>('SELECT current_user AS u')).rows[0]?.u).toBe('agent');
    await db.close();
  });
});
