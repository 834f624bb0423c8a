/**
 * Issue 19 point 1: the local UI manages notification channels on the embedded database. A REAL
 * agent (src/app.ts startAgent) on PGlite: the API lists channels with secrets redacted, adds and
 * removes one, and "send test" reaches a real HTTP receiver (test/helpers/receivers.ts), or says
 * why not; the Notifications page does the same in Debian's Chromium. On PostgreSQL every channel
 * route answers 409 naming where channels are managed (a device role cannot read them), and the
 * page shows that sentence. The page's form offers every kind: an email channel added there
 * (its port first mistyped: the server's check, the CLI's, names config.port) sends its test to a
 * real SMTP server (smtp-server). Screenshots: test-artifacts/notifications-<db>.png.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAgent, type Agent } from '../../src/app.js';
import { parseLocalConfig } from '../../src/config/local-config.js';
import { migrate, openDatabase, setSetting, upsertDevice } from '../../src/db/index.js';
import { hashPassword } from '../../src/api/auth/password-hash.js';
import { authHeader } from '../helpers/agent-auth.js';
import { createTempPgDatabase } from '../helpers/databases.js';
import { startHttpReceiver, startSmtpReceiver, type HttpReceiver, type SmtpReceiver } from '../helpers/receivers.js';
import { collectPageErrors, launchChromium, loginThroughUi } from '../ui/login.js';

const repoRoot = path.resolve(import.meta.dirname, '../..');
const artifacts = path.join(repoRoot, 'test-artifacts');
const UI_PASSWORD = 'channels ui password';
const DEVICE = 'local-channels';
const SECRET = 'hmac-secret-never-shown-4711';
const URL_TOKEN = 'querytoken0815';

describe.each(['pglite', 'postgres'] as const)('local UI notification channels (%s)', (kind) => {
  let tmp = '';
  let agent: Agent | null = null;
  let dropDb: (() => Promise<void>) | null = null;
  let receiver: HttpReceiver;
  let smtp: SmtpReceiver;
  let browser: Browser;
  let page: Page;
  const pageErrors: string[] = [];
  let dataDir = '';

  async function call(method: 'GET' | 'POST', p: string, body?: unknown): Promise<{ status: number; text: string }> {
    const res = await fetch(`${agent?.url}${p}`, {
      method,
      headers: { ...authHeader(dataDir), ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      body: body !== undefined ? JSON.stringify(body) : undefined,
    });
    return { status: res.status, text: await res.text() };
  }

  beforeAll(async () => {
    fs.mkdirSync(artifacts, { recursive: true });
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), `rbackup2-local-channels-${kind}-`));
    dataDir = path.join(tmp, 'data');
    receiver = await startHttpReceiver();
    smtp = await startSmtpReceiver({ user: 'mailer', pass: 'smtp-pass-never-shown' });
    let dbSection = '';
    if (kind === 'postgres') {
      const pgdb = await createTempPgDatabase();
      dropDb = pgdb.drop;
      dbSection = `database:\n  url: "${pgdb.url}"\n`;
    }
    const yaml = `device:\n  id: ${DEVICE}\n  name: Channel laptop\n${dbSection}client:\n  http_bind: "127.0.0.1:0"\n  data_dir: "${dataDir}"\n  log_file: "${path.join(dataDir, 'agent.log')}"\n  shutdown_timeout_seconds: 5\n`;
    const local = parseLocalConfig(yaml, path.join(tmp, 'config.yaml'), {});
    const seed = await openDatabase({ database: local.database, dataDir: local.dataDir });
    try {
      await migrate(seed);
      await upsertDevice(seed, { id: DEVICE, name: 'Channel laptop' });
      await setSetting(seed, { deviceId: null, key: 'ui_password_hash', value: await hashPassword(UI_PASSWORD) });
    } finally {
      await seed.close();
    }
    agent = await startAgent({ local, logger: pino({ level: 'silent' }) });
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1280, height: 900 }, locale: 'en-US' });
    // 409 on PostgreSQL and the 400 of a refused form are answers the page shows on purpose.
    collectPageErrors(page, pageErrors, /status of 409|status of 400/);
    await page.goto(agent.url ?? '');
    await loginThroughUi(page, UI_PASSWORD);
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await agent?.stop('test done');
    await receiver?.close();
    await smtp?.close();
    await dropDb?.();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  }, 60_000);

  it('the channel routes need the login', async () => {
    const res = await fetch(`${agent?.url}/notifications/channels`);
    expect(res.status).toBe(401);
  });

  if (kind === 'postgres') {
    it('every channel route answers 409 naming rbackup2 notify and the dashboard; the page says so', async () => {
      for (const [method, p, body] of [
        ['GET', '/notifications/channels', undefined],
        ['POST', '/notifications/channels', { name: 'x', kind: 'webhook', config: { url: receiver.url } }],
        ['POST', '/notifications/channels/x/test', {}],
        ['POST', '/notifications/channels/x/remove', {}],
      ] as const) {
        const r = await call(method, p, body);
        expect(r.status, `${method} ${p}`).toBe(409);
        expect(JSON.parse(r.text).error.message).toContain(
          'channels are managed with rbackup2 notify or the dashboard in a fleet',
        );
      }
      await page.getByTestId('tab-notifications').click();
      await expect
        .poll(() => page.getByTestId('notif-message').textContent())
        .toContain('channels are managed with rbackup2 notify or the dashboard in a fleet');
      expect(await page.getByTestId('channels').isVisible()).toBe(false);
      await page.screenshot({ path: path.join(artifacts, `notifications-${kind}.png`), fullPage: true });
      expect(pageErrors).toEqual([]);
      expect(receiver.requests).toEqual([]);
    });
    return;
  }

  it('API: add (bad input named), list redacted, send test to a real receiver, a failing test says why, remove', async () => {
    const bad = await call('POST', '/notifications/channels', {
      name: 'bad',
      kind: 'webhook',
      config: { url: 'ftp://x' },
    });
    expect(bad.status).toBe(400);
    expect(JSON.parse(bad.text).error.message).toContain('config.url');
    const badKind = await call('POST', '/notifications/channels', { name: 'bad', kind: 'pager', config: {} });
    expect(badKind.status).toBe(400);
    expect(JSON.parse(badKind.text).error.message).toContain('kind "pager" is not one of webhook');

    const url = `${receiver.url}/hook?token=${URL_TOKEN}`;
    const added = await call('POST', '/notifications/channels', {
      name: 'ops hook',
      kind: 'webhook',
      config: { url, secret: SECRET },
      events: ['run.failed', 'run.recovered'],
    });
    expect(added.status).toBe(201);
    expect(added.text).not.toContain(SECRET);
    expect(added.text).not.toContain(URL_TOKEN);
    const dup = await call('POST', '/notifications/channels', { name: 'ops hook', kind: 'webhook', config: { url } });
    expect(dup.status).toBe(409);

    const list = await call('GET', '/notifications/channels');
    expect(list.status).toBe(200);
    expect(list.text).not.toContain(SECRET);
    expect(list.text).not.toContain(URL_TOKEN);
    const channels = JSON.parse(list.text).channels as { id: number; name: string; config: Record<string, string> }[];
    expect(channels).toHaveLength(1);
    expect(channels[0]).toMatchObject({ name: 'ops hook', kind: 'webhook', events: ['run.failed', 'run.recovered'] });
    expect(channels[0]!.config.secret).toBe('(set)');

    const sent = await call('POST', `/notifications/channels/${encodeURIComponent('ops hook')}/test`, {});
    expect(sent.status).toBe(200);
    const ok = JSON.parse(sent.text) as { ok: boolean; id: string };
    expect(ok.ok).toBe(true);
    const got = receiver.json().filter((b) => b.id === ok.id);
    expect(got).toHaveLength(1);
    expect(got[0]).toMatchObject({ status: 'test', device_id: DEVICE, event: 'run.failed' });
    expect(receiver.requests.at(-1)?.path).toBe(`/hook?token=${URL_TOKEN}`);
    expect(receiver.requests.at(-1)?.headers['x-rbackup2-signature']).toMatch(/^sha256=[0-9a-f]{64}$/);

    receiver.failWith = 500;
    try {
      const failed = await call('POST', `/notifications/channels/${channels[0]!.id}/test`, {});
      expect(failed.status).toBe(200);
      expect(JSON.parse(failed.text)).toEqual({ ok: false, error: expect.stringContaining('HTTP 500') });
      expect(failed.text).not.toContain(URL_TOKEN);
    } finally {
      receiver.failWith = null;
    }

    expect((await call('POST', '/notifications/channels/nope/test', {})).status).toBe(404);
    expect((await call('POST', '/notifications/channels/nope/remove', {})).status).toBe(404);
    expect((await call('POST', `/notifications/channels/${channels[0]!.id}/remove`, {})).status).toBe(200);
    expect(JSON.parse((await call('GET', '/notifications/channels')).text).channels).toEqual([]);
  });

  it('page: add a webhook channel, see it redacted, send a test that arrives, remove it', async () => {
    await page.getByTestId('tab-notifications').click();
    await page.getByTestId('channel-name').fill('family hook');
    await page.getByTestId('channel-url').fill(`${receiver.url}/family?token=${URL_TOKEN}`);
    await page.getByTestId('channel-secret').fill(SECRET);
    await page.getByTestId('channel-add').click();
    const row = page.getByTestId('channel-row').filter({ hasText: 'family hook' });
    await row.waitFor({ state: 'visible', timeout: 15_000 });
    const text = (await page.locator('body').innerText()) ?? '';
    expect(text).toContain('secret: (set)');
    expect(text).not.toContain(SECRET);
    expect(text).not.toContain(URL_TOKEN);

    const before = receiver.requests.length;
    await row.getByTestId('channel-test').click();
    await expect.poll(() => page.getByTestId('notif-message').textContent()).toBe('Test sent through family hook.');
    const arrived = receiver.requests.slice(before);
    expect(arrived).toHaveLength(1);
    expect(arrived[0]?.path).toBe(`/family?token=${URL_TOKEN}`);
    expect(JSON.parse(arrived[0]!.body)).toMatchObject({ status: 'test', device_name: 'Channel laptop' });
    await page.screenshot({ path: path.join(artifacts, `notifications-${kind}.png`), fullPage: true });

    page.once('dialog', (d) => void d.accept());
    await row.getByTestId('channel-remove').click();
    await expect.poll(() => page.getByTestId('channel-row').count()).toBe(0);
    expect(pageErrors).toEqual([]);
  });

  it('page: add an email channel (every kind is offered), a mistyped port is named, the test reaches a real SMTP server', async () => {
    await page.getByTestId('tab-notifications').click();
    const kinds = await page
      .getByTestId('channel-kind')
      .locator('option')
      .evaluateAll((os) => os.map((o) => (o as unknown as { value: string }).value));
    expect(kinds).toEqual(['webhook', 'ntfy', 'email', 'healthchecks']);
    await page.getByTestId('channel-kind').selectOption('email');
    expect(await page.getByTestId('channel-url').isVisible()).toBe(false);
    await page.getByTestId('channel-name').fill('family mail');
    await page.getByTestId('channel-smtp-host').fill('127.0.0.1');
    await page.getByTestId('channel-smtp-port').fill('25x');
    await page.getByTestId('channel-smtp-security').selectOption('plain');
    await page.getByTestId('channel-smtp-user').fill('mailer');
    await page.getByTestId('channel-smtp-password').fill('smtp-pass-never-shown');
    await page.getByTestId('channel-email-from').fill('backup@example.org');
    await page.getByTestId('channel-email-to').fill('anna@example.org, ben@example.org');
    await page.getByTestId('channel-add').click();
    await expect
      .poll(() => page.getByTestId('notif-message').textContent(), { timeout: 15_000 })
      .toContain('config.port');
    expect(await page.getByTestId('channel-row').count()).toBe(0);

    await page.getByTestId('channel-smtp-port').fill(String(smtp.port));
    await page.getByTestId('channel-add').click();
    const row = page.getByTestId('channel-row').filter({ hasText: 'family mail' });
    await row.waitFor({ state: 'visible', timeout: 15_000 });
    const text = (await row.innerText()) ?? '';
    expect(text).toContain('email');
    expect(text).toContain('password: (set)');
    expect(text).not.toContain('smtp-pass-never-shown');

    await row.getByTestId('channel-test').click();
    // the first mail loads nodemailer and talks SMTP: longer than poll's 1 s default on a busy machine
    await expect
      .poll(() => page.getByTestId('notif-message').textContent(), { timeout: 15_000 })
      .toBe('Test sent through family mail.');
    expect(smtp.messages).toHaveLength(1);
    expect(smtp.messages[0]).toMatchObject({
      from: 'backup@example.org',
      to: ['anna@example.org', 'ben@example.org'],
      user: 'mailer',
      subject: 'rbackup2 run.failed: Channel laptop',
    });
    expect(smtp.messages[0]!.raw).toContain('Test notification from rbackup2 for channel family mail');

    page.once('dialog', (d) => void d.accept());
    await row.getByTestId('channel-remove').click();
    await expect.poll(() => page.getByTestId('channel-row').count()).toBe(0);
    expect(pageErrors).toEqual([]);
  });
});
