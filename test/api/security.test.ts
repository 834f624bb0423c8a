import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { startHarness, type Harness } from './harness.js';
import { createApiServer } from '../../src/api/server.js';
import { startTestAgent } from '../helpers/fake-agent.js';
import { isAppError } from '../../src/errors.js';
import { hostAllowed, tokenMatches } from '../../src/api/security.js';

let h: Harness;
let t: Harness;
const TOKEN = 'test-token-0123456789abcdef';

beforeAll(async () => {
  h = await startHarness({ server: { bodyLimitBytes: 4096, rateLimit: { max: 5, timeWindowSeconds: 60 } } });
  t = await startHarness({ server: { apiToken: TOKEN } });
});

afterAll(async () => {
  await h.close();
  await t.close();
  for (const b of [...h.bodies, ...h.logs, ...t.bodies, ...t.logs]) {
    expect(b).not.toContain(h.agent.repositoryPassword);
    expect(b).not.toContain(TOKEN);
  }
});

describe('DNS rebinding and CSRF', () => {
  it('refuses a foreign Host with 403 and accepts the loopback names with our port', async () => {
    const evil = await h.request('GET', '/status', { headers: { host: `evil.example:${h.port}` } });
    expect(evil.status).toBe(403);
    expect(evil.json.error.code).toBe('FORBIDDEN');
    expect((await h.request('GET', '/', { headers: { host: 'evil.example' } })).status).toBe(403);
    expect((await h.request('GET', '/status', { headers: { host: `127.0.0.1:${h.port + 1}` } })).status).toBe(403);
    for (const host of [`localhost:${h.port}`, `127.0.0.1:${h.port}`, `[::1]:${h.port}`]) {
      expect((await h.request('GET', '/status', { headers: { host } })).status, host).toBe(200);
    }
  });

  it('refuses a cross-origin POST (403) and accepts a same-origin one', async () => {
    const job = h.agent.jobs[0]!.id;
    const cross = await h.request('POST', '/config', { headers: { origin: 'http://evil.example' }, body: {} });
    expect(cross.status).toBe(403);
    const nullOrigin = await h.request('POST', `/jobs/${job}/run`, { headers: { origin: 'null' }, body: {} });
    expect(nullOrigin.status).toBe(403);
    const same = await h.request('POST', '/config', { headers: { origin: `http://127.0.0.1:${h.port}` }, body: {} });
    expect(same.status).toBe(200);
  });

  it('refuses state-changing requests that are not application/json (415)', async () => {
    const job = h.agent.jobs[0]!.id;
    const form = await h.request('POST', `/jobs/${job}/run`, {
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      rawBody: 'a=1',
    });
    expect(form.status).toBe(415);
    expect(form.json.error.code).toBe('UNSUPPORTED_MEDIA_TYPE');
    expect(
      (await h.request('POST', `/jobs/${job}/run`, { headers: { 'content-type': 'text/plain' }, rawBody: '{}' }))
        .status,
    ).toBe(415);
    expect((await h.request('POST', `/jobs/${job}/run`)).status).toBe(415);
    const status = await h.request('GET', '/status');
    expect(status.json.jobs.find((j: { id: string }) => j.id === job).running).toBe(false);
  });

  it('refuses a body over the limit with 413', async () => {
    const big = { settings: { note: 'x'.repeat(5000) } };
    const r = await h.request('POST', '/config', { body: big });
    expect(r.status).toBe(413);
    expect(r.json.error.code).toBe('PAYLOAD_TOO_LARGE');
  });

  it('rate-limits state-changing routes (429) but not reads', async () => {
    let last = 0;
    for (let i = 0; i < 8; i += 1) last = (await h.request('POST', '/config', { body: {} })).status;
    expect(last).toBe(429);
    const r = await h.request('POST', '/config', { body: {} });
    expect(r.json.error.code).toBe('RATE_LIMITED');
    for (let i = 0; i < 10; i += 1) expect((await h.request('GET', '/status')).status).toBe(200);
  });

  it('sends the security headers on every response, errors included', async () => {
    for (const r of [
      await h.request('GET', '/'),
      await h.request('GET', '/status'),
      await h.request('GET', '/nope'),
      await h.request('GET', '/x', { headers: { host: 'evil.example' } }),
    ]) {
      expect(r.headers['content-security-policy']).toMatch(/default-src 'self'/);
      expect(r.headers['content-security-policy']).toMatch(/frame-ancestors 'none'/);
      expect(r.headers['content-security-policy']).not.toMatch(/unsafe-inline|unsafe-eval/);
      expect(r.headers['x-content-type-options']).toBe('nosniff');
      expect(r.headers['referrer-policy']).toBe('no-referrer');
      expect(r.headers['x-frame-options']).toBe('DENY');
    }
  });

  it('logs each request', () => {
    expect(h.logs.some((l) => l.includes('"msg":"request"') && l.includes('/status'))).toBe(true);
  });
});

describe('API token', () => {
  it('requires Authorization: Bearer on API routes (401), not on the UI shell and /health', async () => {
    expect((await t.request('GET', '/status', { anonymous: true })).status).toBe(401);
    expect(
      (await t.request('GET', '/status', { headers: { authorization: 'Bearer wrong-token-0123456789' } })).status,
    ).toBe(401);
    expect((await t.request('GET', '/status', { headers: { authorization: TOKEN } })).status).toBe(401);
    const ok = await t.request('GET', '/status', { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(ok.status).toBe(200);
    expect((await t.request('POST', `/jobs/${t.agent.jobs[0]!.id}/run`, { body: {}, anonymous: true })).status).toBe(
      401,
    );
    expect((await t.request('GET', '/health', { anonymous: true })).status).toBe(200);
    expect((await t.request('GET', '/', { anonymous: true })).status).toBe(200);
    expect((await t.request('GET', '/ui/app.js', { anonymous: true })).status).toBe(200);
  });

  it('accepts ?token= only on /events, and never logs it', async () => {
    expect((await t.request('GET', `/status?token=${TOKEN}`, { anonymous: true })).status).toBe(401);
    expect((await t.request('GET', '/events?token=wrong', { anonymous: true })).status).toBe(401);
    expect(t.logs.some((l) => l.includes('token=[redacted]'))).toBe(true);
  });

  it('compares tokens exactly', () => {
    expect(tokenMatches(TOKEN, TOKEN)).toBe(true);
    expect(tokenMatches(TOKEN.slice(0, -1), TOKEN)).toBe(false);
    expect(tokenMatches('', TOKEN)).toBe(false);
  });

  it('refuses to start without a token of 16 characters or more, on any bind (CONFIG_INVALID naming client.api_token)', async () => {
    const agent = await startTestAgent();
    const logger = pino({ level: 'silent' });
    for (const bind of ['127.0.0.1:1201', '0.0.0.0:1201', '192.168.1.10:1201', '[::]:1201']) {
      const err = await createApiServer({ port: agent.port, bind, logger, apiToken: 'short' }).catch((e: unknown) => e);
      expect(isAppError(err, 'CONFIG_INVALID'), bind).toBe(true);
      expect((err as Error).message).toContain('client.api_token');
    }
    const ok = await createApiServer({ port: agent.port, bind: '0.0.0.0:0', apiToken: TOKEN, logger });
    await ok.app.close();
    await agent.close();
  });

  it('host check: wildcard binds accept IP literals, never DNS names not configured', () => {
    expect(hostAllowed('192.168.1.10:1201', 1201, '0.0.0.0', [])).toBe(true);
    expect(hostAllowed('evil.example:1201', 1201, '0.0.0.0', [])).toBe(false);
    expect(hostAllowed('nas.lan:1201', 1201, '0.0.0.0', ['nas.lan'])).toBe(true);
    expect(hostAllowed('192.168.1.10:1201', 1201, '127.0.0.1', [])).toBe(false);
    expect(hostAllowed(undefined, 1201, '127.0.0.1', [])).toBe(false);
  });
});
