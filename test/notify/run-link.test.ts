/**
 * Issue 19 point 2, "a link to the run": the links (src/notify/links.ts) and the local UI that opens
 * them. A REAL agent (src/app.ts startAgent) on PGlite, its own notifier, with a job whose
 * repository does not exist (real restic 0.14 fails the backup) and a webhook channel: the
 * run.failed that reaches a real HTTP receiver links to `<ui>/#runs/<run id>`, and opening that
 * link in Debian's Chromium (signing in first, as someone clicking it in a mail would) shows that
 * run's details; the `#/runs/<id>` form of links sent before this fix opens it too.
 * Screenshot: test-artifacts/run-link.png.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashPassword } from '../../src/api/auth/password-hash.js';
import { startAgent, type Agent } from '../../src/app.js';
import { parseLocalConfig } from '../../src/config/local-config.js';
import { addJob, addRepository, migrate, openDatabase, setSetting, upsertDevice } from '../../src/db/index.js';
import { addChannel } from '../../src/notify/channel-admin.js';
import { jobLink, runLink } from '../../src/notify/links.js';
import { authHeader } from '../helpers/agent-auth.js';
import { startHttpReceiver, type HttpReceiver } from '../helpers/receivers.js';
import { waitFor } from '../helpers/wait.js';
import { collectPageErrors, launchChromium, loginThroughUi } from '../ui/login.js';

const repoRoot = path.resolve(import.meta.dirname, '../..');
const UI_PASSWORD = 'run link password';
const DEVICE = 'run-link';

describe('notification links', () => {
  it('runLink and jobLink use the UI router form #<page>/<param>', () => {
    expect(runLink('http://127.0.0.1:1201', 42)).toBe('http://127.0.0.1:1201/#runs/42');
    expect(runLink('http://127.0.0.1:1201/', 42)).toBe('http://127.0.0.1:1201/#runs/42');
    expect(runLink(null, 42)).toBeNull();
    expect(runLink('http://127.0.0.1:1201', null)).toBeNull();
    expect(jobLink('http://[::1]:1201', 'a1b2c3d4-0000-4000-8000-000000000001')).toBe(
      'http://[::1]:1201/#history/a1b2c3d4-0000-4000-8000-000000000001',
    );
    expect(jobLink(null, 'x')).toBeNull();
  });
});

describe('the link of a run.failed opens that run in the local UI [pglite]', () => {
  let tmp = '';
  let agent: Agent | null = null;
  let hook: HttpReceiver;
  let browser: Browser;
  let dataDir = '';
  let jobId = '';
  const pageErrors: string[] = [];

  beforeAll(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rbackup2-run-link-'));
    dataDir = path.join(tmp, 'data');
    hook = await startHttpReceiver();
    const src = path.join(tmp, 'src');
    fs.mkdirSync(src);
    fs.writeFileSync(path.join(src, 'a.txt'), 'link\n');
    const yaml = `device:\n  id: ${DEVICE}\n  name: Link laptop\nclient:\n  http_bind: "127.0.0.1:0"\n  data_dir: "${dataDir}"\n  log_file: "${path.join(dataDir, 'agent.log')}"\n  restic_binary: /usr/bin/restic\n  shutdown_timeout_seconds: 5\n`;
    const local = parseLocalConfig(yaml, path.join(tmp, 'config.yaml'), {});
    const seed = await openDatabase({ database: local.database, dataDir: local.dataDir });
    try {
      await migrate(seed);
      await upsertDevice(seed, { id: DEVICE, name: 'Link laptop' });
      await setSetting(seed, { deviceId: null, key: 'ui_password_hash', value: await hashPassword(UI_PASSWORD) });
      // no repository at this path: restic answers "repository does not exist" and the run fails
      const repo = await addRepository(seed, { name: 'missing', url: path.join(tmp, 'no-repo'), password: 'pw' });
      jobId = (await addJob(seed, { deviceId: DEVICE, name: 'Docs', sourcePaths: [src], repositoryId: repo.id })).id;
      await addChannel(seed, {
        name: 'hook',
        kind: 'webhook',
        config: { url: `${hook.url}/hook` },
        events: ['run.failed'],
      });
    } finally {
      await seed.close();
    }
    agent = await startAgent({ local, logger: pino({ level: 'silent' }) });
    browser = await launchChromium();
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await agent?.stop('test done');
    await hook?.close();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  }, 60_000);

  async function openLink(link: string): Promise<Page> {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 }, locale: 'en-US' });
    collectPageErrors(page, pageErrors);
    await page.goto(link);
    await loginThroughUi(page, UI_PASSWORD);
    return page;
  }

  it('run.failed links to #runs/<id>; opening it shows that run', async () => {
    const started = await fetch(`${agent!.url}/jobs/${jobId}/run`, {
      method: 'POST',
      headers: { ...authHeader(dataDir), 'content-type': 'application/json' },
      body: '{}',
    });
    expect(started.status).toBe(202);
    const body = await waitFor('run.failed at the receiver', () => hook.json('/hook')[0] ?? null, 60_000, 100);
    expect(body).toMatchObject({ event: 'run.failed', job_id: jobId, status: 'failed' });
    const runId = body.run_id as number;
    expect(body.link).toBe(`${agent!.url}/#runs/${runId}`);

    const page = await openLink(String(body.link));
    const dialog = page.getByTestId('run-dialog');
    await dialog.waitFor({ state: 'visible', timeout: 15_000 });
    expect(await page.locator('#run-dialog-h').textContent()).toBe(`Run ${runId}`);
    const details = await dialog.innerText();
    expect(details).toMatch(/Job\s+Docs/);
    expect(details).toMatch(/Status\s+Failed/i);
    expect(await page.getByTestId('tab-history').getAttribute('aria-selected')).toBe('true');
    fs.mkdirSync(path.join(repoRoot, 'test-artifacts'), { recursive: true });
    await page.screenshot({ path: path.join(repoRoot, 'test-artifacts', 'run-link.png') });
    await page.close();

    // the form of links sent before the fix (`#/runs/<id>`) lands on the same run
    const old = await openLink(`${agent!.url}/#/runs/${runId}`);
    await old.getByTestId('run-dialog').waitFor({ state: 'visible', timeout: 15_000 });
    expect(await old.locator('#run-dialog-h').textContent()).toBe(`Run ${runId}`);
    await old.close();
    expect(pageErrors).toEqual([]);
  }, 120_000);
});
