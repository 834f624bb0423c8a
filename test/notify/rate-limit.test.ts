/**
 * Issue 19 point 2, "a bounded rate per channel": src/notify/rate-limit.ts (a sliding window per
 * key, on an injected clock) and the notifier using it: with 2 per minute, three due notifications
 * for one channel send two to a real HTTP receiver and put the third off by about a minute, neither
 * dropped nor counted as a failed attempt, while another channel is not held back (both databases).
 */
import { afterAll, beforeAll, expect, it, describe } from 'vitest';
import { systemClock } from '../../src/clock.js';
import { migrate } from '../../src/db/migrate.js';
import { enqueueNotification } from '../../src/db/queries/notifications.js';
import { addChannel } from '../../src/notify/channel-admin.js';
import { Notifier } from '../../src/notify/notifier.js';
import { RateLimiter } from '../../src/notify/rate-limit.js';
import { forEachDatabase } from '../helpers/databases.js';
import { startHttpReceiver, type HttpReceiver } from '../helpers/receivers.js';

describe('RateLimiter', () => {
  it('allows `limit` per sliding window per key, then says how long until a slot frees', () => {
    let now = 1_000_000;
    const r = new RateLimiter(3, 60_000, () => now);
    expect([r.take('a'), r.take('a'), r.take('a')]).toEqual([0, 0, 0]);
    now += 10_000;
    expect(r.take('a')).toBe(50_000); // the first take frees at +60 s
    expect(r.take('b')).toBe(0); // another channel has its own window
    now += 49_999;
    expect(r.take('a')).toBe(1);
    now += 1;
    // the three takes of t0 leave the window together: three more, then a full window to wait
    expect([r.take('a'), r.take('a'), r.take('a')]).toEqual([0, 0, 0]);
    expect(r.take('a')).toBe(60_000);
  });
});

forEachDatabase('the notifier keeps each channel to its rate', (getDb) => {
  let receiver: HttpReceiver;
  beforeAll(async () => {
    receiver = await startHttpReceiver();
  });
  afterAll(async () => {
    await receiver?.close();
  });

  it('2 per minute: two of three sent, the third put off (not failed, not dropped); another channel unaffected', async () => {
    const db = getDb();
    await migrate(db);
    await db.query(`INSERT INTO devices (id, name) VALUES ('rate-dev', 'Rate laptop')`);
    const busy = await addChannel(db, {
      name: 'busy',
      kind: 'webhook',
      config: { url: `${receiver.url}/busy` },
      events: ['run.failed'],
    });
    await addChannel(db, {
      name: 'other',
      kind: 'webhook',
      config: { url: `${receiver.url}/other` },
      events: ['run.partial'],
    });
    const ids: string[] = [];
    for (const [i, event] of (['run.failed', 'run.failed', 'run.failed', 'run.partial'] as const).entries()) {
      const id = `00000000-0000-4000-8000-00000000000${i}`;
      ids.push(id);
      await enqueueNotification(db, {
        id,
        event,
        deviceId: 'rate-dev',
        jobId: null,
        payload: { id, event, time: new Date().toISOString(), device_id: 'rate-dev', message: `n${i}` },
      });
    }
    const quiet = { info() {}, warn() {}, debug() {} };
    const notifier = new Notifier({
      db,
      clock: systemClock,
      logger: quiet,
      intervalSeconds: 3600,
      ratePerMinute: 2,
      concurrency: 1,
    });
    await notifier.tick();
    expect(receiver.json('/busy').map((b) => b.id)).toEqual(ids.slice(0, 2));
    expect(receiver.json('/other').map((b) => b.id)).toEqual([ids[3]]);
    const { rows } = await db.query<{ attempts: number; delivered: boolean; gave_up: boolean; wait_s: number }>(
      `SELECT attempts, delivered_at IS NOT NULL AS delivered, gave_up_at IS NOT NULL AS gave_up,
              extract(epoch FROM next_attempt_at - now())::float8 AS wait_s
         FROM notification_deliveries WHERE outbox_id = $1 AND channel_id = $2`,
      [ids[2], busy.id],
    );
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ attempts: 0, delivered: false, gave_up: false });
    expect(rows[0]!.wait_s).toBeGreaterThan(50);
    expect(rows[0]!.wait_s).toBeLessThanOrEqual(61);
    await notifier.tick(); // not due yet: nothing more
    expect(receiver.json('/busy')).toHaveLength(2);
    await notifier.stop();
  });
});
