/**
 * Issue 19 point 1 with issue 15: a device role (rbackup2 device login, migration 006 + 012) cannot
 * read notification channels at all (permission denied, not an empty list), nor deliveries; it may
 * write its own outbox rows (not another device's) and read the notifier lease. Real PostgreSQL.
 * The same migration on PGlite: the admin (owner) reads and writes everything.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOrResetDeviceRole } from '../../src/db/device-roles.js';
import { migrate } from '../../src/db/migrate.js';
import { openPostgres } from '../../src/db/postgres.js';
import { upsertDevice } from '../../src/db/queries/devices.js';
import { acquireLease, enqueueNotification, insertChannel, listChannels } from '../../src/db/queries/notifications.js';
import type { Database } from '../../src/db/database.js';
import { createTempPgDatabase, forEachDatabase } from '../helpers/databases.js';
import { dropDeviceRoles } from '../helpers/device-role.js';

describe('a device role and notification channels [postgres]', () => {
  let pgdb: Awaited<ReturnType<typeof createTempPgDatabase>>;
  let admin: Database;
  let asA: pg.Client;

  beforeAll(async () => {
    pgdb = await createTempPgDatabase();
    admin = await openPostgres({ connectionString: pgdb.url, connectAttempts: 1 });
    await migrate(admin);
    await upsertDevice(admin, { id: 'dev-a' });
    await upsertDevice(admin, { id: 'dev-b' });
    await insertChannel(admin, {
      deviceId: null,
      name: 'mail',
      kind: 'email',
      config: { host: 'smtp.example.org', password: 'smtp-secret', from: 'a@example.org', to: ['b@example.org'] },
      events: ['run.failed'],
      enabled: true,
    });
    await insertChannel(admin, {
      deviceId: 'dev-a',
      name: 'a-hook',
      kind: 'webhook',
      config: { url: 'https://hooks.example.org/x', secret: 'hmac' },
      events: ['run.failed'],
      enabled: true,
    });
    await acquireLease(admin, 'notifier', 'dashboard@test', 60);
    const login = await createOrResetDeviceRole(admin, 'dev-a');
    const u = new URL(pgdb.url);
    u.username = login.role;
    u.password = login.password;
    asA = new pg.Client({ connectionString: u.toString() });
    await asA.connect();
  });
  afterAll(async () => {
    await asA?.end();
    await admin?.close();
    await pgdb?.drop();
    if (pgdb) await dropDeviceRoles(pgdb.name);
  });

  it("cannot read channels at all, not even its own device's, nor deliveries", async () => {
    await expect(asA.query('SELECT * FROM notification_channels')).rejects.toThrow(
      /permission denied for table notification_channels/,
    );
    await expect(asA.query("SELECT config FROM notification_channels WHERE device_id = 'dev-a'")).rejects.toThrow(
      /permission denied/,
    );
    await expect(asA.query('SELECT count(*) FROM notification_deliveries')).rejects.toThrow(/permission denied/);
    await expect(asA.query('UPDATE notification_channels SET enabled = false')).rejects.toThrow(/permission denied/);
    expect((await listChannels(admin)).map((c) => c.name).sort()).toEqual(['a-hook', 'mail']);
  });

  it('writes its own outbox rows only and reads the notifier lease', async () => {
    const payload = { event: 'run.failed' };
    await asA.query(
      `INSERT INTO notification_outbox (id, event, device_id, payload) VALUES (gen_random_uuid(), 'run.failed', 'dev-a', $1)`,
      [payload],
    );
    await expect(
      asA.query(
        `INSERT INTO notification_outbox (id, event, device_id, payload) VALUES (gen_random_uuid(), 'run.failed', 'dev-b', $1)`,
        [payload],
      ),
    ).rejects.toThrow(/row-level security/);
    await enqueueNotification(admin, {
      id: '00000000-0000-5000-8000-000000000001',
      event: 'device.silent',
      deviceId: 'dev-b',
      jobId: null,
      payload,
    });
    const seen = await asA.query('SELECT device_id FROM notification_outbox');
    expect(seen.rows.map((r) => r.device_id)).toEqual(['dev-a']);
    await expect(asA.query(`UPDATE notification_outbox SET done_at = now()`)).rejects.toThrow(/permission denied/);
    const lease = await asA.query('SELECT owner FROM leases WHERE name = $1', ['notifier']);
    expect(lease.rows).toEqual([{ owner: 'dashboard@test' }]);
    await expect(asA.query(`UPDATE leases SET expires_at = now()`)).rejects.toThrow(/permission denied/);
  });
});

forEachDatabase('outbox and leases as the owner', (getDb) => {
  beforeAll(async () => {
    await migrate(getDb());
    await upsertDevice(getDb(), { id: 'dev-a' });
  });

  it('an outbox id written twice is one row; a lease has one holder until it expires', async () => {
    const n = {
      id: '00000000-0000-5000-8000-00000000000a',
      event: 'job.stale',
      deviceId: 'dev-a',
      jobId: null,
      payload: { x: 1 },
    };
    expect(await enqueueNotification(getDb(), n)).toBe(true);
    expect(await enqueueNotification(getDb(), n)).toBe(false);
    expect(await acquireLease(getDb(), 'watcher', 'one', 60)).toBe(true);
    expect(await acquireLease(getDb(), 'watcher', 'two', 60)).toBe(false);
    expect(await acquireLease(getDb(), 'watcher', 'one', 60)).toBe(true);
    await getDb().query(`UPDATE leases SET expires_at = now() - interval '1 second' WHERE name = 'watcher'`);
    expect(await acquireLease(getDb(), 'watcher', 'two', 60)).toBe(true);
  });

  it('a channel row edited with SQL to a bad config is refused by name at delivery', async () => {
    const { sendNotification } = await import('../../src/notify/channels/senders.js');
    const c = await insertChannel(getDb(), {
      deviceId: null,
      name: 'broken',
      kind: 'webhook',
      config: { url: 'ftp://x' },
      events: ['run.failed'],
      enabled: true,
    });
    await expect(sendNotification(c, {} as never)).rejects.toThrow(
      /channel broken \(webhook\): config.url: must be an http or https URL/,
    );
  });
});
