/**
 * Notifications leave in the order they were written (migration 013): two outbox rows with the
 * same `created_at` (two writes within one clock tick; seen on PGlite, where CI delivered a
 * prune.failed before the check.failed written before it) are delivered in insert order, not in
 * the order of their ids (hashes). The tie is made with SQL, so the test does not depend on the
 * clock. Both databases.
 */
import { beforeAll, expect, it } from 'vitest';
import { migrate } from '../../src/db/migrate.js';
import { upsertDevice } from '../../src/db/queries/devices.js';
import { dueDeliveries, enqueueNotification, insertChannel, routeOutbox } from '../../src/db/queries/notifications.js';
import { forEachDatabase } from '../helpers/databases.js';

forEachDatabase('outbox order', (getDb) => {
  beforeAll(async () => {
    await migrate(getDb());
    await upsertDevice(getDb(), { id: 'dev-order' });
    await insertChannel(getDb(), {
      deviceId: null,
      name: 'order-hook',
      kind: 'webhook',
      config: { url: 'http://127.0.0.1:9/hook' },
      events: ['check.failed', 'prune.failed'],
      enabled: true,
    });
  });

  it('two notifications written in the same clock tick are delivered in the order written, whatever their ids', async () => {
    const db = getDb();
    // The first written has the larger id: ordered by id, the second would go first.
    const first = 'ffffffff-0000-4000-8000-000000000001';
    const second = '00000000-0000-4000-8000-000000000002';
    for (const [id, event] of [
      [first, 'check.failed'],
      [second, 'prune.failed'],
    ] as const)
      expect(await enqueueNotification(db, { id, event, deviceId: 'dev-order', jobId: null, payload: { event } })).toBe(
        true,
      );
    await db.query(`UPDATE notification_outbox SET created_at = '2026-12-02T12:00:00Z' WHERE id IN ($1, $2)`, [
      first,
      second,
    ]);
    expect(await routeOutbox(db)).toBe(2);
    const due = await dueDeliveries(db, 10);
    expect(due.map((d) => d.outboxId)).toEqual([first, second]);
  });
});
