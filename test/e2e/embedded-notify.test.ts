/**
 * Issue 19: an agent on the embedded database (PGlite) is its own notifier. A REAL agent process
 * (`rbackup2 run`, dist/main.js) with a job whose repository has the wrong password (real restic
 * 0.14 refuses it) and a webhook channel: two failed runs in a row deliver exactly ONE run.failed to
 * a real HTTP receiver (one notification per failure streak), signed with the channel's secret.
 *
 * "No second run.failed" is proven on an event, not a wall time: a second channel on the same
 * receiver takes run.started; the notifier delivers in outbox order, so once the THIRD run's
 * run.started has arrived, anything the second failure produced has been delivered before it.
 */
import { createHmac } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseLocalConfig } from '../../src/config/local-config.js';
import { addJob, addRepository, migrate, openDatabase, upsertDevice } from '../../src/db/index.js';
import { insertChannel } from '../../src/db/queries/notifications.js';
import { api, freePort, ProcessGroup, waitFor, writeAgentConfig } from '../helpers/agent-process.js';
import { startHttpReceiver, type HttpReceiver } from '../helpers/receivers.js';
import { initRepo } from './harness.js';

const DEVICE = 'embedded-notifier';
const SECRET = 'embedded-hook-secret';

describe('an embedded (PGlite) agent delivers its own notifications [pglite]', () => {
  const procs = new ProcessGroup();
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'rb2-embedded-notify-'));
  let hook: HttpReceiver;
  let port = 0;
  let jobId = '';

  beforeAll(async () => {
    hook = await startHttpReceiver();
    port = await freePort();
    const repoDir = path.join(root, 'repo');
    initRepo(repoDir, 'the right password', path.join(root, 'cache'));
    const src = path.join(root, 'src');
    fs.mkdirSync(src);
    fs.writeFileSync(path.join(src, 'a.txt'), 'embedded\n');
    const cfg = writeAgentConfig({ dir: root, deviceId: DEVICE, port, shutdownTimeoutSeconds: 5 });
    const local = parseLocalConfig(fs.readFileSync(cfg, 'utf8'), cfg, {});
    // Seeded before the agent starts (PGlite is one process's database).
    const db = await openDatabase({ database: local.database, dataDir: local.dataDir });
    try {
      await migrate(db);
      await upsertDevice(db, { id: DEVICE, name: 'Embedded laptop' });
      const repo = await addRepository(db, { name: 'wrong pw', url: repoDir, password: 'not the password' });
      jobId = (await addJob(db, { deviceId: DEVICE, name: 'Docs', sourcePaths: [src], repositoryId: repo.id })).id;
      await insertChannel(db, {
        deviceId: null,
        name: 'hook',
        kind: 'webhook',
        config: { url: `${hook.url}/hook`, secret: SECRET },
        events: ['run.failed', 'run.partial', 'run.recovered'],
        enabled: true,
      });
      await insertChannel(db, {
        deviceId: null,
        name: 'starts',
        kind: 'webhook',
        config: { url: `${hook.url}/starts` },
        events: ['run.started'],
        enabled: true,
      });
    } finally {
      await db.close();
    }
    await procs.startAgentReady(cfg, port);
  }, 180_000);

  afterAll(async () => {
    await procs.killAll();
    await hook?.close();
    fs.rmSync(root, { recursive: true, force: true });
  }, 60_000);

  const runOnce = async (n: number) => {
    expect((await api(port, 'POST', `/jobs/${jobId}/run`)).status).toBe(202);
    const run = await waitFor(
      `run ${n} to finish`,
      async () => {
        const r = await api(port, 'GET', `/runs?job_id=${jobId}&limit=10`);
        const done = (r.json.runs as { status: string }[]).filter((x) => x.status !== 'running');
        return done.length >= n ? done[0] : null;
      },
      60_000,
      200,
    );
    // The run's record is written before the agent lets go of the job (journal clean-up, the
    // queue): a trigger in between is 409 (seen in CI). Wait until /status shows the job idle.
    await waitFor(
      `the job idle after run ${n}`,
      async () => {
        const st = await api(port, 'GET', '/status');
        const j = (st.json.jobs as { id: string; running: boolean; queued: boolean }[]).find((x) => x.id === jobId);
        return j && !j.running && !j.queued ? true : null;
      },
      30_000,
      100,
    );
    return run;
  };

  it('two failures in a row: exactly one run.failed, signed, naming the wrong password', async () => {
    const first = await runOnce(1);
    expect(first.status).toBe('failed');
    const failed = await waitFor(
      'run.failed at the receiver',
      () => (hook.json('/hook').length > 0 ? hook.json('/hook') : null),
      30_000,
      100,
    );
    expect(failed).toHaveLength(1);
    expect(failed[0]).toMatchObject({ event: 'run.failed', device_id: DEVICE, job_id: jobId, status: 'failed' });
    expect(String(failed[0]!.message)).toMatch(/^Backup Docs on .* failed: .*password/i);
    const req = hook.requests.find((r) => r.path === '/hook')!;
    const sig = createHmac('sha256', SECRET).update(req.body).digest('hex');
    expect(req.headers['x-rbackup2-signature']).toBe(`sha256=${sig}`);

    expect((await runOnce(2)).status).toBe('failed');
    await runOnce(3);
    await waitFor('the third run.started', () => hook.json('/starts').length >= 3, 30_000, 100);
    expect(hook.json('/hook').map((b) => b.event)).toEqual(['run.failed']);
    expect(hook.refused).toEqual([]);
  }, 240_000);
});
