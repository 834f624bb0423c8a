/**
 * Issue 16, keyboard and labels, in Debian's Chromium against the REAL agent (src/app.ts
 * startAgent) with real restic, on both databases (a temp PostgreSQL database and PGlite):
 * - every form control of every page (overview, history, restore, retention, settings,
 *   notifications), of the job editor (with a schedule row) and of the run dialog has an
 *   accessible name: a label with text, aria-label, aria-labelledby or title (a button: its text),
 *   hidden ones included; and Chromium's accessibility tree has no unnamed control or tab;
 * - with the keyboard alone (Tab, Enter, Space, typing): sign in, back up a job, open its editor,
 *   change the description, save (stored in the database, focus back on Edit), and open a run's
 *   details from the history. The job cards are re-rendered on every refresh: the focus must stay
 *   on the job's buttons, not fall back to the page (src/ui/static/page-overview.js keepFocus).
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAgent, type Agent } from '../../src/app.js';
import { parseLocalConfig } from '../../src/config/local-config.js';
import { addJob, addRepository, migrate, openDatabase, setSetting, upsertDevice } from '../../src/db/index.js';
import { hashPassword } from '../../src/api/auth/password-hash.js';
import { collectPageErrors, launchChromium, loginThroughUi } from './login.js';
import { createTempPgDatabase } from '../helpers/databases.js';

const UI_PASSWORD = 'keyboard ui password';
const PASSWORD = 'keyboard repo pw';
const DEVICE = 'ui-keyboard';

/**
 * Browser-side (a string: the test's tsconfig has no DOM types): the form controls below the
 * element `#id` that have no accessible name, hidden ones included, as "TAG#id[testid]".
 */
const UNNAMED = `(rootId) => {
  const text = (s) => (s ?? '').replace(/\\s+/g, ' ').trim();
  // A label's own words: a control wrapped in it (a select's options) does not name the control.
  const labelText = (l) => {
    const c = l.cloneNode(true);
    for (const x of c.querySelectorAll('input, select, textarea')) x.remove();
    return text(c.textContent);
  };
  const named = (c) =>
    text(c.getAttribute('aria-label')) ||
    (c.getAttribute('aria-labelledby') ?? '').split(/\\s+/).some((id) => text(document.getElementById(id)?.textContent)) ||
    [...(c.labels ?? [])].some((l) => labelText(l)) ||
    text(c.getAttribute('title')) ||
    (c.tagName === 'BUTTON' && text(c.textContent));
  return [...document.getElementById(rootId).querySelectorAll('input, select, textarea, button')]
    .filter((c) => c.type !== 'hidden' && !named(c))
    .map((c) => c.tagName + '#' + c.id + '[' + (c.dataset.testid ?? '') + ']');
}`;

const CONTROL_ROLES = new Set([
  'button',
  'checkbox',
  'combobox',
  'listbox',
  'radio',
  'searchbox',
  'slider',
  'spinbutton',
  'switch',
  'tab',
  'textbox',
]);

/** Controls Chromium itself exposes without a name (its accessibility tree, what a screen reader gets). */
async function unnamedInAxTree(page: Page): Promise<string[]> {
  const cdp = await page.context().newCDPSession(page);
  try {
    const { nodes } = await cdp.send('Accessibility.getFullAXTree');
    return nodes
      .filter((n) => !n.ignored && CONTROL_ROLES.has(String(n.role?.value)) && !String(n.name?.value ?? '').trim())
      .map((n) => `${String(n.role?.value)} (backend node ${String(n.backendDOMNodeId)})`);
  } finally {
    await cdp.detach();
  }
}

/** The focused element's data-testid, else its id, else its tag. */
function focused(page: Page): Promise<string> {
  return page.evaluate(
    `(() => { const a = document.activeElement; return a?.dataset?.testid || a?.id || a?.tagName || ''; })()`,
  ) as Promise<string>;
}

/** Presses `key` (Tab or Shift+Tab) until the focused element is `target`; fails after `max` presses. */
async function tabTo(page: Page, target: string, max: number, key = 'Tab', within?: string): Promise<number> {
  for (let i = 1; i <= max; i++) {
    await page.keyboard.press(key);
    if (within)
      expect(
        await page.evaluate(`!!document.activeElement?.closest('#${within}')`),
        `focus left #${within}: ${await focused(page)}`,
      ).toBe(true);
    if ((await focused(page)) === target) return i;
  }
  throw new Error(`${target} not reached with ${max} × ${key}; focus is on ${await focused(page)}`);
}

describe.each(['postgres', 'pglite'] as const)('issue 16 keyboard and labels on the real agent (%s)', (kind) => {
  let tmp = '';
  let agent: Agent | null = null;
  let dropDb: (() => Promise<void>) | null = null;
  let browser: Browser;
  let page: Page;
  let jobId = '';
  const pageErrors: string[] = [];

  async function sql(text: string, params: unknown[] = []): Promise<Record<string, unknown>[]> {
    return (await (agent as Agent).db.query(text, params)).rows as Record<string, unknown>[];
  }

  beforeAll(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), `rbackup2-ui-keyboard-${kind}-`));
    const repoDir = path.join(tmp, 'repo');
    execFileSync('restic', ['init', '--repo', repoDir], {
      env: { ...process.env, RESTIC_PASSWORD: PASSWORD },
      stdio: 'pipe',
    });
    const docs = path.join(tmp, 'Documents');
    fs.mkdirSync(docs);
    fs.writeFileSync(path.join(docs, 'recipe.txt'), 'Grandma’s apple pie\n');
    let dbSection = '';
    if (kind === 'postgres') {
      const pgdb = await createTempPgDatabase();
      dropDb = pgdb.drop;
      dbSection = `database:\n  url: "${pgdb.url}"\n`;
    }
    const yaml = `device:\n  id: ${DEVICE}\n  name: Family PC\n${dbSection}client:\n  http_bind: "127.0.0.1:0"\n  data_dir: "${path.join(tmp, 'data')}"\n  log_file: "${path.join(tmp, 'data', 'agent.log')}"\n  shutdown_timeout_seconds: 5\n`;
    const local = parseLocalConfig(yaml, path.join(tmp, 'config.yaml'), {});
    const seed = await openDatabase({ database: local.database, dataDir: local.dataDir });
    try {
      await migrate(seed);
      await upsertDevice(seed, { id: DEVICE, name: 'Family PC' });
      await setSetting(seed, { deviceId: null, key: 'ui_password_hash', value: await hashPassword(UI_PASSWORD) });
      const repo = await addRepository(seed, { name: 'usb disk', url: repoDir, password: PASSWORD });
      jobId = (
        await addJob(seed, {
          deviceId: DEVICE,
          name: 'Documents',
          description: 'Letters',
          sourcePaths: [docs],
          repositoryId: repo.id,
        })
      ).id;
    } finally {
      await seed.close();
    }
    agent = await startAgent({ local, logger: pino({ level: 'silent' }) });
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1280, height: 1000 }, locale: 'en-US' });
    collectPageErrors(page, pageErrors);
    await page.goto(agent.url ?? '');
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await agent?.stop('test done');
    await dropDb?.();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  }, 60_000);

  it('with the keyboard alone: sign in, back up, edit the description and save, open a run from the history', async () => {
    // The sign-in dialog puts the focus in its password field; Enter sends it.
    await page.getByTestId('login-dialog').waitFor({ state: 'visible', timeout: 15_000 });
    expect(await focused(page)).toBe('login-password');
    await page.keyboard.type(UI_PASSWORD);
    await page.keyboard.press('Enter');
    await page.getByTestId('login-dialog').waitFor({ state: 'hidden', timeout: 15_000 });
    await page.getByTestId(`edit-${jobId}`).waitFor();

    // Back up now: reached with Tab, pressed with Space.
    await tabTo(page, `run-${jobId}`, 30);
    await page.keyboard.press('Space');
    await expect
      .poll(() => page.getByTestId(`job-${jobId}`).getAttribute('data-status'), { timeout: 60_000, interval: 250 })
      .toBe('success');

    // The cards were re-rendered meanwhile; the focus stayed on the job: on "Back up now", or on
    // Edit if it was moved there while "Back up now" was disabled during the run.
    const at = await focused(page);
    expect([`run-${jobId}`, `edit-${jobId}`]).toContain(at);
    if (at === `run-${jobId}`) await tabTo(page, `edit-${jobId}`, 1);
    await page.keyboard.press('Enter');
    await page.getByTestId('editor').waitFor();
    expect(await focused(page)).toBe('editor-name');
    await page.keyboard.press('Tab');
    expect(await focused(page)).toBe('editor-description');
    await page.keyboard.press('ControlOrMeta+A');
    await page.keyboard.type('Letters and recipes');
    // Through every field of the editor to Save, never leaving the modal; Space presses it.
    await tabTo(page, 'editor-save', 60, 'Tab', 'editor');
    await page.keyboard.press('Space');
    await page.getByTestId('editor').waitFor({ state: 'hidden', timeout: 15_000 });
    expect(await focused(page)).toBe(`edit-${jobId}`);
    expect(await sql('SELECT description FROM backup_jobs WHERE id = $1', [jobId])).toEqual([
      { description: 'Letters and recipes' },
    ]);
    await expect.poll(() => page.getByTestId(`job-${jobId}`).textContent()).toContain('Letters and recipes');

    // History: Enter on the card's History button, Tab to the run's Details, Enter opens it, Escape closes.
    await tabTo(page, `history-${jobId}`, 2);
    await page.keyboard.press('Enter');
    const [run] = await sql("SELECT id FROM runs WHERE job_id = $1 AND status = 'success'", [jobId]);
    const details = `run-details-${String(run?.id)}`;
    await page.getByTestId(details).waitFor();
    await page.getByTestId('tab-history').focus();
    await tabTo(page, details, 10);
    await page.keyboard.press('Enter');
    await page.getByTestId('run-dialog').waitFor();
    await page.keyboard.press('Escape');
    await page.getByTestId('run-dialog').waitFor({ state: 'hidden' });
    expect(await focused(page)).toBe(details);
    expect(pageErrors).toEqual([]);
  }, 120_000);

  it('every form control of every page, the editor and the run dialog has an accessible name', async () => {
    // Also when run alone (-t): signed in, and one backup for the history and restore pages.
    if (await page.getByTestId('login-dialog').isVisible()) await loginThroughUi(page, UI_PASSWORD);
    if ((await sql("SELECT id FROM runs WHERE job_id = $1 AND status = 'success'", [jobId])).length === 0) {
      await page.getByTestId(`run-${jobId}`).click();
      await expect
        .poll(() => page.getByTestId(`job-${jobId}`).getAttribute('data-status'), { timeout: 60_000, interval: 250 })
        .toBe('success');
    }
    const problems: Record<string, string[]> = {};
    for (const tab of ['overview', 'history', 'restore', 'retention', 'settings', 'notifications']) {
      await page.getByTestId(`tab-${tab}`).click();
      await expect.poll(() => page.locator(`#page-${tab}`).isVisible()).toBe(true);
      // Pages fill themselves from the agent: wait for what each one loads.
      if (tab === 'history') await page.locator('[data-testid^="run-row-"]').first().waitFor();
      if (tab === 'restore') await page.locator('[data-testid^="browse-"]').first().waitFor({ timeout: 30_000 });
      if (tab === 'retention') await page.getByTestId('repo-usb disk').waitFor({ timeout: 30_000 });
      if (tab === 'settings') await page.locator('#settings-rows tr').first().waitFor();
      problems[tab] = (await page.evaluate(`(${UNNAMED})('page-${tab}')`)) as string[];
      problems[`${tab} (accessibility tree)`] = await unnamedInAxTree(page);
    }
    // The restore page's folder browser and its dialog.
    await page.getByTestId('tab-restore').click();
    await page.locator('[data-testid^="browse-"]').first().click();
    await page.getByTestId('crumbs').waitFor();
    await page.locator('[data-testid^="select-"]').first().waitFor({ timeout: 30_000 });
    problems['restore browser'] = (await page.evaluate(`(${UNNAMED})('page-restore')`)) as string[];
    problems['restore browser (accessibility tree)'] = await unnamedInAxTree(page);

    await page.getByTestId('tab-overview').click();
    await page.getByTestId(`edit-${jobId}`).click();
    await page.getByTestId('editor').waitFor();
    await page.getByTestId('add-schedule').click();
    await page.getByTestId('editor-repo').selectOption('__new__');
    problems.editor = (await page.evaluate(`(${UNNAMED})('editor')`)) as string[];
    problems['editor (accessibility tree)'] = await unnamedInAxTree(page);
    await page.keyboard.press('Escape');
    await page.getByTestId('editor').waitFor({ state: 'hidden' });

    await page.getByTestId('tab-history').click();
    await page.locator('[data-testid^="run-details-"]').first().click();
    await page.getByTestId('run-dialog').waitFor();
    problems['run dialog'] = (await page.evaluate(`(${UNNAMED})('run-dialog')`)) as string[];
    await page.keyboard.press('Escape');

    const found = Object.entries(problems).filter(([, list]) => list.length > 0);
    expect(Object.fromEntries(found)).toEqual({});
    expect(pageErrors).toEqual([]);
  }, 120_000);
});
