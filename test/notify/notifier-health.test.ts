/**
 * Issue 19 point 3, "when no notifier has been alive for a while, each agent's status and UI say so
 * ('notifications are not being delivered')": src/notify/notifier-health.ts and the local UI's
 * banner. The check reads the `notifier` lease a real Notifier (the dashboard's) takes and hands
 * back, on both databases. Then REAL agents (src/app.ts startAgent) in Debian's Chromium: on
 * PostgreSQL with a channel but no dashboard, GET /status says not delivering and the page shows
 * the banner; once a notifier holds the lease the status says delivering and the banner is gone.
 * On the embedded database the agent is its own notifier: no banner.
 * Screenshot: test-artifacts/notify-banner.png.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashPassword } from '../../src/api/auth/password-hash.js';
import { startAgent, type Agent } from '../../src/app.js';
import { systemClock } from '../../src/clock.js';
import { parseLocalConfig } from '../../src/config/local-config.js';
import { migrate, openDatabase, setSetting, upsertDevice, type Database } from '../../src/db/index.js';
import { addChannel } from '../../src/notify/channel-admin.js';
import { Notifier } from '../../src/notify/notifier.js';
import { NOT_DELIVERED, NotifierHealth, notificationsStatus } from '../../src/notify/notifier-health.js';
import { authHeader } from '../helpers/agent-auth.js';
import { createTempPgDatabase, forEachDatabase } from '../helpers/databases.js';
import { waitFor } from '../helpers/wait.js';
import { collectPageErrors, launchChromium, loginThroughUi } from '../ui/login.js';

const repoRoot = path.resolve(import.meta.dirname, '../..');
const quiet = { info() {}, warn() {}, debug() {} };
const AT = '2026-12-01T10:00:00.000Z';

describe('notificationsStatus', () => {
  it('no lease: never delivered; expired beyond the grace: not delivered since; else delivering', () => {
    expect(notificationsStatus(null, 600, AT)).toEqual({
      delivering: false,
      message: `${NOT_DELIVERED}: no notifier has run yet (rbackup2 dashboard)`,
      notifierLeaseUntil: null,
      checkedAt: AT,
    });
    const lease = (expiredForSeconds: number) => ({ expiresAt: '2026-12-01T09:00:00.000Z', expiredForSeconds });
    expect(notificationsStatus(lease(601), 600, AT)).toMatchObject({
      delivering: false,
      message: `${NOT_DELIVERED}: no notifier alive since 2026-12-01T09:00:00.000Z`,
      notifierLeaseUntil: '2026-12-01T09:00:00.000Z',
    });
    // a lease expired within the grace (a notifier restarting) and a valid one both count as delivering
    expect(notificationsStatus(lease(600), 600, AT)).toMatchObject({ delivering: true, message: null });
    expect(notificationsStatus(lease(-30), 600, AT)).toMatchObject({ delivering: true, message: null });
  });
});

forEachDatabase('NotifierHealth reads the notifier lease', (getDb) => {
  it('not delivering before any notifier, delivering while one holds the lease, not after it stopped', async () => {
    const db = getDb();
    await migrate(db);
    const errors: string[] = [];
    const health = new NotifierHealth(db, systemClock, 0, 3600, (e) => errors.push(e));
    expect(health.status).toMatchObject({ delivering: false, message: null, checkedAt: null }); // unknown yet
    expect(await health.check()).toMatchObject({
      delivering: false,
      message: expect.stringContaining('no notifier has run yet'),
    });

    const notifier = new Notifier({
      db,
      clock: systemClock,
      logger: quiet,
      owner: 'dashboard@test',
      intervalSeconds: 3600,
    });
    await notifier.tick(); // takes the lease
    const on = await health.check();
    expect(on).toMatchObject({ delivering: true, message: null });
    expect(Date.parse(on.notifierLeaseUntil!)).toBeGreaterThan(Date.now());

    await notifier.stop(); // hands the lease back: it expires now
    await new Promise((r) => setTimeout(r, 50));
    const off = await health.check();
    expect(off.delivering).toBe(false);
    expect(off.message).toBe(`${NOT_DELIVERED}: no notifier alive since ${off.notifierLeaseUntil}`);
    expect(errors).toEqual([]);
  });
});

describe.each(['postgres', 'pglite'] as const)(
  'the local UI says when notifications are not delivered (%s)',
  (kind) => {
    let tmp = '';
    let dataDir = '';
    let agent: Agent | null = null;
    let admin: Database | null = null;
    let dropDb: (() => Promise<void>) | null = null;
    let browser: Browser;
    let page: Page;
    const pageErrors: string[] = [];

    const status = async () =>
      (await (await fetch(`${agent!.url}/status`, { headers: authHeader(dataDir) })).json()) as {
        notifications: { delivering: boolean; message: string | null } | null;
      };

    beforeAll(async () => {
      tmp = fs.mkdtempSync(path.join(os.tmpdir(), `rbackup2-notify-health-${kind}-`));
      dataDir = path.join(tmp, 'data');
      let dbSection = '';
      if (kind === 'postgres') {
        const pgdb = await createTempPgDatabase();
        dropDb = pgdb.drop;
        dbSection = `database:\n  url: "${pgdb.url}"\n`;
      }
      const yaml = `device:\n  id: health-${kind}\n  name: Health laptop\n${dbSection}client:\n  http_bind: "127.0.0.1:0"\n  data_dir: "${dataDir}"\n  log_file: "${path.join(dataDir, 'agent.log')}"\n  shutdown_timeout_seconds: 5\n`;
      const local = parseLocalConfig(yaml, path.join(tmp, 'config.yaml'), {});
      const seed = await openDatabase({ database: local.database, dataDir: local.dataDir });
      try {
        await migrate(seed);
        await upsertDevice(seed, { id: `health-${kind}`, name: 'Health laptop' });
        await setSetting(seed, { deviceId: null, key: 'ui_password_hash', value: await hashPassword('health pw') });
        await addChannel(seed, { name: 'hook', kind: 'webhook', config: { url: 'http://127.0.0.1:9/hook' } });
      } finally {
        if (kind === 'postgres')
          admin = seed; // the admin's connection, for the notifier below
        else await seed.close(); // PGlite is one process's database: the agent's from now on
      }
      agent = await startAgent({
        local,
        logger: pino({ level: 'silent' }),
        notifyIntervals: { healthGraceSeconds: 5, healthCheckSeconds: 1 },
      });
      browser = await launchChromium();
      page = await browser.newPage({ viewport: { width: 1280, height: 900 }, locale: 'en-US' });
      collectPageErrors(page, pageErrors);
      await page.goto(agent.url ?? '');
      await loginThroughUi(page, 'health pw');
    }, 180_000);

    afterAll(async () => {
      await browser?.close();
      await agent?.stop('test done');
      await admin?.close();
      await dropDb?.();
      if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
    }, 60_000);

    if (kind === 'pglite') {
      it('the agent is its own notifier: delivering, no banner', async () => {
        await waitFor('the first check', async () => (await status()).notifications?.delivering === true, 15_000);
        await page.reload();
        await page.getByTestId('device-name').filter({ hasText: 'Health laptop' }).waitFor({ timeout: 15_000 });
        expect(await page.getByTestId('notify-banner').isVisible()).toBe(false);
        expect(pageErrors).toEqual([]);
      });
      return;
    }

    it('a channel but no notifier: status and banner say so; a notifier taking the lease clears both', async () => {
      const s = await waitFor('the first check', async () => (await status()).notifications?.message ?? null, 15_000);
      expect(s).toBe(`${NOT_DELIVERED}: no notifier has run yet (rbackup2 dashboard)`);
      const banner = page.getByTestId('notify-banner');
      await banner.waitFor({ state: 'visible', timeout: 15_000 });
      expect(await banner.textContent()).toBe(
        'Notifications are not being delivered: no notifier has run yet (rbackup2 dashboard). Failed or stale backups are shown here and in the log, but nobody is told until a notifier runs again.',
      );
      fs.mkdirSync(path.join(repoRoot, 'test-artifacts'), { recursive: true });
      await page.screenshot({ path: path.join(repoRoot, 'test-artifacts', 'notify-banner.png') });

      // the dashboard's notifier, over the admin's connection
      const notifier = new Notifier({
        db: admin!,
        clock: systemClock,
        logger: quiet,
        owner: 'dashboard@test',
        intervalSeconds: 3600,
      });
      await notifier.tick();
      await waitFor('delivering', async () => (await status()).notifications?.delivering === true, 15_000);
      await page.reload();
      await page.getByTestId('device-name').filter({ hasText: 'Health laptop' }).waitFor({ timeout: 15_000 });
      expect(await banner.isVisible()).toBe(false);

      // it stops and stays away longer than the grace (5 s): said again
      await notifier.stop();
      await waitFor(
        'not delivering again',
        async () => (await status()).notifications?.delivering === false,
        20_000,
        500,
      );
      await page.reload();
      await banner.waitFor({ state: 'visible', timeout: 15_000 });
      expect(await banner.textContent()).toContain('Notifications are not being delivered: no notifier alive since');
      expect(pageErrors).toEqual([]);
    }, 120_000);
  },
);
