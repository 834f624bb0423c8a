/**
 * Issue 19 point 5: the fleet dashboard in real Chromium (playwright-core, Debian's chromium) over
 * the real PostgreSQL server with 3 devices: the login form (global ui_password_hash, the local
 * UI's mechanism), every device with platform, last seen, agent and restic version, each job's
 * last status and last success, failing / stale / silent marked, recent failures, repositories,
 * and a live update when a run fails meanwhile (server-sent `changed`, no reload). Channels are
 * managed there (issue 19 point 1): a webhook channel added in the page (an unknown device refused
 * first, as `rbackup2 notify add` refuses it), shown redacted, its "send test" reaching a real HTTP
 * receiver, then removed; state-changing channel requests pass the local UI's CSRF rules.
 * Screenshot: test-artifacts/dashboard-channels.png.
 * The page data itself is also checked on PGlite (same queries on both databases).
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { collectPageErrors, launchChromium } from '../ui/login.js';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashPassword } from '../../src/api/auth/password-hash.js';
import { PageDataSource } from '../../src/dashboard/page-data.js';
import { createDashboardServer, type DashboardServer } from '../../src/dashboard/server.js';
import type { Database } from '../../src/db/database.js';
import { migrate } from '../../src/db/migrate.js';
import { forEachDatabase, openTestDatabase, type TestDatabase } from '../helpers/databases.js';
import { startHttpReceiver, type HttpReceiver } from '../helpers/receivers.js';

const repoRoot = path.resolve(import.meta.dirname, '../..');
const TOKEN = 'dashboard-test-token-0123456789';
const SECRET = 'dashboard-hmac-secret-4711';

async function seed(db: Database): Promise<Record<string, string>> {
  await migrate(db);
  const meta = (v: string) => JSON.stringify({ agent_version: v, restic_version: '0.14.0' });
  await db.query(
    `INSERT INTO devices (id, name, platform, last_seen, metadata) VALUES
       ('dev-1', 'Office PC', 'win32', now() - interval '2 minutes', $1::jsonb),
       ('dev-2', 'Laptop Anna', 'linux', now() - interval '1 hour', $2::jsonb),
       ('dev-3', 'Laptop Ben', 'darwin', now() - interval '5 days', $3::jsonb)`,
    [meta('0.1.0'), meta('0.1.0'), meta('0.0.9')],
  );
  const repo = (
    await db.query<{ id: string }>(
      `INSERT INTO repositories (name, url, password) VALUES ('nas', '/srv/nas', 'pw') RETURNING id`,
    )
  ).rows[0]!.id;
  const jobs: Record<string, string> = {};
  for (const [dev, name] of [
    ['dev-1', 'Documents'],
    ['dev-2', 'Photos'],
    ['dev-3', 'Projects'],
  ] as const) {
    jobs[name] = (
      await db.query<{ id: string }>(
        `INSERT INTO backup_jobs (device_id, name, source_paths, repository_id) VALUES ($1, $2, ARRAY['/x'], $3) RETURNING id`,
        [dev, name, repo],
      )
    ).rows[0]!.id;
    await db.query(
      `INSERT INTO schedules (job_id, schedule_type, cron_expression, timezone, next_run_at) VALUES ($1, 'cron', '0 12 * * *', 'UTC', now() + interval '5 hours')`,
      [jobs[name]],
    );
  }
  const run = (job: string, dev: string, status: string, daysAgo: number, err: string | null = null) =>
    db.query(
      `INSERT INTO runs (job_id, device_id, start_time, end_time, status, error_message) VALUES ($1, $2, now() - make_interval(days => $3), now() - make_interval(days => $3) + interval '1 minute', $4, $5)`,
      [job, dev, daysAgo, status, err],
    );
  await run(jobs.Documents!, 'dev-1', 'success', 0);
  await run(jobs.Photos!, 'dev-2', 'success', 1);
  await run(jobs.Photos!, 'dev-2', 'failed', 0, 'repository is locked by another process');
  await run(jobs.Projects!, 'dev-3', 'success', 6);
  // A second repository with checks (runs.operation 'check', runs.repository_id: migration 008):
  // an older failed one and the latest successful one; its size is what issue 18 records after a
  // prune (repository_state, restic stats --mode raw-data). 'nas' has neither, so its row says "—"
  // (size unknown) and "never".
  const usb = (
    await db.query<{ id: string }>(
      `INSERT INTO repositories (name, url, password) VALUES ('usb disk', '/media/usb', 'pw') RETURNING id`,
    )
  ).rows[0]!.id;
  await db.query(
    `INSERT INTO runs (job_id, device_id, repository_id, operation, start_time, end_time, status, metadata) VALUES
       (NULL, 'dev-1', $1, 'check', now() - interval '3 days', now() - interval '3 days', 'failed', '{}'),
       (NULL, 'dev-1', $1, 'check', now() - interval '3 hours', now() - interval '3 hours', 'success', '{}')`,
    [usb],
  );
  await db.query(
    `INSERT INTO repository_state (restic_id, name, repository_id, size_bytes, snapshot_count, stats_at)
     VALUES ('5f3c0ffee0', 'usb disk', $1, 1610612736, 42, now() - interval '3 hours')`,
    [usb],
  );
  return jobs;
}

describe('fleet dashboard in Chromium [postgres]', () => {
  let t: TestDatabase;
  let server: DashboardServer;
  let browser: Browser;
  let page: Page;
  let url = '';
  let jobs: Record<string, string> = {};
  let receiver: HttpReceiver;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    t = await openTestDatabase('postgres');
    jobs = await seed(t.db);
    await t.db.query(`INSERT INTO settings (device_id, key, value) VALUES (NULL, 'ui_password_hash', $1)`, [
      await hashPassword('fleet-pass'),
    ]);
    server = await createDashboardServer({
      db: t.db,
      bind: '127.0.0.1:0',
      apiToken: TOKEN,
      logger: pino({ level: 'warn' }),
      passwordHash: async () =>
        (
          await t.db.query<{ value: string }>(
            `SELECT value FROM settings WHERE key = 'ui_password_hash' AND device_id IS NULL`,
          )
        ).rows[0]?.value ?? null,
      localZone: 'UTC',
      liveSeconds: 1,
    });
    url = await server.listen();
    receiver = await startHttpReceiver();
    browser = await launchChromium();
    page = await browser.newPage();
    // the refused add (404: no such device) is shown on purpose
    collectPageErrors(page, pageErrors, /status of 404/);
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await receiver?.close();
    await server?.close();
    await t?.cleanup();
  });

  it('asks for the password, then shows every device with its jobs marked', async () => {
    const anon = await fetch(`${url}/api/fleet`);
    expect(anon.status).toBe(401);
    await page.goto(url);
    await page.waitForSelector('#login:not([hidden])');
    await page.fill('#password', 'wrong');
    await page.click('#login button');
    await page.waitForSelector('#login-error:has-text("wrong password")');
    await page.fill('#password', 'fleet-pass');
    await page.click('#login button');
    await page.waitForSelector('#devices tbody tr[data-device="dev-3"]');
    const rows: string[] = await page.evaluate(
      `[...document.querySelectorAll('#devices tbody tr')].map((tr) => tr.innerText.replace(/\\s+/g, ' '))`,
    );
    expect(rows).toHaveLength(3);
    expect(rows[0]).toMatch(
      /Laptop Anna linux 60 min ago 0\.1\.0 0\.14\.0 Photos: failed · last success 24 h ago.* failing/,
    );
    expect(rows[1]).toMatch(
      /Laptop Ben silent darwin 5 days ago 0\.0\.9 0\.14\.0 Projects: success · last success 6 days ago.* stale/,
    );
    expect(rows[2]).toMatch(/Office PC win32 2 min ago 0\.1\.0 0\.14\.0 Documents: success · last success/);
    expect(rows[2]).not.toMatch(/failing|stale|silent/);
    expect(await page.textContent('#failures tbody')).toContain('repository is locked by another process');
    const repos: string[] = await page.evaluate(
      `[...document.querySelectorAll('#repos tbody tr')].map((tr) => tr.innerText.replace(/\\s+/g, ' ').trim())`,
    );
    expect(repos).toEqual(['nas 3 — never', 'usb disk 0 1.5 GiB success · 3 h ago']);
    expect(await page.getAttribute('#repos tbody tr:first-child td:nth-child(3)', 'title')).toBe(
      'size unknown until a check or stats run records it',
    );
    expect(await page.textContent('#summary')).toContain('3 devices');
  });

  it('updates live when a run fails meanwhile', async () => {
    const before = await page.getAttribute('body', 'data-loaded-at');
    await t.db.query(
      `INSERT INTO runs (job_id, device_id, start_time, end_time, status, error_message) VALUES ($1, 'dev-1', now(), now(), 'failed', 'disk full')`,
      [jobs.Documents],
    );
    // a function, not a string: the page's CSP forbids eval (no DOM types in this tsconfig)
    type Doc = {
      body: { dataset: Record<string, string | undefined> };
      querySelector(s: string): { textContent: string | null } | null;
    };
    await page.waitForFunction(
      (b) => {
        const doc = (globalThis as unknown as { document: Doc }).document;
        return (
          doc.body.dataset.loadedAt !== b &&
          Boolean(doc.querySelector('tr[data-device="dev-1"]')?.textContent?.includes('failing'))
        );
      },
      before,
      { timeout: 20_000 },
    );
    expect(await page.textContent('#failures tbody')).toContain('disk full');
  });

  it('channel routes need the login and pass the CSRF rules of the local UI', async () => {
    expect((await fetch(`${url}/notifications/channels`)).status).toBe(401);
    const post = (headers: Record<string, string>) =>
      fetch(`${url}/notifications/channels`, {
        method: 'POST',
        headers: { authorization: `Bearer ${TOKEN}`, ...headers },
        body: JSON.stringify({ name: 'x', kind: 'webhook', config: { url: receiver.url } }),
      });
    expect((await post({ 'content-type': 'text/plain' })).status).toBe(415);
    expect((await post({ 'content-type': 'application/json', origin: 'http://evil.example' })).status).toBe(403);
    const list = await fetch(`${url}/notifications/channels`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(await list.json()).toEqual({ channels: [] });
  });

  it('adds a webhook channel in the page, sends a test a real receiver gets, removes it', async () => {
    await page.getByTestId('channel-form').waitFor({ state: 'visible', timeout: 15_000 });
    const kinds = await page
      .getByTestId('channel-kind')
      .locator('option')
      .evaluateAll((os) => os.map((o) => (o as unknown as { value: string }).value));
    expect(kinds).toEqual(['webhook', 'ntfy', 'email', 'healthchecks']);
    await page.getByTestId('channel-name').fill('ops hook');
    await page.getByTestId('channel-device').fill('dev-9');
    await page.getByTestId('channel-url').fill(`${receiver.url}/hook?token=querytoken`);
    await page.getByTestId('channel-secret').fill(SECRET);
    await page.getByTestId('channel-add').click();
    await page.waitForSelector('[data-testid="notif-message"]:has-text("channel ops hook: no device dev-9")');
    await page.getByTestId('channel-device').fill('dev-2');
    await page.getByTestId('channel-add').click();
    const row = page.getByTestId('channel-row').filter({ hasText: 'ops hook' });
    await row.waitFor({ state: 'visible', timeout: 15_000 });
    const text = await row.innerText();
    expect(text).toContain('dev-2');
    expect(text).toContain('secret: (set)');
    fs.mkdirSync(path.join(repoRoot, 'test-artifacts'), { recursive: true });
    await page.screenshot({ path: path.join(repoRoot, 'test-artifacts', 'dashboard-channels.png'), fullPage: true });
    expect(await page.locator('body').innerText()).not.toMatch(new RegExp(`${SECRET}|querytoken`));
    const stored = await t.db.query<{ device_id: string; events: string[] }>(
      `SELECT device_id, events FROM notification_channels WHERE name = 'ops hook'`,
    );
    expect(stored.rows).toEqual([{ device_id: 'dev-2', events: expect.arrayContaining(['run.failed', 'job.stale']) }]);

    await row.getByTestId('channel-test').click();
    await page.waitForSelector('[data-testid="notif-message"]:has-text("Test sent through ops hook.")');
    expect(receiver.requests).toHaveLength(1);
    expect(receiver.requests[0]!.path).toBe('/hook?token=querytoken');
    expect(receiver.requests[0]!.headers['x-rbackup2-signature']).toMatch(/^sha256=[0-9a-f]{64}$/);
    expect(JSON.parse(receiver.requests[0]!.body)).toMatchObject({ status: 'test', device_name: 'rbackup2 dashboard' });

    page.once('dialog', (d) => void d.accept());
    await row.getByTestId('channel-remove').click();
    await page.waitForSelector('[data-testid="notif-message"]:has-text("Channel ops hook removed.")');
    expect(await page.getByTestId('channel-row').count()).toBe(0);
    expect((await t.db.query('SELECT 1 FROM notification_channels')).rows).toEqual([]);
    expect(pageErrors).toEqual([]);
  });
});

forEachDatabase('dashboard page data', (getDb) => {
  it('marks failing, stale and silent the same on both databases', async () => {
    await seed(getDb());
    const d = await new PageDataSource(getDb(), 'UTC').load(1, 50);
    const by = Object.fromEntries(d.devices.map((x) => [x.id, x]));
    expect(d.totalDevices).toBe(3);
    expect(by['dev-1']!.silent).toBe(false);
    expect(by['dev-3']!.silent).toBe(true);
    expect(by['dev-2']!.jobs[0]).toMatchObject({
      name: 'Photos',
      failing: true,
      stale: false,
      lastRunStatus: 'failed',
    });
    expect(by['dev-3']!.jobs[0]).toMatchObject({
      name: 'Projects',
      failing: false,
      stale: true,
      staleLimitSeconds: 2 * 86_400 + 300,
    });
    expect(by['dev-1']!.jobs[0]).toMatchObject({ failing: false, stale: false });
    // the locked Photos run and the usb disk's failed check (a repository-level run, no job)
    expect(d.failures.map((f) => f.jobName)).toEqual(['Photos', null]);
    expect(d.repositories).toEqual([
      { id: expect.any(String), name: 'nas', jobs: 3, lastCheck: null, sizeBytes: null, sizeAt: null },
      {
        id: expect.any(String),
        name: 'usb disk',
        jobs: 0,
        lastCheck: { startTime: expect.any(String), endTime: expect.any(String), status: 'success' },
        sizeBytes: 1610612736,
        sizeAt: expect.any(String),
      },
    ]);
    expect(Date.now() - Date.parse(d.repositories[1]!.lastCheck!.startTime)).toBeGreaterThan(2.9 * 3600_000);
    const page2 = await new PageDataSource(getDb(), 'UTC').load(2, 2);
    expect(page2.devices.map((x) => x.id)).toEqual(['dev-1']);
  });
});
