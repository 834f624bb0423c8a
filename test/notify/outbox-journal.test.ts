/**
 * Issue 19 point 3: "the local journal keeps them while the database is away". A real agent
 * (startAgent, in process) on a PRIVATE PostgreSQL server that this file stops and starts (as
 * test/sync/outage.test.ts does), real restic, a job every 5 s. The fleet's notifier is the real
 * `Notifier` class run here on its own connection (what `rbackup2 dashboard` runs), delivering to a
 * real HTTP receiver. While the server is down, run.started / run.succeeded go to
 * `<data_dir>/notify-outbox.jsonl`; once it is back they reach the outbox table and the receiver,
 * each exactly once, and the journal is emptied.
 *
 * PostgreSQL only: the embedded database (PGlite) lives inside the agent and cannot go away alone.
 */
import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAgent, type Agent } from '../../src/app.js';
import { systemClock } from '../../src/clock.js';
import { openDatabase, type Database } from '../../src/db/index.js';
import { insertChannel } from '../../src/db/queries/notifications.js';
import type { NotificationPayload } from '../../src/notify/events.js';
import { Notifier } from '../../src/notify/notifier.js';
import { OUTBOX_JOURNAL_FILE } from '../../src/notify/outbox-journal.js';
import { privatePgAvailable, startPrivatePg, type PrivatePg } from '../helpers/private-pg.js';
import { startHttpReceiver, type HttpReceiver } from '../helpers/receivers.js';
import { captureLog, localConfig, makeWorkspace, seedFor, waitFor, type Workspace } from '../sync/harness.js';

const DEVICE = 'journal-outage';

describe.runIf(privatePgAvailable())('outbox journal while the database is away (private PostgreSQL)', () => {
  let server: PrivatePg;
  let ws: Workspace;
  let url = '';
  let hook: HttpReceiver;
  let agent: Agent | null = null;
  let notifierDb: Database | null = null;
  let notifier: Notifier | null = null;

  const sql = async <T extends pg.QueryResultRow>(text: string, params: unknown[] = []) => {
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    try {
      return (await c.query<T>(text, params)).rows;
    } finally {
      await c.end();
    }
  };

  beforeAll(async () => {
    server = await startPrivatePg();
    const c = new pg.Client({ connectionString: server.url() });
    await c.connect();
    await c.query('CREATE DATABASE rb');
    await c.end();
    url = server.url('rb');
    ws = makeWorkspace(true);
    hook = await startHttpReceiver();
  }, 180_000);

  afterAll(async () => {
    await server?.start().catch(() => undefined);
    await agent?.stop('test done');
    await notifier?.stop();
    await notifierDb?.close();
    await hook?.close();
    await server?.destroy();
    ws?.cleanup();
  }, 60_000);

  it('events made while the server is down are journaled, then reach the outbox and the receiver once each', async () => {
    const local = localConfig(ws.dir, DEVICE, url);
    await seedFor(local, { device: DEVICE, repoDir: ws.repoDir, sourceDir: ws.sourceDir, intervalSeconds: 5 });
    const journal = path.join(local.dataDir, OUTBOX_JOURNAL_FILE);
    const seedDb = await openDatabase({ database: local.database, dataDir: local.dataDir });
    try {
      await insertChannel(seedDb, {
        deviceId: null,
        name: 'hook',
        kind: 'webhook',
        config: { url: `${hook.url}/hook` },
        events: ['run.started', 'run.succeeded'],
        enabled: true,
      });
    } finally {
      await seedDb.close();
    }
    agent = await startAgent({
      local,
      logger: captureLog().logger,
      http: false,
      notifyIntervals: { journalReplaySeconds: 1 },
    });
    const nlog = captureLog();
    notifierDb = await openDatabase({ database: local.database, dataDir: local.dataDir });
    notifier = new Notifier({
      db: notifierDb,
      clock: systemClock,
      logger: nlog.logger,
      owner: 'test-dashboard',
      intervalSeconds: 1,
      retryBaseSeconds: 1,
    });
    notifier.start();
    await waitFor(
      'a run.succeeded delivered before the outage',
      () => hook.json('/hook').some((b) => b.event === 'run.succeeded'),
      60_000,
    );

    await server.stop('fast');
    const journaled = await waitFor(
      'a run.started and a run.succeeded in the journal',
      () => {
        if (!fs.existsSync(journal)) return null;
        const lines = fs.readFileSync(journal, 'utf8').split('\n').filter(Boolean);
        const entries = lines.map((l) => JSON.parse(l) as NotificationPayload);
        const events = new Set(entries.map((e) => e.event));
        return events.has('run.started') && events.has('run.succeeded') ? entries : null;
      },
      60_000,
    );
    expect(journaled.every((e) => e.device_id === DEVICE)).toBe(true);
    const before = new Set(hook.json('/hook').map((b) => b.id as string));
    for (const e of journaled) expect(before.has(e.id)).toBe(false); // not sent by another path

    await server.start();
    const ids = journaled.map((e) => e.id);
    await waitFor(
      'journaled notifications in the outbox',
      async () => {
        const rows = await sql<{ id: string }>('SELECT id FROM notification_outbox WHERE id = ANY($1)', [ids]).catch(
          () => [],
        );
        return rows.length === ids.length;
      },
      60_000,
    );
    await waitFor(
      'journaled notifications at the receiver',
      () => {
        const got = new Set(hook.json('/hook').map((b) => b.id as string));
        return ids.every((id) => got.has(id));
      },
      60_000,
    );
    await waitFor(
      'the journal emptied',
      () => !fs.existsSync(journal) || fs.readFileSync(journal, 'utf8').trim() === '',
      30_000,
    );

    // None twice: each journaled notification arrived exactly once. Only the journaled ids are held
    // to that: a delivery the notifier sent just as the server stopped, before it could record it,
    // may legitimately come again (at-least-once). One early run saw 5 bodies for 4 ids, before
    // this test said which id; on a repeat the log line below names it and the notifier's warnings.
    await agent.stop('test done');
    agent = null;
    await notifier.tick();
    const all = hook.json('/hook').map((b) => b.id as string);
    for (const id of ids) {
      if (all.filter((x) => x === id).length !== 1)
        console.log(JSON.stringify({ id, all, log: nlog.lines.filter((l) => (l.level ?? 0) >= 30) }));
      expect(all.filter((x) => x === id)).toHaveLength(1);
    }
    const rows = await sql<{ n: string }>(
      'SELECT count(*) AS n FROM notification_deliveries WHERE outbox_id = ANY($1) AND delivered_at IS NOT NULL',
      [ids],
    );
    expect(Number(rows[0]!.n)).toBe(ids.length);
    expect(hook.refused).toEqual([]);
  }, 240_000);
});
