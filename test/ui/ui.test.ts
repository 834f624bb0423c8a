import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { pino } from 'pino';
import { createApiServer, type ApiServer } from '../../src/api/server.js';
import { startTestAgent, type TestAgent } from '../helpers/fake-agent.js';
import { hashPassword } from '../../src/api/auth/password-hash.js';
import { expectedConsoleError, launchChromium, loginThroughUi } from './login.js';

const repoRoot = path.resolve(import.meta.dirname, '../..');
const artifacts = path.join(repoRoot, 'test-artifacts');
let agent: TestAgent;
let server: ApiServer;
let url: string;
let browser: Browser;
const pageErrors: string[] = [];
const UI_PASSWORD = 'correct horse battery staple';

async function newPage(width: number, height: number): Promise<Page> {
  const page = await browser.newPage({ viewport: { width, height } });
  page.on('pageerror', (e) => pageErrors.push(String(e)));
  // 400s are expected (the editor test sends a bad cron on purpose); anything else is a bug.
  page.on('console', (m) => {
    if (m.type() === 'error' && !m.text().includes('status of 400') && !expectedConsoleError(m.text()))
      pageErrors.push(m.text());
  });
  await page.goto(url);
  await loginThroughUi(page, UI_PASSWORD);
  return page;
}

beforeAll(async () => {
  mkdirSync(artifacts, { recursive: true });
  agent = await startTestAgent({ runMs: 3000 });
  const hash = await hashPassword(UI_PASSWORD);
  server = await createApiServer({
    port: agent.port,
    bind: '127.0.0.1:0',
    logger: pino({ level: 'silent' }),
    apiToken: 'ui-test-token-0123456789abcdef',
    passwordHash: async () => hash,
  });
  url = await server.listen();
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
  await agent?.close();
});

describe('web UI', () => {
  it('asks for the password first, refuses a wrong one, signs in and out through the UI', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.on('pageerror', (e) => pageErrors.push(String(e)));
    await page.goto(url);
    await expect.poll(() => page.getByTestId('login-dialog').isVisible(), { timeout: 10_000 }).toBe(true);
    expect(await page.getByTestId(`job-${agent.jobs[0]!.id}`).count()).toBe(0);
    await page.getByTestId('login-password').fill('wrong password');
    await page.getByTestId('login-submit').click();
    await expect.poll(() => page.getByTestId('login-error').textContent(), { timeout: 10_000 }).toBe('Sign-in failed.');
    await page.screenshot({ path: path.join(artifacts, 'ui-login.png') });
    await page.getByTestId('login-password').fill(UI_PASSWORD);
    await page.getByTestId('login-submit').click();
    await page.getByTestId(`job-${agent.jobs[0]!.id}`).waitFor();
    // The session is an HttpOnly, SameSite=Strict cookie that page scripts cannot read.
    const cookies = await page.context().cookies();
    expect(cookies.map((c) => [c.name, c.httpOnly, c.sameSite])).toEqual([['rbackup2_session', true, 'Strict']]);
    expect(await page.evaluate('document.cookie')).toBe('');
    await page.getByTestId('logout').click();
    await expect.poll(() => page.getByTestId('login-dialog').isVisible()).toBe(true);
    const after = await page.evaluate(`fetch('/status').then((r) => r.status)`);
    expect(after).toBe(401);
    await page.close();
  });

  it('shows jobs, backs up with a live progress bar, then a success row in the history', async () => {
    const page = await newPage(1280, 900);
    const job = agent.jobs[0]!;
    await expect.poll(() => page.getByTestId('device-name').textContent()).toBe('Test workstation');
    await page.getByTestId(`job-${agent.jobs[1]!.id}`).waitFor();
    expect(await page.getByTestId(`job-${agent.jobs[1]!.id}`).getAttribute('data-status')).toBe('partial');
    expect(await page.getByTestId(`job-${job.id}`).getAttribute('data-status')).toBe('never');
    await expect.poll(() => page.getByTestId('live').textContent()).toBe('live');

    await page.getByTestId(`run-${job.id}`).click();
    await page.getByTestId(`progress-${job.id}`).waitFor();
    expect(await page.getByTestId(`run-${job.id}`).isDisabled()).toBe(true);
    await expect
      .poll(
        async () =>
          Number(
            await page.locator(`[data-testid="progress-${job.id}"] [role=progressbar]`).getAttribute('aria-valuenow'),
          ),
        { timeout: 5000 },
      )
      .toBeGreaterThan(0);
    const text = await page.getByTestId(`progress-text-${job.id}`).textContent();
    expect(text).toMatch(/%/);
    expect(text).toMatch(/files/);
    expect(text).toMatch(/left/);
    await page.screenshot({ path: path.join(artifacts, 'ui-running.png'), fullPage: true });

    await expect
      .poll(() => page.getByTestId(`job-${job.id}`).getAttribute('data-status'), { timeout: 10_000 })
      .toBe('success');
    expect(await page.getByTestId(`run-${job.id}`).isDisabled()).toBe(false);
    await page.getByTestId('tab-history').click();
    const row = page.locator('[data-testid^="run-row-"][data-status="success"]');
    await row.first().waitFor();
    expect(await row.first().textContent()).toContain('Documents');

    // Detail view of the partial run lists the unreadable file.
    await page.locator('[data-testid^="run-row-"][data-status="partial"] button').click();
    await page.getByTestId('run-unreadable').waitFor();
    expect(await page.getByTestId('run-unreadable').textContent()).toContain('/srv/Fotomateriály/secret.jpg');
    await page.keyboard.press('Escape');
    expect(await page.getByTestId('run-dialog').isVisible()).toBe(false);

    await page.getByTestId('tab-overview').click();
    await page.getByTestId(`history-${job.id}`).click();
    await expect.poll(() => page.getByTestId('chart').getAttribute('data-points'), { timeout: 10_000 }).toBe('1');
    await page.screenshot({ path: path.join(artifacts, 'ui.png'), fullPage: true });
    await page.close();
  });

  it('Cancel on a running backup asks first: "Keep backing up" lets it finish, "Stop backup" cancels it', async () => {
    const page = await newPage(1280, 900);
    const job = agent.jobs[1]!;
    const card = page.getByTestId(`job-${job.id}`);
    await page.getByTestId(`run-${job.id}`).click();
    await page.getByTestId(`cancel-${job.id}`).click();
    await page.getByTestId('confirm-dialog').waitFor();
    expect(await page.locator('#confirm-h').textContent()).toBe(`Stop the backup of ${job.name}?`);
    await page.getByTestId('confirm-cancel').click();
    await expect.poll(() => card.getAttribute('data-status'), { timeout: 10_000 }).toBe('success');

    await page.getByTestId(`run-${job.id}`).click();
    await page.getByTestId(`cancel-${job.id}`).click();
    expect(await page.getByTestId('confirm-cancel').textContent()).toBe('Keep backing up');
    await page.getByTestId('confirm-ok').click();
    await expect.poll(() => card.getAttribute('data-status'), { timeout: 10_000 }).toBe('cancelled');
    await page.close();
  });

  it('edits a schedule with a live cron preview and field errors; the change is stored', async () => {
    const page = await newPage(1280, 900);
    const job = agent.jobs[0]!;
    // Keyboard: Enter opens the modal with focus inside, Escape closes it and focus returns.
    await page.getByTestId(`edit-${job.id}`).focus();
    await page.keyboard.press('Enter');
    await expect.poll(() => page.getByTestId('editor').isVisible()).toBe(true);
    expect(await page.evaluate('document.activeElement.id')).toBe('ed-name');
    await page.keyboard.press('Escape');
    await expect.poll(() => page.getByTestId('editor').isVisible()).toBe(false);
    expect(await page.evaluate('document.activeElement.dataset.testid')).toBe(`edit-${job.id}`);
    await page.getByTestId(`edit-${job.id}`).click();
    // The stored '0 3 * * *' opens as "Daily at 03:00"; a custom expression is one choice away.
    const kind = page.getByTestId('schedule-kind').first();
    expect(await kind.inputValue()).toBe('daily');
    expect(await page.getByTestId('schedule-time').first().inputValue()).toBe('03:00');
    await kind.selectOption('cron');
    const cron = page.getByTestId('cron-input').first();
    await cron.waitFor();
    await cron.fill('0 4 1 * 1');
    await expect.poll(() => page.getByTestId('cron-preview').first().locator('li:not(.sr-only)').count()).toBe(5);
    await cron.fill('61 * * * *');
    await expect
      .poll(() => page.locator('#editor [data-error-for="cron_expression"]').first().textContent())
      .toMatch(/invalid cron/);
    await page.getByTestId('editor-save').click();
    await expect
      .poll(() => page.locator('#editor [data-error-for="cron_expression"]').first().textContent())
      .toMatch(/61|invalid/);
    expect(await page.getByTestId('editor').isVisible()).toBe(true);
    await page.screenshot({ path: path.join(artifacts, 'ui-editor.png') });

    await cron.fill('15 22 * * 1-5');
    await page.getByTestId('editor-save').click();
    await expect.poll(() => page.getByTestId('editor').isVisible()).toBe(false);
    const cfg = await agent.port.getConfig();
    const stored = cfg.jobs.find((j) => j.id === job.id) as { schedules: { cron_expression: string }[] };
    expect(stored.schedules[0]!.cron_expression).toBe('15 22 * * 1-5');
    await page.close();
  });

  it('fits a 390 px wide phone screen', async () => {
    const page = await newPage(390, 844);
    await page.getByTestId(`job-${agent.jobs[0]!.id}`).waitFor();
    await page.screenshot({ path: path.join(artifacts, 'ui-phone.png'), fullPage: true });
    // Browser-side expressions as strings: the test's tsconfig has no DOM types.
    const wide = await page.evaluate(`[...document.querySelectorAll('body *')]
      .filter((e) => e.getBoundingClientRect().right > document.documentElement.clientWidth + 1)
      .map((e) => e.tagName + '.' + e.className + '#' + e.id).slice(0, 5)`);
    expect(wide).toEqual([]);
    expect(
      await page.evaluate('document.documentElement.scrollWidth - document.documentElement.clientWidth'),
    ).toBeLessThanOrEqual(0);
    await page.close();
    expect(pageErrors).toEqual([]);
  });
});
