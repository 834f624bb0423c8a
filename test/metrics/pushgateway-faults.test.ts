import http from 'node:http';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { Clock } from '../../src/clock.js';
import { PushgatewayPusher, type PushLogger } from '../../src/metrics/pushgateway.js';
import { freePort, startPushgateway, type RunningGateway } from './pushgateway-process.js';

interface Line {
  level: 'warn' | 'info' | 'debug';
  obj: object;
  msg: string;
}

function capturingLogger(): PushLogger & { lines: Line[]; text(): string } {
  const lines: Line[] = [];
  const at = (level: Line['level']) => (obj: object, msg: string) => void lines.push({ level, obj, msg });
  return { lines, warn: at('warn'), info: at('info'), debug: at('debug'), text: () => JSON.stringify(lines) };
}

interface Seen {
  method: string;
  url: string;
  contentType: string | undefined;
  authorization: string | undefined;
  body: string;
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

/** A tiny gateway stand-in answering every request with `status`. */
async function replying(status: number, body = ''): Promise<{ url: string; seen: Seen[] }> {
  const seen: Seen[] = [];
  const srv = http.createServer((req, res) => {
    let b = '';
    req.on('data', (d: Buffer) => (b += d.toString()));
    req.on('end', () => {
      seen.push({
        method: req.method!,
        url: req.url!,
        contentType: req.headers['content-type'],
        authorization: req.headers.authorization,
        body: b,
      });
      res.writeHead(status).end(status === 204 ? undefined : body);
    });
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  cleanups.push(() => new Promise<void>((r) => srv.close(() => r())));
  return { url: `http://127.0.0.1:${(srv.address() as net.AddressInfo).port}`, seen };
}

/**
 * Accepts connections and never answers (a hung gateway or a black-holing proxy). `requests()`
 * counts connections that sent a request (undici may open an idle spare connection).
 */
async function silentListener(): Promise<{ url: string; requests: () => number }> {
  const sockets = new Set<net.Socket>();
  let count = 0;
  const srv = net.createServer((s) => {
    s.once('data', () => count++);
    sockets.add(s);
    s.on('error', () => {});
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  cleanups.push(() => {
    for (const s of sockets) s.destroy();
    return new Promise<void>((r) => srv.close(() => r()));
  });
  return { url: `http://127.0.0.1:${(srv.address() as net.AddressInfo).port}`, requests: () => count };
}

const BODY =
  '# TYPE backup_runs_total counter\nbackup_runs_total{device="ws-1",job_id="j",job_name="J",status="success"} 1\n';

describe('Pushgateway pusher faults', () => {
  for (const status of [200, 202, 204]) {
    it(`C16 a ${status} answer counts as success`, async () => {
      const gw = await replying(status, 'ok');
      const log = capturingLogger();
      const p = new PushgatewayPusher({ url: gw.url, deviceId: 'ws-1', logger: log, getBody: async () => BODY });
      expect(await p.pushAndWait()).toBe(true);
      expect(p.state()).toMatchObject({ consecutiveFailures: 0, lastError: null });
      expect(gw.seen).toHaveLength(1);
      expect(gw.seen[0]).toMatchObject({ method: 'PUT', url: '/metrics/job/rbackup2/device/ws-1', body: BODY });
      expect(gw.seen[0]!.contentType).toContain('version=0.0.4');
      expect(log.lines.filter((l) => l.level === 'warn')).toEqual([]);
    });
  }

  it("C16 a 400 answer is a failure whose reason (the gateway's text) is logged", async () => {
    const gw = await replying(400, 'pushed metrics are invalid or inconsistent');
    const log = capturingLogger();
    const p = new PushgatewayPusher({ url: gw.url, deviceId: 'ws-1', logger: log, getBody: async () => BODY });
    expect(await p.pushAndWait()).toBe(false);
    expect(p.state().lastError).toBe('HTTP 400: pushed metrics are invalid or inconsistent');
    expect(log.lines.filter((l) => l.level === 'warn')).toHaveLength(1);
  });

  it('C16 a gateway that never answers: the push gives up after the timeout and pushSoon() never waits', async () => {
    const gw = await silentListener();
    const log = capturingLogger();
    let bodies = 0;
    const p = new PushgatewayPusher({
      url: gw.url,
      deviceId: 'ws-1',
      timeoutSeconds: 1,
      logger: log,
      getBody: async () => (bodies++, BODY),
    });
    const t0 = performance.now();
    p.pushSoon(); // a backup finishing calls this and moves on
    // "Never waits": far below the 1 s time-out a waiting call would show (a loaded machine's GC
    // pause or preemption can take tens of ms)
    expect(performance.now() - t0).toBeLessThan(250);
    expect(bodies).toBe(0); // nothing ran on the caller's stack
    await expect.poll(() => gw.requests(), { timeout: 900 }).toBe(1); // that push is now hanging
    for (let i = 0; i < 4; i++) {
      const t = performance.now();
      p.pushSoon(); // more runs finish meanwhile: never delayed
      expect(performance.now() - t).toBeLessThan(250);
    }
    await p.flush();
    const elapsed = performance.now() - t0;
    // one push in flight + one pending (the other calls coalesced), each bounded by the timeout
    expect(gw.requests()).toBe(2);
    expect(bodies).toBe(2);
    expect(elapsed).toBeGreaterThanOrEqual(1900);
    expect(elapsed).toBeLessThan(2 * 1000 + 1000);
    expect(p.state()).toMatchObject({ consecutiveFailures: 2, lastError: 'no answer within 1 s' });
    expect(log.lines.map((l) => l.level)).toEqual(['warn', 'debug']);
  });

  it('C16 a single hung push is bounded by timeout + 1 s', async () => {
    const gw = await silentListener();
    const p = new PushgatewayPusher({
      url: gw.url,
      deviceId: 'ws-1',
      timeoutSeconds: 1.5,
      logger: capturingLogger(),
      getBody: async () => BODY,
    });
    const t0 = performance.now();
    expect(await p.pushAndWait()).toBe(false);
    const elapsed = performance.now() - t0;
    expect(elapsed).toBeGreaterThanOrEqual(1400);
    expect(elapsed).toBeLessThan(1500 + 1000);
  });

  it('C16 stop() aborts a hung push after its grace period', async () => {
    const gw = await silentListener();
    const p = new PushgatewayPusher({
      url: gw.url,
      deviceId: 'ws-1',
      timeoutSeconds: 30,
      logger: capturingLogger(),
      getBody: async () => BODY,
    });
    p.pushSoon();
    await expect.poll(() => gw.requests(), { timeout: 5000 }).toBe(1);
    const t0 = performance.now();
    await p.stop(0.2);
    expect(performance.now() - t0).toBeLessThan(1000);
    expect(p.state().lastError).toBe('aborted: pusher stopped');
    p.pushSoon(); // stopped: ignored
    await p.flush();
    expect(gw.requests()).toBe(1);
  });

  it('C16 gateway not running: the failure is logged once per outage, recovery once, a new outage warns again', async () => {
    const port = await freePort();
    const log = capturingLogger();
    const p = new PushgatewayPusher({
      url: `http://127.0.0.1:${port}`,
      deviceId: 'ws-1',
      timeoutSeconds: 2,
      logger: log,
      getBody: async () => BODY,
    });
    for (let i = 0; i < 4; i++) expect(await p.pushAndWait()).toBe(false);
    expect(log.lines.map((l) => l.level)).toEqual(['warn', 'debug', 'debug', 'debug']);
    expect(p.state().lastError).toContain('ECONNREFUSED');

    let gw: RunningGateway | null = await startPushgateway(port);
    cleanups.push(async () => gw?.stop());
    expect(await p.pushAndWait()).toBe(true);
    expect(await p.pushAndWait()).toBe(true);
    const infos = log.lines.filter((l) => l.level === 'info');
    expect(infos).toHaveLength(1);
    expect(infos[0]!.msg).toContain('recovered');
    expect(infos[0]!.obj).toMatchObject({ failedAttempts: 4 });
    expect(p.state()).toMatchObject({ consecutiveFailures: 0, lastError: null });

    await gw.stop();
    gw = null;
    for (let i = 0; i < 3; i++) expect(await p.pushAndWait()).toBe(false);
    expect(log.lines.filter((l) => l.level === 'warn')).toHaveLength(2);
    expect(log.lines.map((l) => l.level).slice(-3)).toEqual(['warn', 'debug', 'debug']);
  });

  it('credentials in the URL become a Basic header and never reach a log line', async () => {
    const gw = await replying(401, 'unauthorized');
    const log = capturingLogger();
    const url = gw.url.replace('http://', 'http://backup:pa%24%24%20w0rd@');
    const p = new PushgatewayPusher({ url, deviceId: 'ws-1', logger: log, getBody: async () => BODY });
    expect(await p.pushAndWait()).toBe(false);
    expect(gw.seen[0]!.authorization).toBe(`Basic ${Buffer.from('backup:pa$$ w0rd').toString('base64')}`);
    expect(p.groupUrl).not.toContain('w0rd');
    expect(log.text()).not.toContain('w0rd');
    expect(log.text()).toContain('HTTP 401');
  });

  it('a failing getBody is a logged failure, not a crash', async () => {
    const gw = await replying(200);
    const log = capturingLogger();
    const p = new PushgatewayPusher({
      url: gw.url,
      deviceId: 'ws-1',
      logger: log,
      getBody: async () => {
        throw new Error('collect failed');
      },
    });
    expect(await p.pushAndWait()).toBe(false);
    expect(gw.seen).toHaveLength(0);
    expect(p.state().lastError).toContain('collect failed');
  });

  it('a getBody that never resolves is bounded by the timeout and later pushes still run', async () => {
    const gw = await replying(200);
    let calls = 0;
    const p = new PushgatewayPusher({
      url: gw.url,
      deviceId: 'ws-1',
      timeoutSeconds: 0.3,
      logger: capturingLogger(),
      getBody: () => (++calls === 1 ? new Promise<string>(() => {}) : Promise.resolve(BODY)),
    });
    expect(await p.pushAndWait()).toBe(false);
    expect(p.state().lastError).toContain('no body within 0.3 s');
    expect(await p.pushAndWait()).toBe(true);
    expect(gw.seen).toHaveLength(1);
  });

  it('start() pushes at once and then every interval on the injected clock; stop() ends it', async () => {
    const gw = await replying(200);
    const timers: { fn: () => void; ms: number; cancelled: boolean; fired: boolean }[] = [];
    const clock: Clock = {
      now: () => 0,
      monotonic: () => 0,
      setTimer(fn, ms) {
        const t = { fn: () => void ((t.fired = true), fn()), ms, cancelled: false, fired: false };
        timers.push(t);
        return () => void (t.cancelled = true);
      },
    };
    const p = new PushgatewayPusher({
      url: gw.url,
      deviceId: 'ws-1',
      intervalSeconds: 30,
      logger: capturingLogger(),
      getBody: async () => BODY,
      clock,
    });
    p.start();
    p.start(); // idempotent
    await p.flush();
    expect(gw.seen).toHaveLength(1);
    // the interval timer (body-read bounds of 5 s are set and cancelled around each push)
    const interval = () => timers.filter((t) => t.ms === 30_000);
    expect(timers.filter((t) => !t.cancelled && !t.fired).map((t) => t.ms)).toEqual([30_000]);
    interval().at(-1)!.fn();
    await p.flush();
    expect(gw.seen).toHaveLength(2);
    await p.stop();
    expect(interval()).toHaveLength(2);
    expect(timers.every((t) => t.fired || t.cancelled)).toBe(true); // no live timer left
  });

  it('a bad URL is a CONFIG_INVALID error naming the setting', () => {
    expect(
      () =>
        new PushgatewayPusher({ url: 'ftp://x', deviceId: 'd', logger: capturingLogger(), getBody: async () => '' }),
    ).toThrow(/metrics\.prometheus_pushgateway/);
  });
});
