/**
 * Test harness for test/api: the real fastify server on 127.0.0.1:0 in front of startTestAgent(),
 * a small node:http client (it can send any Host/Origin header, which fetch cannot), and a record
 * of every response body and log line so a test file can assert that no secret ever left.
 */
import http from 'node:http';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { createApiServer, type ApiServer, type ApiServerOptions } from '../../src/api/server.js';
import { startTestAgent, type TestAgent, type TestAgentOptions } from '../helpers/fake-agent.js';

export interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
  json: any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

export interface Harness {
  agent: TestAgent;
  server: ApiServer;
  url: string;
  port: number;
  /** Every response body seen by this harness (client side) and every log line. */
  bodies: string[];
  logs: string[];
  /** The API token the server was started with; request() sends it unless `anonymous` or an own `authorization`. */
  token: string;
  request(
    method: string,
    path: string,
    opts?: { headers?: Record<string, string>; body?: unknown; rawBody?: string; anonymous?: boolean },
  ): Promise<Reply>;
  close(): Promise<void>;
}

/** The API token of a harness started without one. */
export const HARNESS_TOKEN = 'harness-token-0123456789abcdef';

/** Starts agent + server. `server` options override the defaults (bind 127.0.0.1:0). */
export async function startHarness(
  opts: { server?: Partial<ApiServerOptions>; agent?: TestAgentOptions } = {},
): Promise<Harness> {
  const agent = await startTestAgent(opts.agent);
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, cb) {
      if (logs.length < 10_000) logs.push(String(chunk));
      cb();
    },
  });
  const logger = pino({ level: 'debug' }, sink);
  const token = opts.server?.apiToken ?? HARNESS_TOKEN;
  const server = await createApiServer({
    port: agent.port,
    bind: '127.0.0.1:0',
    logger,
    ...opts.server,
    apiToken: token,
  });
  const url = await server.listen();
  const port = Number(new URL(url).port);
  const bodies: string[] = [];
  const request: Harness['request'] = (method, path, o = {}) =>
    new Promise((resolve, reject) => {
      const headers: Record<string, string> = {
        ...(o.anonymous ? {} : { authorization: `Bearer ${token}` }),
        ...o.headers,
      };
      let payload: string | undefined = o.rawBody;
      if (o.body !== undefined) {
        payload = JSON.stringify(o.body);
        headers['content-type'] ??= 'application/json';
      }
      if (payload !== undefined) headers['content-length'] = String(Buffer.byteLength(payload));
      const req = http.request({ host: '127.0.0.1', port, method, path, headers, agent: false }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          bodies.push(text);
          let json: unknown = undefined;
          try {
            json = JSON.parse(text);
          } catch {
            /* not JSON */
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
        });
      });
      req.on('error', reject);
      if (payload !== undefined) req.write(payload);
      req.end();
    });
  return {
    agent,
    server,
    url,
    port,
    bodies,
    logs,
    request,
    token,
    async close() {
      await server.close();
      await agent.close();
    },
  };
}

/** Polls `fn` every 25 ms until it returns a truthy value (at most `ms`). */
export async function waitFor<T>(fn: () => Promise<T> | T, ms = 5000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error('waitFor: timed out');
    await new Promise((r) => setTimeout(r, 25));
  }
}
