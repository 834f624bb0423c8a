/**
 * Issue 15 / C36: every route of the API needs a login on loopback too, except GET /health, the
 * login page (GET /, /ui/*) and POST /login, /logout. For each route: 401 without credentials,
 * 401 with a wrong token, 2xx with the API token and 2xx with a session from POST /login. Also the
 * sign-in rules: one 401 text whatever was wrong, rate limit, logged attempts, one-time links.
 */
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashPassword } from '../../src/api/auth/password-hash.js';
import { SessionStore } from '../../src/api/auth/sessions.js';
import { startHarness, waitFor, type Harness } from './harness.js';

const PASSWORD = 'tajné heslo 2024';
let h: Harness;
let hash = '';

type Auth = { kind: 'none' } | { kind: 'token'; token: string } | { kind: 'cookie'; cookie: string };
const headersFor = (a: Auth): Record<string, string> =>
  a.kind === 'token' ? { authorization: `Bearer ${a.token}` } : a.kind === 'cookie' ? { cookie: a.cookie } : {};

/** Status of GET /events (a stream: the answer is read from the head, then the request is dropped). */
function eventsStatus(a: Auth): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.get(
      { host: '127.0.0.1', port: h.port, path: '/events', agent: false, headers: headersFor(a) },
      (res) => {
        resolve(res.statusCode ?? 0);
        req.destroy();
      },
    );
    req.on('error', (e) => ((e as NodeJS.ErrnoException).code === 'ECONNRESET' ? undefined : reject(e)));
  });
}

/** A request for every route; `expect` is the success status. */
async function callRoute(route: string, a: Auth): Promise<{ status: number; expect: number }> {
  const job = h.agent.jobs[0]!.id;
  const o = { anonymous: true, headers: headersFor(a) };
  switch (route) {
    case 'GET /status':
      return { status: (await h.request('GET', '/status', o)).status, expect: 200 };
    case 'GET /config':
      return { status: (await h.request('GET', '/config', o)).status, expect: 200 };
    case 'GET /runs':
      return { status: (await h.request('GET', '/runs', o)).status, expect: 200 };
    case 'GET /runs/:id': {
      const runs = await h.request('GET', '/runs');
      return { status: (await h.request('GET', `/runs/${String(runs.json.runs[0].id)}`, o)).status, expect: 200 };
    }
    case 'GET /jobs/:id/next-runs':
      return { status: (await h.request('GET', `/jobs/${job}/next-runs`, o)).status, expect: 200 };
    case 'GET /cron-preview':
      return { status: (await h.request('GET', '/cron-preview?expr=0%203%20*%20*%20*', o)).status, expect: 200 };
    case 'GET /openapi.json':
      return { status: (await h.request('GET', '/openapi.json', o)).status, expect: 200 };
    case 'GET /metrics':
      return { status: (await h.request('GET', '/metrics', o)).status, expect: 200 };
    case 'GET /events':
      return { status: await eventsStatus(a), expect: 200 };
    case 'POST /config':
      return {
        status: (await h.request('POST', '/config', { ...o, body: { settings: { sync_interval_seconds: '120' } } }))
          .status,
        expect: 200,
      };
    case 'POST /jobs/:id/run': {
      const status = (await h.request('POST', `/jobs/${job}/run`, { ...o, body: {} })).status;
      if (status === 202)
        await waitFor(
          async () => !(await h.request('GET', '/status')).json.jobs.find((j: { id: string }) => j.id === job).running,
          10_000,
        );
      return { status, expect: 202 };
    }
    case 'POST /runs/:id/cancel': {
      const other = h.agent.jobs[1]!.id;
      expect((await h.request('POST', `/jobs/${other}/run`, { body: {} })).status).toBe(202);
      const runId = await waitFor(
        async () =>
          (await h.request('GET', '/status')).json.running.find(
            (r: { jobId: string; runId: number | null }) => r.jobId === other,
          )?.runId,
      );
      const status = (await h.request('POST', `/runs/${String(runId)}/cancel`, { ...o, body: {} })).status;
      if (status !== 202)
        expect((await h.request('POST', `/runs/${String(runId)}/cancel`, { body: {} })).status).toBe(202);
      await waitFor(
        async () => !(await h.request('GET', '/status')).json.jobs.find((j: { id: string }) => j.id === other).running,
        10_000,
      );
      return { status, expect: 202 };
    }
    case 'POST /repositories': {
      // The in-memory agent runs no restic and refuses every repository with a field error (400):
      // reaching that answer, not a 401, is what shows the login passed (the route is tested with
      // real restic in test/api/real-agent.test.ts).
      const body = { name: 'auth-repo', url: '/tmp/rb2-auth-repo', password: 'pw-auth', init: true };
      return { status: (await h.request('POST', '/repositories', { ...o, body })).status, expect: 400 };
    }
    // The in-memory agent has no repository view, forget preview or notification channels: the
    // handler's own refusal (404 / 409), not a 401, shows the login passed. Real agents answer
    // these in test/maintenance and test/notify.
    case 'GET /repositories':
      return { status: (await h.request('GET', '/repositories', o)).status, expect: 404 };
    case 'POST /jobs/:id/forget-preview': {
      const body = { retention: { keep_last: 2 } };
      return { status: (await h.request('POST', `/jobs/${job}/forget-preview`, { ...o, body })).status, expect: 404 };
    }
    case 'GET /notifications/channels':
      return { status: (await h.request('GET', '/notifications/channels', o)).status, expect: 409 };
    case 'POST /notifications/channels': {
      const body = { name: 'hook', kind: 'webhook', config: { url: 'http://127.0.0.1:9/hook' } };
      return { status: (await h.request('POST', '/notifications/channels', { ...o, body })).status, expect: 409 };
    }
    case 'POST /notifications/channels/:id/remove':
      return {
        status: (await h.request('POST', '/notifications/channels/hook/remove', { ...o, body: {} })).status,
        expect: 409,
      };
    case 'POST /notifications/channels/:id/test':
      return {
        status: (await h.request('POST', '/notifications/channels/hook/test', { ...o, body: {} })).status,
        expect: 409,
      };
    default:
      throw new Error(`no request written for ${route}: add one to this test`);
  }
}

const PUBLIC = new Set(['GET /health', 'GET /', 'GET /ui/:file', 'POST /login', 'POST /logout']);

async function login(password: string): Promise<{ status: number; cookie: string | null; setCookie: string }> {
  const r = await h.request('POST', '/login', { anonymous: true, body: { password } });
  const setCookie = String(r.headers['set-cookie'] ?? '');
  return { status: r.status, cookie: /^(rbackup2_session=[^;]+)/.exec(setCookie)?.[1] ?? null, setCookie };
}

beforeAll(async () => {
  hash = await hashPassword(PASSWORD);
  h = await startHarness({
    agent: { runMs: 3000 },
    server: {
      passwordHash: async () => hash,
      loginRateLimit: { max: 6, timeWindowSeconds: 60 },
      rateLimit: { max: 1000, timeWindowSeconds: 60 },
      extraRoutes: (app) => {
        app.get('/metrics', async (_req, reply) => reply.type('text/plain').send('# metrics\n'));
      },
    },
  });
  // one finished run for GET /runs/:id
  expect((await h.request('POST', `/jobs/${h.agent.jobs[0]!.id}/run`, { body: {} })).status).toBe(202);
  const job = h.agent.jobs[0]!.id;
  await waitFor(
    async () => !(await h.request('GET', '/status')).json.jobs.find((j: { id: string }) => j.id === job).running,
    10_000,
  );
});

afterAll(async () => {
  await h.close();
  for (const b of [...h.bodies, ...h.logs]) {
    expect(b).not.toContain(PASSWORD);
    expect(b).not.toContain(h.token);
  }
});

describe('C36 every route needs a login, on loopback too', () => {
  it('C36 each non-public route: 401 without credentials and with a wrong token; 2xx with the token and with a session', async () => {
    const s = await login(PASSWORD);
    expect(s.status).toBe(200);
    const routes = h.server
      .routes()
      .filter((r) => r.method !== 'HEAD')
      .map((r) => `${r.method} ${r.url}`);
    expect(routes.length).toBeGreaterThan(12);
    for (const route of routes.filter((r) => !PUBLIC.has(r))) {
      const none = await callRoute(route, { kind: 'none' });
      expect(none.status, `${route} without credentials`).toBe(401);
      expect((await callRoute(route, { kind: 'token', token: `${h.token}x` })).status, `${route} wrong token`).toBe(
        401,
      );
      const byToken = await callRoute(route, { kind: 'token', token: h.token });
      expect(byToken.status, `${route} with the token`).toBe(byToken.expect);
      const bySession = await callRoute(route, { kind: 'cookie', cookie: s.cookie ?? '' });
      expect(bySession.status, `${route} with a session`).toBe(bySession.expect);
    }
    // unknown URLs need the login too (a 404 would tell which routes exist)
    expect((await h.request('GET', '/nope', { anonymous: true })).status).toBe(401);
  }, 120_000);

  it('the public routes answer without credentials', async () => {
    expect((await h.request('GET', '/health', { anonymous: true })).text).toBe('OK');
    expect((await h.request('GET', '/', { anonymous: true })).status).toBe(200);
    expect((await h.request('GET', '/ui/app.js', { anonymous: true })).status).toBe(200);
    expect((await h.request('POST', '/logout', { anonymous: true, body: {} })).status).toBe(200);
  });
});

describe('sign-in', () => {
  it('a wrong password, a wrong token and an empty cookie get the same 401 (no hint which part was wrong)', async () => {
    const wrongPw = await h.request('POST', '/login', { anonymous: true, body: { password: 'nope' } });
    const wrongToken = await h.request('GET', '/status', {
      anonymous: true,
      headers: { authorization: 'Bearer 0123456789abcdef0123' },
    });
    const badCookie = await h.request('GET', '/status', {
      anonymous: true,
      headers: { cookie: 'rbackup2_session=forged' },
    });
    const nothing = await h.request('GET', '/status', { anonymous: true });
    for (const r of [wrongPw, wrongToken, badCookie, nothing]) {
      expect(r.status).toBe(401);
      expect(r.json).toEqual(nothing.json);
    }
    expect(h.logs.some((l) => l.includes('"msg":"login attempt"') && l.includes('"ok":false'))).toBe(true);
  });

  it('the session cookie is HttpOnly, SameSite=Strict, bounded; logout ends it', async () => {
    const s = await login(PASSWORD);
    expect(s.setCookie).toMatch(
      /^rbackup2_session=[A-Za-z0-9_-]{43}; HttpOnly; SameSite=Strict; Path=\/; Max-Age=43200$/,
    );
    expect((await h.request('GET', '/status', { anonymous: true, headers: { cookie: s.cookie ?? '' } })).status).toBe(
      200,
    );
    const out = await h.request('POST', '/logout', { anonymous: true, headers: { cookie: s.cookie ?? '' }, body: {} });
    expect(String(out.headers['set-cookie'])).toMatch(/Max-Age=0/);
    expect((await h.request('GET', '/status', { anonymous: true, headers: { cookie: s.cookie ?? '' } })).status).toBe(
      401,
    );
  });

  it('sessions expire after their lifetime and are capped in number', () => {
    let now = 1_000_000;
    const store = new SessionStore({ lifetimeSeconds: 60, maxSessions: 3, now: () => now });
    const first = store.create();
    expect(store.valid(first)).toBe(true);
    now += 59_000;
    expect(store.valid(first)).toBe(true);
    now += 2_000;
    expect(store.valid(first)).toBe(false);
    const ids = [store.create(), store.create(), store.create(), store.create()];
    expect(store.size).toBe(3);
    expect(store.valid(ids[0]!)).toBe(false);
    expect(store.valid(ids[3]!)).toBe(true);
  });

  it('the API token also signs in; a one-time link works once and redirects to /', async () => {
    expect((await login(h.token)).status).toBe(200);
    h.server.addLoginCode('one-time-code-0123456789', 60);
    const first = await h.request('GET', '/?token=one-time-code-0123456789', { anonymous: true });
    expect(first.status).toBe(303);
    expect(first.headers.location).toBe('/');
    const cookie = /^(rbackup2_session=[^;]+)/.exec(String(first.headers['set-cookie']))?.[1] ?? '';
    expect((await h.request('GET', '/status', { anonymous: true, headers: { cookie } })).status).toBe(200);
    const again = await h.request('GET', '/?token=one-time-code-0123456789', { anonymous: true });
    expect(again.status).toBe(200); // the login page, no session
    expect(again.headers['set-cookie']).toBeUndefined();
    expect(h.logs.some((l) => l.includes('one-time-code'))).toBe(false);
  });

  it('login attempts are rate-limited per address (429 after the limit)', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 8; i++)
      statuses.push((await h.request('POST', '/login', { anonymous: true, body: { password: `guess ${i}` } })).status);
    expect(statuses).toContain(429);
    expect(statuses.at(-1)).toBe(429);
    // even the right password is refused while limited
    expect((await login(PASSWORD)).status).toBe(429);
  });
});
