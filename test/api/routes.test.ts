import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, waitFor, type Harness } from './harness.js';
import { REDACTED } from '../../src/api/config-schema.js';
import { openApiPath } from '../../src/api/openapi.js';

let h: Harness;
const unknownJob = '00000000-0000-4000-8000-000000000000';

beforeAll(async () => {
  h = await startHarness({
    agent: { runMs: 800 },
    server: {
      extraRoutes: (app) => {
        app.get('/metrics', { config: { summary: 'Prometheus metrics' } }, async (_req, reply) =>
          reply.type('text/plain').send('# metrics\n'),
        );
      },
    },
  });
});

afterAll(async () => {
  await h.close();
  // C13: the repository password is in no response body and no log line of this whole file.
  expect(h.bodies.length).toBeGreaterThan(20);
  for (const b of [...h.bodies, ...h.logs]) expect(b).not.toContain(h.agent.repositoryPassword);
});

describe('read endpoints', () => {
  it('GET /health answers plain OK', async () => {
    const r = await h.request('GET', '/health');
    expect(r.status).toBe(200);
    expect(r.text).toBe('OK');
    expect(r.headers['content-type']).toMatch(/^text\/plain/);
  });

  it('GET /status lists device, database and jobs with next run', async () => {
    const r = await h.request('GET', '/status');
    expect(r.status).toBe(200);
    expect(r.json.device.name).toBe('Test workstation');
    expect(r.json.database.connected).toBe(true);
    const docs = r.json.jobs.find((j: { name: string }) => j.name === 'Documents');
    expect(Date.parse(docs.nextRunAt)).toBeGreaterThan(Date.now());
  });

  it('C13 GET /config redacts the repository password', async () => {
    const r = await h.request('GET', '/config');
    expect(r.status).toBe(200);
    expect(r.json.settings.repository_password).toBe(REDACTED);
    expect(r.json.settings.repository_url).toBe('/tmp/fake-repo');
    expect(r.text).not.toContain(h.agent.repositoryPassword);
  });

  it('GET /runs pages newest first and validates its query', async () => {
    const all = await h.request('GET', '/runs?limit=200');
    expect(all.status).toBe(200);
    expect(all.json.runs.length).toBeGreaterThan(0);
    const page = await h.request('GET', '/runs?limit=1&offset=0');
    expect(page.json.runs).toHaveLength(1);
    expect(page.json.hasMore).toBe(all.json.runs.length > 1);
    const byJob = await h.request('GET', `/runs?job_id=${h.agent.jobs[1]!.id}`);
    expect(byJob.json.runs.every((r: { jobId: string }) => r.jobId === h.agent.jobs[1]!.id)).toBe(true);
    const bad = await h.request('GET', '/runs?limit=0&job_id=x&color=red');
    expect(bad.status).toBe(400);
    expect(bad.json.error.code).toBe('INVALID_INPUT');
    expect(bad.json.error.fields.map((f: { field: string }) => f.field).sort()).toEqual([
      'query.color',
      'query.job_id',
      'query.limit',
    ]);
  });

  it('GET /runs?operation= filters by the kind of run and refuses an unknown kind', async () => {
    const backups = await h.request('GET', '/runs?operation=backup&limit=200');
    expect(backups.status).toBe(200);
    expect(backups.json.runs.length).toBeGreaterThan(0);
    expect(backups.json.runs.every((r: { operation: string }) => r.operation === 'backup')).toBe(true);
    const forgets = await h.request('GET', '/runs?operation=forget');
    expect(forgets.status).toBe(200);
    expect(forgets.json.runs).toEqual([]);
    const bad = await h.request('GET', '/runs?operation=copy');
    expect(bad.status).toBe(400);
    expect(bad.json.error.fields.map((f: { field: string }) => f.field)).toEqual(['query.operation']);
  });

  it('GET /runs/{id} returns the detail with unreadable files and output bounded; 404 and 400 otherwise', async () => {
    const list = await h.request('GET', `/runs?job_id=${h.agent.jobs[1]!.id}`);
    const partial = list.json.runs.find((r: { status: string }) => r.status === 'partial');
    const r = await h.request('GET', `/runs/${partial.id}`);
    expect(r.status).toBe(200);
    expect(r.json.unreadablePaths).toEqual(['/srv/Fotomateriály/secret.jpg']);
    expect(r.json.resticOutput.length).toBe(64 * 1024);
    expect(r.json.outputTruncated).toBe(true);
    expect((await h.request('GET', '/runs/999999')).status).toBe(404);
    const bad = await h.request('GET', '/runs/abc');
    expect(bad.status).toBe(400);
    expect(bad.json.error.fields[0].field).toBe('path.id');
  });

  it('GET /jobs/{id}/next-runs gives n times; unknown job 404', async () => {
    const r = await h.request('GET', `/jobs/${h.agent.jobs[0]!.id}/next-runs?n=3`);
    expect(r.status).toBe(200);
    expect(r.json.nextRuns).toHaveLength(3);
    expect((await h.request('GET', `/jobs/${unknownJob}/next-runs`)).status).toBe(404);
    expect((await h.request('GET', '/jobs/not-a-uuid/next-runs')).status).toBe(404);
  });

  it('C11 GET /cron-preview shows day-of-month OR day-of-week; bad input names the field', async () => {
    const r = await h.request('GET', `/cron-preview?expr=${encodeURIComponent('0 4 1 * 1')}&tz=Europe/Prague&n=10`);
    expect(r.status).toBe(200);
    expect(r.json.nextRuns).toHaveLength(10);
    const days = r.json.nextRuns
      .map((t: string) => new Date(t))
      .map((d: Date) => ({
        dom: Number(new Intl.DateTimeFormat('en', { day: 'numeric', timeZone: 'Europe/Prague' }).format(d)),
        dow: new Intl.DateTimeFormat('en', { weekday: 'short', timeZone: 'Europe/Prague' }).format(d),
      }));
    expect(days.every((d: { dom: number; dow: string }) => d.dom === 1 || d.dow === 'Mon')).toBe(true);
    expect(days.some((d: { dow: string }) => d.dow === 'Mon')).toBe(true);
    const bad = await h.request('GET', `/cron-preview?expr=${encodeURIComponent('61 * * * *')}`);
    expect(bad.status).toBe(400);
    expect(bad.json.error.fields[0].field).toBe('query.expr');
    const badTz = await h.request('GET', `/cron-preview?expr=${encodeURIComponent('0 3 * * *')}&tz=Mars/Olympus`);
    expect(badTz.json.error.fields[0].field).toBe('query.tz');
  });

  it('unknown routes give a JSON 404', async () => {
    const r = await h.request('GET', '/nope');
    expect(r.status).toBe(404);
    expect(r.json.error.code).toBe('NOT_FOUND');
  });

  it('GET / serves the UI; /ui/{file} its scripts; other names 404', async () => {
    const page = await h.request('GET', '/');
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toMatch(/text\/html/);
    expect(page.text).toContain('/ui/app.js');
    expect(page.text).not.toMatch(/<script>(?!<\/script>)|\son[a-z]+=/i);
    expect((await h.request('GET', '/ui/app.js')).headers['content-type']).toMatch(/javascript/);
    expect((await h.request('GET', '/ui/..%2Fpackage.json')).status).toBe(404);
  });
});

describe('OpenAPI', () => {
  it('documents exactly the registered routes', async () => {
    const r = await h.request('GET', '/openapi.json');
    expect(r.status).toBe(200);
    const documented = new Set<string>();
    for (const [p, ops] of Object.entries(r.json.paths as Record<string, object>))
      for (const m of Object.keys(ops)) documented.add(`${m.toUpperCase()} ${p}`);
    const registered = new Set(
      h.server
        .routes()
        .filter((x) => x.method !== 'HEAD')
        .map((x) => `${x.method} ${openApiPath(x.url)}`),
    );
    expect([...registered].sort()).toEqual([...documented].sort());
    for (const key of ['GET /metrics', 'POST /config', 'GET /events', 'GET /runs/{id}', 'GET /cron-preview'])
      expect(documented.has(key)).toBe(true);
    expect(r.json.paths['/config'].post.requestBody.content['application/json'].schema.properties.jobs).toBeDefined();
    const runParams = r.json.paths['/runs'].get.parameters as { name: string; schema: { enum?: string[] } }[];
    expect(runParams.map((p) => p.name).sort()).toEqual(['job_id', 'limit', 'offset', 'operation']);
    expect(runParams.find((p) => p.name === 'operation')?.schema.enum).toEqual([
      'backup',
      'forget',
      'prune',
      'check',
      'restore',
      'unlock',
    ]);
  });
});

describe('POST /jobs/{id}/run and /runs/{id}/cancel', () => {
  it('C12 202 started, 409 while running, then a success row; 404 unknown job', async () => {
    const job = h.agent.jobs[0]!;
    const r = await h.request('POST', `/jobs/${job.id}/run`, { body: {} });
    expect(r.status).toBe(202);
    expect(r.json).toMatchObject({ state: 'started', jobId: job.id, position: 0 });
    const again = await h.request('POST', `/jobs/${job.id}/run`, {
      headers: { 'content-type': 'application/json' },
      rawBody: '',
    });
    expect(again.status).toBe(409);
    expect(again.json.error.code).toBe('CONFLICT');
    const st = await h.request('GET', '/status');
    expect(st.json.jobs.find((j: { id: string }) => j.id === job.id).running).toBe(true);
    const done = await waitFor(async () => {
      const runs = await h.request('GET', `/runs?job_id=${job.id}&limit=1`);
      return runs.json.runs[0]?.status === 'success' ? runs.json.runs[0] : null;
    });
    expect(done.snapshotId).toBe('a1b2c3d4');
    expect((await h.request('POST', `/jobs/${unknownJob}/run`, { body: {} })).status).toBe(404);
    const withBody = await h.request('POST', `/jobs/${job.id}/run`, { body: { force: true } });
    expect(withBody.status).toBe(400);
  });

  it('cancel: 202 for a running run (ends cancelled), 409 when not running, 404 unknown', async () => {
    const job = h.agent.jobs[1]!;
    expect((await h.request('POST', `/jobs/${job.id}/run`, { body: {} })).status).toBe(202);
    const run = (await h.request('GET', `/runs?job_id=${job.id}&limit=1`)).json.runs[0];
    expect(run.status).toBe('running');
    const c = await h.request('POST', `/runs/${run.id}/cancel`, { body: {} });
    expect(c.status).toBe(202);
    expect((await h.request('GET', `/runs/${run.id}`)).json.status).toBe('cancelled');
    expect((await h.request('POST', `/runs/${run.id}/cancel`, { body: {} })).status).toBe(409);
    expect((await h.request('POST', '/runs/999999/cancel', { body: {} })).status).toBe(404);
  });
});

describe('POST /config', () => {
  it('updates a schedule and creates a job; GET /config shows both', async () => {
    const cfg = (await h.request('GET', '/config')).json;
    const docs = cfg.jobs.find((j: { name: string }) => j.name === 'Documents');
    const r = await h.request('POST', '/config', {
      body: {
        jobs: [
          {
            id: docs.id,
            schedules: [
              {
                id: docs.schedules[0].id,
                schedule_type: 'cron',
                cron_expression: '30 2 * * *',
                timezone: 'Europe/Prague',
              },
            ],
          },
          {
            name: 'Music',
            source_paths: ['/home/user/Music'],
            schedules: [{ schedule_type: 'interval', interval_seconds: 3600 }],
          },
        ],
        settings: { repository_password: REDACTED },
      },
    });
    expect(r.status).toBe(200);
    expect(r.json.config.settings.repository_password).toBe(REDACTED);
    const after = (await h.request('GET', '/config')).json;
    expect(after.jobs.find((j: { id: string }) => j.id === docs.id).schedules[0].cron_expression).toBe('30 2 * * *');
    expect(after.jobs.some((j: { name: string }) => j.name === 'Music')).toBe(true);
  });

  it('400 names every bad field, from the schema and from the agent', async () => {
    const r = await h.request('POST', '/config', {
      body: {
        jobs: [{ name: '', source_paths: [], schedules: [{ schedule_type: 'cron', cron_expression: '0 0 30 2 *' }] }],
        bogus: 1,
      },
    });
    expect(r.status).toBe(400);
    expect(r.json.error.code).toBe('INVALID_INPUT');
    expect(r.json.error.fields.map((f: { field: string }) => f.field).sort()).toEqual([
      'bogus',
      'jobs[0].name',
      'jobs[0].schedules[0].cron_expression',
      'jobs[0].source_paths',
    ]);
    const ref = await h.request('POST', '/config', { body: { jobs: [{ id: unknownJob, enabled: false }] } });
    expect(ref.status).toBe(400);
    expect(ref.json.error.fields).toEqual([{ field: 'jobs[0].id', message: 'no such job on this device' }]);
    const notJson = await h.request('POST', '/config', {
      headers: { 'content-type': 'application/json' },
      rawBody: '{"jobs": [',
    });
    expect(notJson.status).toBe(400);
    expect(notJson.json.error.code).toBe('INVALID_INPUT');
  });
});
