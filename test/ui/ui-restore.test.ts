/**
 * Issue 17 "What it must show": the browser test. Real Chromium (playwright-core, Debian's
 * /usr/bin/chromium) against the REAL agent (startAgent) on a temp PostgreSQL database with real
 * restic 0.14: sign in, pick a snapshot, browse two folders down, restore one file to the default
 * target, download another, and compare both with the originals; then the same page at a phone's
 * width (no horizontal scrolling of the page). Screenshots: test-artifacts/ui-restore*.png.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { pino } from 'pino';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAgent, type Agent } from '../../src/app.js';
import { hashPassword } from '../../src/api/auth/password-hash.js';
import { parseLocalConfig } from '../../src/config/local-config.js';
import { addJob, addRepository, migrate, openDatabase, setSetting, upsertDevice } from '../../src/db/index.js';
import { createTempPgDatabase } from '../helpers/databases.js';
import { authHeader } from '../helpers/agent-auth.js';
import { collectPageErrors, launchChromium, loginThroughUi } from './login.js';

const repoRoot = path.resolve(import.meta.dirname, '../..');
const artifacts = path.join(repoRoot, 'test-artifacts');
const UI_PASSWORD = 'obnova souborů 2024';
const PASSWORD = 'ui restore pw';
const DEVICE = 'ui-restore-pc';

let tmp = '';
let src = '';
let dataDir = '';
let agent: Agent;
let dropDb: (() => Promise<void>) | null = null;
let browser: Browser;
let page: Page;
let jobId = '';
const pageErrors: string[] = [];

beforeAll(async () => {
  fs.mkdirSync(artifacts, { recursive: true });
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rb2-ui-restore-'));
  const repoDir = path.join(tmp, 'repo');
  execFileSync('restic', ['init', '--repo', repoDir], {
    env: { ...process.env, RESTIC_PASSWORD: PASSWORD },
    stdio: 'pipe',
  });
  src = path.join(tmp, 'Dokumenty');
  fs.mkdirSync(path.join(src, 'Práce', 'Účty 2024'), { recursive: true });
  fs.writeFileSync(path.join(src, 'Práce', 'Účty 2024', 'faktura leden.pdf'), randomBytes(120_000));
  fs.writeFileSync(path.join(src, 'Práce', 'Účty 2024', 'přehled.xlsx'), randomBytes(80_000));
  fs.writeFileSync(path.join(src, 'readme.txt'), 'top\n');
  const pgdb = await createTempPgDatabase();
  dropDb = pgdb.drop;
  dataDir = path.join(tmp, 'data');
  const yaml = `device:\n  id: ${DEVICE}\n  name: Restore PC\ndatabase:\n  url: "${pgdb.url}"\nclient:\n  http_bind: "127.0.0.1:0"\n  data_dir: "${dataDir}"\n  log_file: "${path.join(dataDir, 'agent.log')}"\n  shutdown_timeout_seconds: 5\n`;
  const local = parseLocalConfig(yaml, path.join(tmp, 'config.yaml'), {});
  const seed = await openDatabase({ database: local.database, dataDir: local.dataDir });
  try {
    await migrate(seed);
    await upsertDevice(seed, { id: DEVICE, name: 'Restore PC' });
    await setSetting(seed, { deviceId: null, key: 'ui_password_hash', value: await hashPassword(UI_PASSWORD) });
    const repo = await addRepository(seed, { name: 'r', url: repoDir, password: PASSWORD });
    jobId = (await addJob(seed, { deviceId: DEVICE, name: 'Dokumenty', sourcePaths: [src], repositoryId: repo.id })).id;
  } finally {
    await seed.close();
  }
  agent = await startAgent({ local, logger: pino({ level: 'warn' }) });
  // one backup through the API, as the schedule would make it
  const headers = { ...authHeader(dataDir), 'content-type': 'application/json' };
  const r = await fetch(`${agent.url}/jobs/${jobId}/run`, { method: 'POST', headers, body: '{}' });
  expect(r.status).toBe(202);
  for (let i = 0; i < 300; i++) {
    const runs = (await (await fetch(`${agent.url}/runs?job_id=${jobId}`, { headers })).json()) as {
      runs: { status: string }[];
    };
    if (runs.runs[0] && runs.runs[0].status !== 'running') break;
    await new Promise((res) => setTimeout(res, 200));
  }
  browser = await launchChromium();
  page = await browser.newPage({ viewport: { width: 1280, height: 1000 }, acceptDownloads: true });
  collectPageErrors(page, pageErrors);
  page.on('dialog', (d) => void d.accept());
  await page.goto(agent.url ?? '');
  await loginThroughUi(page, UI_PASSWORD).catch((e: unknown) => {
    throw new Error(`${String(e)}; page errors: ${pageErrors.join(' | ')}`);
  });
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await agent?.stop('test done');
  await dropDb?.();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true, maxRetries: 5 });
}, 60_000);

describe('restore in the web UI on the real agent (PostgreSQL, restic 0.14, Chromium)', () => {
  it('picks a snapshot, browses two folders down, restores one file to the default target and downloads another', async () => {
    await page.getByTestId('tab-restore').click();
    const browseButton = page.locator('[data-testid^="browse-"]').first();
    await browseButton.waitFor({ timeout: 30_000 });
    expect(await page.getByTestId('snapshots').textContent()).toContain(os.hostname());
    await browseButton.click();
    await page.getByTestId('open-Práce').click();
    await page.getByTestId('open-Účty 2024').click({ timeout: 30_000 });
    // each folder is one `restic ls` (about a second on a loaded machine): wait for the answer, not a time
    await expect
      .poll(() => page.getByTestId('restore-where').textContent(), { timeout: 30_000, interval: 100 })
      .toBe(path.join(src, 'Práce', 'Účty 2024'));
    expect(await page.getByTestId('crumbs').textContent()).toContain('Účty 2024');

    await page.getByTestId('select-faktura leden.pdf').check();
    await page.getByTestId('restore-open').click();
    const defaultTarget = (await page.getByTestId('restore-default').textContent()) ?? '';
    expect(defaultTarget.startsWith(path.join(dataDir, 'restores', 'Dokumenty-'))).toBe(true);
    await page.screenshot({ path: path.join(artifacts, 'ui-restore-dialog.png'), fullPage: true });
    await page.getByTestId('restore-confirm').click();
    await expect
      .poll(() => page.getByTestId('restore-progress').getAttribute('data-state'), { timeout: 60_000, interval: 200 })
      .toBe('success');
    expect(await page.getByTestId('restore-target').textContent()).toBe(defaultTarget);
    const original = path.join(src, 'Práce', 'Účty 2024', 'faktura leden.pdf');
    expect(fs.readFileSync(path.join(defaultTarget, original))).toEqual(fs.readFileSync(original));

    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByTestId('download-přehled.xlsx').click(),
    ]);
    expect(download.suggestedFilename()).toBe('přehled.xlsx');
    const saved = path.join(tmp, 'downloaded.xlsx');
    await download.saveAs(saved);
    expect(fs.readFileSync(saved)).toEqual(fs.readFileSync(path.join(src, 'Práce', 'Účty 2024', 'přehled.xlsx')));
    await page.screenshot({ path: path.join(artifacts, 'ui-restore.png'), fullPage: true });
    expect(pageErrors).toEqual([]);
  }, 120_000);

  it('works at a phone width: the page does not scroll sideways', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await page.getByTestId('crumb-0').click();
    await page.getByTestId('crumbs').waitFor();
    const overflow = Number(await page.evaluate('document.documentElement.scrollWidth - window.innerWidth'));
    expect(overflow).toBeLessThanOrEqual(0);
    expect(await page.getByTestId('restore-open').isVisible()).toBe(true);
    await page.screenshot({ path: path.join(artifacts, 'ui-restore-mobile.png'), fullPage: true });
  }, 60_000);
});
