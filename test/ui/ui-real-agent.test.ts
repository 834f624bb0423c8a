/**
 * The web UI in Debian's Chromium (playwright-core) against the REAL agent (src/app.ts startAgent)
 * on a temp PostgreSQL database with real restic 0.14 on a temp repository: job list, 'Back up now',
 * the live progress bar fed by restic's status lines, the success row in the history, and a cron
 * expression edited in the editor and read back from the database. Screenshots go to
 * test-artifacts/ui-real-running.png and test-artifacts/ui-real.png.
 *
 * restic prints a status line every 2 s (RESTIC_PROGRESS_FPS 0.5, src/restic/environment.ts); a
 * local repository takes 160 MB in ~1.5 s, too fast for a status line with progress. The job's
 * restic_args `--limit-upload 16384` (KiB/s, applies to local repositories too in 0.14) stretches
 * the 160 MB of random data to ~10 s, so several status lines arrive.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { pino } from 'pino';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAgent, type Agent } from '../../src/app.js';
import { parseLocalConfig } from '../../src/config/local-config.js';
import {
  addJob,
  addRepository,
  addSchedule,
  migrate,
  openDatabase,
  setSetting,
  upsertDevice,
} from '../../src/db/index.js';
import { hashPassword } from '../../src/api/auth/password-hash.js';
import { collectPageErrors, launchChromium, loginThroughUi } from './login.js';
import { createTempPgDatabase } from '../helpers/databases.js';

const repoRoot = path.resolve(import.meta.dirname, '../..');
const UI_PASSWORD = 'heslo k UI 2024';
const artifacts = path.join(repoRoot, 'test-artifacts');
const PASSWORD = 'ui real agent pw';
const DEVICE = 'ui-real-agent';
const SOURCE_MB = 160;

let tmp = '';
let agent: Agent;
let dbUrl = '';
let dropDb: (() => Promise<void>) | null = null;
let browser: Browser;
let page: Page;
let photosJob = '';
let docsJob = '';
let photosSchedule = 0;
const pageErrors: string[] = [];

/** Query the test database on a connection of its own (not the agent's). */
async function sql(text: string, params: unknown[]): Promise<Record<string, unknown>[]> {
  const c = new pg.Client({ connectionString: dbUrl });
  await c.connect();
  try {
    return (await c.query(text, params)).rows as Record<string, unknown>[];
  } finally {
    await c.end();
  }
}

beforeAll(async () => {
  fs.mkdirSync(artifacts, { recursive: true });
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rbackup2-ui-real-'));
  const repoDir = path.join(tmp, 'repo');
  execFileSync('restic', ['init', '--repo', repoDir], {
    env: { ...process.env, RESTIC_PASSWORD: PASSWORD },
    stdio: 'pipe',
  });
  const photos = path.join(tmp, 'Fotky 2024');
  fs.mkdirSync(photos);
  for (let f = 0; f < 4; f++) {
    const fd = fs.openSync(path.join(photos, `snímek ${f}.raw`), 'w');
    for (let i = 0; i < SOURCE_MB / 4 / 4; i++) fs.writeSync(fd, randomBytes(4 * 1024 * 1024));
    fs.closeSync(fd);
  }
  const docs = path.join(tmp, 'Documents');
  fs.mkdirSync(docs);
  fs.writeFileSync(path.join(docs, 'notes.txt'), 'hello\n');

  const pgdb = await createTempPgDatabase();
  dbUrl = pgdb.url;
  dropDb = pgdb.drop;
  const yaml = `device:\n  id: ${DEVICE}\n  name: UI workstation\ndatabase:\n  url: "${pgdb.url}"\nclient:\n  http_bind: "127.0.0.1:0"\n  data_dir: "${path.join(tmp, 'data')}"\n  log_file: "${path.join(tmp, 'data', 'agent.log')}"\n  shutdown_timeout_seconds: 5\n`;
  const local = parseLocalConfig(yaml, path.join(tmp, 'config.yaml'), {});
  const seed = await openDatabase({ database: local.database, dataDir: local.dataDir });
  try {
    await migrate(seed);
    await upsertDevice(seed, { id: DEVICE, name: 'UI workstation' });
    // The admin sets the fleet's UI password (rbackup2 ui-password stores the same scrypt hash).
    await setSetting(seed, { deviceId: null, key: 'ui_password_hash', value: await hashPassword(UI_PASSWORD) });
    const repo = await addRepository(seed, { name: 'temp repo', url: repoDir, password: PASSWORD });
    photosJob = (
      await addJob(seed, {
        deviceId: DEVICE,
        name: 'Photos',
        sourcePaths: [photos],
        repositoryId: repo.id,
        resticArgs: ['--limit-upload', '16384'],
      })
    ).id;
    photosSchedule = (
      await addSchedule(seed, {
        jobId: photosJob,
        type: 'cron',
        cronExpression: '0 3 * * *',
        timezone: 'Europe/Prague',
        catchUp: false,
      })
    ).id;
    docsJob = (await addJob(seed, { deviceId: DEVICE, name: 'Documents', sourcePaths: [docs], repositoryId: repo.id }))
      .id;
  } finally {
    await seed.close();
  }
  agent = await startAgent({ local, logger: pino({ level: 'warn' }) });

  browser = await launchChromium();
  page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
  collectPageErrors(page, pageErrors);
  await page.goto(agent.url ?? '');
  await loginThroughUi(page, UI_PASSWORD);
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await agent?.stop('test done');
  await dropDb?.();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
}, 60_000);

describe('web UI on the real agent (PostgreSQL, restic 0.14)', () => {
  it('lists the jobs, backs up with a live progress bar from restic, then shows a success row', async () => {
    await expect.poll(() => page.getByTestId('device-name').textContent()).toBe('UI workstation');
    await page.getByTestId(`job-${photosJob}`).waitFor();
    await page.getByTestId(`job-${docsJob}`).waitFor();
    expect(await page.getByTestId(`job-${photosJob}`).getAttribute('data-status')).toBe('never');
    expect(await page.getByTestId(`job-${photosJob}`).textContent()).toContain('Fotky 2024');
    expect(await page.getByTestId('status-db').textContent()).toBe('Connected (PostgreSQL)');
    expect(await page.getByTestId('status-restic').textContent()).toMatch(/^0\.14/);
    await expect.poll(() => page.getByTestId('live').textContent()).toBe('live');

    await page.getByTestId(`run-${photosJob}`).click();
    await page.getByTestId(`progress-${photosJob}`).waitFor({ timeout: 15_000 });
    expect(await page.getByTestId(`run-${photosJob}`).isDisabled()).toBe(true);
    // A restic status line with progress reaches the bar (SSE run.progress) while the run goes on.
    const bar = page.locator(`[data-testid="progress-${photosJob}"] [role=progressbar]`);
    await expect
      .poll(async () => Number(await bar.getAttribute('aria-valuenow')), { timeout: 30_000, interval: 100 })
      .toBeGreaterThan(0);
    expect(Number(await bar.getAttribute('aria-valuenow'))).toBeLessThanOrEqual(100);
    // Bar and text can be one progress event apart: the text is checked for its own percent.
    const text = await page.getByTestId(`progress-text-${photosJob}`).textContent();
    expect(text).toMatch(/^\d{1,3}(\.\d)?%/);
    expect(text).not.toMatch(/^0%/);
    // restic's scanner has counted the whole source by the time files are being read.
    await expect
      .poll(() => page.getByTestId(`progress-text-${photosJob}`).textContent(), { timeout: 15_000, interval: 100 })
      .toMatch(/\/ 4 files.*\/ 160 MiB/);
    // The file restic is reading now (current_files of its status line) is shown (issue 16).
    await expect
      .poll(() => page.getByTestId(`progress-file-${photosJob}`).textContent(), { timeout: 15_000, interval: 100 })
      .toMatch(/^Now: .*Fotky 2024\/snímek \d\.raw$/);
    expect(await page.getByTestId(`job-success-${photosJob}`).textContent()).toBe('Last success: never');
    await page.screenshot({ path: path.join(artifacts, 'ui-real-running.png'), fullPage: true });

    await expect
      .poll(() => page.getByTestId(`job-${photosJob}`).getAttribute('data-status'), { timeout: 120_000, interval: 250 })
      .toBe('success');
    expect(await page.getByTestId(`progress-${photosJob}`).count()).toBe(0);
    expect(await page.getByTestId(`run-${photosJob}`).isDisabled()).toBe(false);
    const rows = await sql('SELECT id, status, snapshot_id FROM runs WHERE job_id = $1', [photosJob]);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ status: 'success', snapshot_id: expect.stringMatching(/^[0-9a-f]{8,}$/) });
    await page.getByTestId('tab-history').click();
    const row = page.getByTestId(`run-row-${String(rows[0]!.id)}`);
    await row.waitFor({ timeout: 15_000 });
    expect(await row.getAttribute('data-status')).toBe('success');
    expect(await row.textContent()).toContain('Photos');
    expect(await row.textContent()).toContain(String(rows[0]!.snapshot_id).slice(0, 8));
    await page.getByTestId('tab-overview').click();
    expect(await page.getByTestId(`job-success-${photosJob}`).textContent()).toMatch(/MiB added$/);
    await page.screenshot({ path: path.join(artifacts, 'ui-real.png'), fullPage: true });
  }, 180_000);

  it('edits a schedule in the editor; the new cron expression is stored in the database', async () => {
    await page.getByTestId(`edit-${photosJob}`).click();
    await expect.poll(() => page.getByTestId('editor').isVisible()).toBe(true);
    // '0 3 * * *' in Prague reads as "daily at 03:00" in that zone; a custom cron is one choice away.
    expect(await page.getByTestId('schedule-kind').inputValue()).toBe('daily');
    expect(await page.getByTestId('schedule-time').inputValue()).toBe('03:00');
    expect(await page.getByTestId('schedule-tz').inputValue()).toBe('Europe/Prague');
    expect(await page.getByTestId('schedule-summary').textContent()).toBe('Runs daily at 03:00 (Europe/Prague).');
    await page.getByTestId('schedule-kind').selectOption('cron');
    const cron = page.getByTestId('cron-input');
    expect(await cron.count()).toBe(1);
    expect(await cron.inputValue()).toBe('0 3 * * *');
    // restic_args are admin-only (C36): shown read-only with the reason, not editable
    expect(await page.getByTestId('admin-restic-args').textContent()).toBe('--limit-upload 16384');
    expect(await page.getByTestId('admin-only').textContent()).toContain('allow_local_command_changes');
    await cron.fill('45 21 * * 1-5');
    await expect.poll(() => page.getByTestId('cron-preview').locator('li:not(.sr-only)').count()).toBe(5);
    await page.screenshot({ path: path.join(artifacts, 'ui-real-editor.png') });
    await page.getByTestId('editor-save').click();
    await expect.poll(() => page.getByTestId('editor').isVisible()).toBe(false);
    expect(await page.locator('#editor-error').textContent()).toBe('');

    const stored = await sql('SELECT cron_expression, timezone, catch_up FROM schedules WHERE id = $1', [
      photosSchedule,
    ]);
    expect(stored).toEqual([{ cron_expression: '45 21 * * 1-5', timezone: 'Europe/Prague', catch_up: false }]);
    // Fields the editor does not show are kept.
    const job = await sql('SELECT restic_args, repository_id IS NOT NULL AS has_repo FROM backup_jobs WHERE id = $1', [
      photosJob,
    ]);
    expect(job).toEqual([{ restic_args: ['--limit-upload', '16384'], has_repo: true }]);
    // The agent applied it at once: the next run is a weekday at 21:45 in Prague.
    await expect
      .poll(async () => {
        const s = await agent.service.status();
        const next = s.jobs.find((j) => j.id === photosJob)?.nextRunAt;
        if (!next) return '';
        return new Intl.DateTimeFormat('en-GB', {
          timeZone: 'Europe/Prague',
          hour: '2-digit',
          minute: '2-digit',
          weekday: 'short',
        }).format(new Date(next));
      })
      .toMatch(/^(Mon|Tue|Wed|Thu|Fri),? 21:45$/);
    expect(pageErrors).toEqual([]);
  }, 60_000);
});
