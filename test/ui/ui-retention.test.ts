/**
 * Issue 18 in the browser (Debian's Chromium, playwright-core) against the real agent (startAgent)
 * on a temp PostgreSQL database with real restic 0.14: the Retention page lists the repository
 * (GET /repositories), a policy typed for a job is previewed as a dry run ("these 2 snapshots would
 * be removed, these 2 kept, because ...": restic forget --dry-run --no-lock, nothing removed), then
 * saved (POST /config) into backup_jobs.retention. The job's history spans two hosts and two paths
 * (one group); another job's snapshots are never in the preview. Screenshot:
 * test-artifacts/ui-retention.png.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { pino } from 'pino';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAgent, type Agent } from '../../src/app.js';
import { parseLocalConfig } from '../../src/config/local-config.js';
import { addJob, addRepository, migrate, openDatabase, setSetting, upsertDevice } from '../../src/db/index.js';
import { hashPassword } from '../../src/api/auth/password-hash.js';
import { collectPageErrors, launchChromium, loginThroughUi } from './login.js';
import { createTempPgDatabase } from '../helpers/databases.js';

const repoRoot = path.resolve(import.meta.dirname, '../..');
const artifacts = path.join(repoRoot, 'test-artifacts');
const UI_PASSWORD = 'retention ui pw';
const PASSWORD = 'retention repo pw';
const DEVICE = 'ui-retention';
let tmp = '';
let repoDir = '';
let agent: Agent;
let dbUrl = '';
let dropDb: (() => Promise<void>) | null = null;
let browser: Browser;
let page: Page;
let docsJob = '';
let otherJob = '';
const pageErrors: string[] = [];

function restic(args: string[]): string {
  return execFileSync('restic', args, {
    env: {
      PATH: process.env.PATH,
      RESTIC_REPOSITORY: repoDir,
      RESTIC_PASSWORD: PASSWORD,
      RESTIC_CACHE_DIR: path.join(tmp, 'tc'),
    },
    encoding: 'utf8',
  });
}

const tagged = (job: string) =>
  (JSON.parse(restic(['snapshots', '--json', '--no-lock', '--tag', `backup:${job}`])) as unknown[] | null)?.length ?? 0;

beforeAll(async () => {
  fs.mkdirSync(artifacts, { recursive: true });
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rbackup2-ui-retention-'));
  repoDir = path.join(tmp, 'repo');
  restic(['init']);
  const docs = path.join(tmp, 'Documents');
  const old = path.join(tmp, 'Old documents');
  for (const d of [docs, old]) {
    fs.mkdirSync(d);
    fs.writeFileSync(path.join(d, 'notes.txt'), d);
  }
  const pgdb = await createTempPgDatabase();
  dbUrl = pgdb.url;
  dropDb = pgdb.drop;
  const yaml = `device:\n  id: ${DEVICE}\ndatabase:\n  url: "${pgdb.url}"\nclient:\n  http_bind: "127.0.0.1:0"\n  data_dir: "${path.join(tmp, 'data')}"\n  log_file: "${path.join(tmp, 'data', 'agent.log')}"\n  shutdown_timeout_seconds: 5\n`;
  const local = parseLocalConfig(yaml, path.join(tmp, 'config.yaml'), {});
  const seed = await openDatabase({ database: local.database, dataDir: local.dataDir });
  try {
    await migrate(seed);
    await upsertDevice(seed, { id: DEVICE });
    await setSetting(seed, { deviceId: null, key: 'ui_password_hash', value: await hashPassword(UI_PASSWORD) });
    const repo = await addRepository(seed, { name: 'family repo', url: repoDir, password: PASSWORD });
    docsJob = (await addJob(seed, { deviceId: DEVICE, name: 'Documents', sourcePaths: [docs], repositoryId: repo.id }))
      .id;
    otherJob = (await addJob(seed, { deviceId: DEVICE, name: 'Other', sourcePaths: [old], repositoryId: repo.id })).id;
  } finally {
    await seed.close();
  }
  // The job's history: two Relica-era snapshots of another host and path, two of this host.
  for (const [host, src] of [
    ['relica-pc', old],
    ['relica-pc', old],
    ['laptop', docs],
    ['laptop', docs],
  ] as const)
    restic(['backup', '-q', '--host', host, '--tag', `backup:${docsJob}`, src]);
  restic(['backup', '-q', '--host', 'laptop', '--tag', `backup:${otherJob}`, old]);
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

describe('Retention page [real agent, postgres, real restic 0.14, chromium]', () => {
  it('lists the repository, previews a policy as a dry run (nothing removed), saves it', async () => {
    await page.getByTestId('tab-retention').click();
    await expect.poll(() => page.getByTestId('repo-family repo').count(), { timeout: 30_000 }).toBe(1);
    await page.getByTestId('ret-job').selectOption(docsJob);
    await page.getByTestId('ret-keep_last').fill('2');
    await page.getByTestId('ret-preview-button').click();
    const summary = page.getByTestId('preview-summary');
    await summary.waitFor({ timeout: 30_000 });
    expect(await summary.textContent()).toBe(
      'These 2 snapshots would be removed, these 2 kept, because of the policy: keep_last 2',
    );
    expect(await page.getByTestId('preview-keep').count()).toBe(2);
    expect(await page.getByTestId('preview-remove').count()).toBe(2);
    // The kept ones are the newest two (this host), with restic's reason.
    for (const row of await page.getByTestId('preview-keep').all()) {
      expect(await row.textContent()).toContain('laptop');
      expect(await row.textContent()).toContain('last snapshot');
    }
    await page.screenshot({ path: path.join(artifacts, 'ui-retention.png'), fullPage: true });
    // A dry run: every snapshot is still there, the other job's too.
    expect(tagged(docsJob)).toBe(4);
    expect(tagged(otherJob)).toBe(1);
    // A policy that keeps nothing is refused by the agent, with the reason.
    await page.getByTestId('ret-keep_last').fill('0');
    await page.getByTestId('ret-preview-button').click();
    await page.getByTestId('preview-error').waitFor({ timeout: 15_000 });
    expect(await page.getByTestId('preview-error').textContent()).toMatch(/keeps nothing/);
    await page.getByTestId('ret-keep_last').fill('2');
    await page.getByTestId('ret-keep_within').fill('30d');
    await page.getByTestId('ret-save').click();
    await expect
      .poll(async () => {
        const c = new pg.Client({ connectionString: dbUrl });
        await c.connect();
        try {
          return (await c.query('SELECT retention FROM backup_jobs WHERE id = $1', [docsJob])).rows[0]?.retention;
        } finally {
          await c.end();
        }
      })
      .toEqual({ keep_last: 2, keep_within: '30d' });
    // The one 400 is the refused preview above (the browser logs every failed request).
    expect(pageErrors).toEqual(['Failed to load resource: the server responded with a status of 400 (Bad Request)']);
  }, 120_000);
});
