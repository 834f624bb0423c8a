/**
 * Issue 19 points 1-3 on both databases with real receivers: an HTTP server (webhook with HMAC,
 * ntfy, healthchecks) and a real SMTP server (smtp-server) reached through nodemailer. Events come
 * from the event bus as the run lifecycle emits them; the producer writes the outbox; the notifier
 * delivers. One notification per streak; a receiver that is down gets everything once it is back
 * (each id once); channel secrets are redacted.
 */
import { createHmac } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { systemClock } from '../../src/clock.js';
import { migrate } from '../../src/db/migrate.js';
import { upsertDevice } from '../../src/db/queries/devices.js';
import { addJob } from '../../src/db/queries/jobs.js';
import { insertChannel, listChannels, outboxBacklog } from '../../src/db/queries/notifications.js';
import { EventBus } from '../../src/events.js';
import { redactConfig } from '../../src/notify/channel-config.js';
import { Notifier } from '../../src/notify/notifier.js';
import { runLink } from '../../src/notify/links.js';
import { NotificationProducer } from '../../src/notify/producer.js';
import { forEachDatabase } from '../helpers/databases.js';
import { startHttpReceiver, startSmtpReceiver, type HttpReceiver, type SmtpReceiver } from '../helpers/receivers.js';
import { waitFor } from '../helpers/wait.js';

const quiet = { info: () => {}, warn: () => {}, debug: () => {} };

forEachDatabase('notifications end to end in one process', (getDb) => {
  let http: HttpReceiver;
  let smtp: SmtpReceiver;
  let jobId = '';
  let producer: NotificationProducer;
  let notifier: Notifier;
  const events = new EventBus();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'rb2-notify-'));
  let run = 0;
  const finish = (status: 'success' | 'partial' | 'failed', errorMessage: string | null = null) =>
    events.emit('run.finished', {
      runId: ++run,
      operation: 'backup',
      jobId,
      jobName: 'Docs',
      repositoryId: null,
      triggeredBy: 'schedule',
      status,
      endTime: new Date().toISOString(),
      snapshotId: null,
      durationSeconds: 1,
      exitCode: status === 'failed' ? 1 : 0,
      errorMessage,
      errorKind: null,
      totalFilesProcessed: null,
      dataAddedBytes: null,
    });

  beforeAll(async () => {
    const db = getDb();
    await migrate(db);
    await upsertDevice(db, { id: 'laptop-1', name: 'Laptop' });
    jobId = (await addJob(db, { deviceId: 'laptop-1', name: 'Docs', sourcePaths: ['/home/a'] })).id;
    http = await startHttpReceiver();
    smtp = await startSmtpReceiver();
    await insertChannel(db, {
      deviceId: null,
      name: 'hook',
      kind: 'webhook',
      config: { url: `${http.url}/hook`, secret: 'hmac-key' },
      events: ['run.failed', 'run.partial', 'run.recovered'],
      enabled: true,
    });
    await insertChannel(db, {
      deviceId: 'laptop-1',
      name: 'phone',
      kind: 'ntfy',
      config: { url: `${http.url}/ntfy/backups`, token: 'tk_secret' },
      events: ['run.failed', 'run.recovered'],
      enabled: true,
    });
    await insertChannel(db, {
      deviceId: null,
      name: 'mail',
      kind: 'email',
      config: {
        host: '127.0.0.1',
        port: smtp.port,
        allow_plaintext: true,
        user: 'mailer',
        password: 'mail-secret',
        from: 'rbackup2@example.org',
        to: ['admin@example.org'],
      },
      events: ['run.failed', 'run.recovered'],
      enabled: true,
    });
    await insertChannel(db, {
      deviceId: null,
      name: 'hc',
      kind: 'healthchecks',
      config: { urls: { [jobId]: `${http.url}/hc/check-uuid` } },
      events: ['run.started', 'run.succeeded', 'run.failed'],
      enabled: true,
    });
    await insertChannel(db, {
      deviceId: 'other-device',
      name: 'other',
      kind: 'webhook',
      config: { url: `${http.url}/other` },
      events: ['run.failed'],
      enabled: true,
    }).catch(() => undefined); // FK: unknown device refused
    producer = new NotificationProducer({
      db,
      events,
      clock: systemClock,
      logger: quiet,
      dataDir,
      deviceId: 'laptop-1',
      deviceName: 'Laptop',
      runLink: (id) => runLink('http://127.0.0.1:1201', id),
    });
    notifier = new Notifier({
      db,
      clock: systemClock,
      logger: quiet,
      intervalSeconds: 3600,
      retryBaseSeconds: 1,
      retryMaxSeconds: 1,
    });
    producer.start();
  });
  afterAll(async () => {
    await producer?.stop();
    await notifier?.stop();
    await http?.close();
    await smtp?.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('a failing job sends exactly one run.failed; a second failure none; the next success one run.recovered', async () => {
    finish('failed', 'repository does not exist');
    await producer.flush();
    await notifier.tick();
    const hooks = http.json('/hook');
    expect(hooks.map((h) => h.event)).toEqual(['run.failed']);
    const body = hooks[0]!;
    for (const k of [
      'id',
      'event',
      'time',
      'device_id',
      'device_name',
      'job_id',
      'job_name',
      'status',
      'message',
      'link',
    ])
      expect(body, k).toHaveProperty(k);
    expect(body).toMatchObject({
      device_id: 'laptop-1',
      device_name: 'Laptop',
      job_id: jobId,
      job_name: 'Docs',
      status: 'failed',
      link: 'http://127.0.0.1:1201/#runs/1',
    });
    expect(String(body.message)).toContain('repository does not exist');
    // HMAC over the exact body
    const req = http.requests.find((r) => r.path === '/hook')!;
    expect(req.headers['x-rbackup2-signature']).toBe(
      `sha256=${createHmac('sha256', 'hmac-key').update(req.body).digest('hex')}`,
    );
    // ntfy: priority by event, token as bearer
    const ntfy = http.requests.filter((r) => r.path === '/ntfy/backups');
    expect(ntfy).toHaveLength(1);
    expect(ntfy[0]!.headers.priority).toBe('4');
    expect(ntfy[0]!.headers.authorization).toBe('Bearer tk_secret');
    // email through the real SMTP server, authenticated
    expect(smtp.messages).toHaveLength(1);
    expect(smtp.messages[0]!.user).toBe('mailer');
    expect(smtp.messages[0]!.subject).toBe('rbackup2 run.failed: Docs on Laptop');
    expect(smtp.messages[0]!.header('X-Rbackup2-Id')).toBe(body.id);
    // healthchecks: the fail ping
    expect(http.requests.filter((r) => r.path.startsWith('/hc/')).map((r) => r.path)).toEqual(['/hc/check-uuid/fail']);

    finish('failed', 'still broken');
    await producer.flush();
    await notifier.tick();
    expect(http.json('/hook')).toHaveLength(1);
    expect(smtp.messages).toHaveLength(1);

    // The start ping answered slowly: the success ping still reaches healthchecks after it (one
    // channel's deliveries go in order), else healthchecks would see a run start after its end.
    http.slow = { suffix: '/start', ms: 400 };
    events.emit('run.started', {
      runId: run + 1,
      operation: 'backup',
      repositoryId: null,
      jobId,
      jobName: 'Docs',
      triggeredBy: 'schedule',
      startTime: new Date().toISOString(),
    });
    finish('success');
    await producer.flush();
    await notifier.tick();
    expect(http.json('/hook').map((h) => h.event)).toEqual(['run.failed', 'run.recovered']);
    expect(http.requests.filter((r) => r.path === '/ntfy/backups')).toHaveLength(2);
    expect(smtp.messages.map((m) => m.subject)).toEqual([
      'rbackup2 run.failed: Docs on Laptop',
      'rbackup2 run.recovered: Docs on Laptop',
    ]);
    expect(http.requests.filter((r) => r.path.startsWith('/hc/')).map((r) => r.path)).toEqual([
      '/hc/check-uuid/fail',
      '/hc/check-uuid/start',
      '/hc/check-uuid',
    ]);
    http.slow = null;

    finish('success');
    await producer.flush();
    await notifier.tick();
    expect(http.json('/hook')).toHaveLength(2);
  });

  it('a receiver down for a while gets every notification once it is back, each id once', async () => {
    http.failWith = 503;
    const before = http.json('/hook').length;
    finish('failed', 'disk full');
    finish('success');
    finish('partial', 'some files unreadable');
    await producer.flush();
    await notifier.tick();
    expect(http.json('/hook')).toHaveLength(before);
    expect(http.refused.length).toBeGreaterThan(0);
    // failed, succeeded (the healthchecks ping, same receiver), recovered, partial
    expect((await outboxBacklog(getDb(), null)).pending).toBe(4);
    // still down at the first retry
    await new Promise((r) => setTimeout(r, 1100));
    await notifier.tick();
    http.failWith = null;
    await waitFor(
      'the webhook receiver to get the three notifications',
      async () => {
        await new Promise((r) => setTimeout(r, 300));
        await notifier.tick();
        return http.json('/hook').length >= before + 3;
      },
      20_000,
    );
    const got = http.json('/hook').slice(before);
    expect(got.map((h) => h.event)).toEqual(['run.failed', 'run.recovered', 'run.partial']);
    const ids = http.json('/hook').map((h) => h.id);
    expect(new Set(ids).size).toBe(ids.length);
    await notifier.tick();
    expect((await outboxBacklog(getDb(), null)).pending).toBe(0);
  });

  it('a failed check or prune is check.failed / prune.failed; a passing check and a forget send nothing', async () => {
    await insertChannel(getDb(), {
      deviceId: null,
      name: 'repo-health',
      kind: 'webhook',
      config: { url: `${http.url}/repo-health` },
      events: ['check.failed', 'prune.failed'],
      enabled: true,
    });
    const maintenance = (
      operation: 'check' | 'prune' | 'forget',
      status: 'success' | 'failed',
      message: string | null,
    ) =>
      events.emit('run.finished', {
        runId: ++run,
        operation,
        jobId: null,
        jobName: 'nas',
        repositoryId: 'repo-1',
        triggeredBy: 'schedule',
        status,
        endTime: new Date().toISOString(),
        snapshotId: null,
        durationSeconds: 1,
        exitCode: status === 'failed' ? 1 : 0,
        errorMessage: message,
        errorKind: null,
        totalFilesProcessed: null,
        dataAddedBytes: null,
      });
    maintenance('check', 'success', null);
    maintenance('forget', 'failed', 'repository is already locked');
    maintenance('check', 'failed', 'pack 1a2b3c is damaged');
    maintenance('prune', 'failed', 'repository is already locked');
    await producer.flush();
    await notifier.tick();
    await waitFor('the repository-health webhook', async () => http.json('/repo-health').length >= 2, 10_000);
    const got = http.json('/repo-health');
    expect(got.map((h) => h.event)).toEqual(['check.failed', 'prune.failed']);
    expect(String(got[0]?.message)).toContain('pack 1a2b3c is damaged');
  });

  it('channel secrets are redacted in what is shown', async () => {
    const shown = (await listChannels(getDb())).map((c) => JSON.stringify(redactConfig(c.kind, c.config))).join('\n');
    for (const secret of ['hmac-key', 'tk_secret', 'mail-secret', 'check-uuid']) expect(shown).not.toContain(secret);
    expect(shown).toContain('(set)');
  });
});
