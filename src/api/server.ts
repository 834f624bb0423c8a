/**
 * The HTTP server of the local API and web UI (CONTRACTS §5, doc/api.md): fastify 5 with request
 * logging, JSON errors from one mapping (src/api/http-errors.ts), a body size limit, a rate limit
 * on state-changing routes, the security rules of src/api/security.ts, the login of src/api/auth/
 * (every route but /health, the login page and login/logout needs a session or the API token, on
 * loopback too), SSE on /events and an OpenAPI document built from the route table.
 */
import Fastify, {
  LogController,
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
} from 'fastify';
import rateLimit from '@fastify/rate-limit';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import * as z from 'zod';
import { AppError } from '../errors.js';
import type { AgentPort } from './agent-port.js';
import { ApiError, toHttpError } from './http-errors.js';
import { buildOpenApi, type ExtraRouteDoc } from './openapi.js';
import { defineRoute, registerRoutes, type RouteDef } from './route-table.js';
import { readRoutes } from './routes-read.js';
import { writeRoutes } from './routes-write.js';
import type { RestorePort } from './restore-port.js';
import { restoreRoutes } from './routes-restore.js';
import { notificationRoutes } from './routes-notifications.js';
import { assertSafeBind, checkStateChanging, hostAllowed, parseBind, redactUrl, SECURITY_HEADERS } from './security.js';
import { authRoutes, loginByLink, type AuthRouteOptions } from './auth/auth-routes.js';
import { requireAuth } from './auth/guard.js';
import { DEFAULT_SESSION_SECONDS, SessionStore } from './auth/sessions.js';
import { createSseHub, DEFAULT_SSE, type SseOptions } from './sse.js';
import { defaultStaticDir, loadUiFiles, uiRoutes } from './ui-routes.js';

export interface ApiServerOptions {
  port: AgentPort;
  /** Snapshots, browse, download and restores (issue 17); absent = those routes are not served. */
  restore?: RestorePort;
  /** client.http_bind, `HOST:PORT` (port 0 = any free port, for tests). */
  bind: string;
  /** The API token (client.api_token, else `<data_dir>/api-token`); every non-public route needs it or a session. */
  apiToken: string;
  /** The effective `ui_password_hash` setting, read at each login attempt; null = none set. */
  passwordHash?: () => Promise<string | null>;
  /** Session lifetime in seconds (default 12 h). */
  sessionSeconds?: number;
  /** Login attempts per client address (default 10 per 60 s). */
  loginRateLimit?: { max: number; timeWindowSeconds: number };
  logger: Logger;
  /** Folder of the UI files; default src/ui/static of the package; null = no UI. */
  staticDir?: string | null;
  /** Registers routes added by other modules (GET /metrics); they are listed in /openapi.json. */
  extraRoutes?: (app: FastifyInstance) => void;
  /** Extra host names (no port) accepted in `Host`, e.g. the machine's name for a LAN bind. */
  allowedHosts?: string[];
  /** Largest request body in bytes (default 256 KiB). */
  bodyLimitBytes?: number;
  /** Rate limit of state-changing routes per client address (default 60 per 60 s). */
  rateLimit?: { max: number; timeWindowSeconds: number };
  sse?: Partial<SseOptions>;
  /** Shown in /openapi.json. */
  version?: string;
}

export interface ApiServer {
  app: FastifyInstance;
  /** Starts listening on `bind`; resolves with the base URL, e.g. `http://127.0.0.1:1201`. */
  listen(): Promise<string>;
  /** Ends event streams and closes the server. */
  close(): Promise<void>;
  /** Every registered route (method, fastify url), for the OpenAPI completeness test. */
  routes(): { method: string; url: string }[];
  /** Open SSE streams now. */
  openStreams(): number;
  /** Adds a one-time login code for `GET /?token=CODE`, valid for `seconds` (the quick start's link). */
  addLoginCode(code: string, seconds: number): void;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    publicRoute?: boolean;
    summary?: string;
  }
}

/**
 * Builds (does not start) the API server. Throws AppError CONFIG_INVALID naming client.api_token
 * on a non-loopback bind without a token, or client.http_bind when it is not HOST:PORT.
 */
export async function createApiServer(opts: ApiServerOptions): Promise<ApiServer> {
  assertSafeBind(opts.bind, opts.apiToken);
  const bind = parseBind(opts.bind);
  if (!opts.apiToken || opts.apiToken.length < 16)
    throw new AppError('CONFIG_INVALID', 'client.api_token: the API token must be at least 16 characters');
  const token = opts.apiToken;
  const sessionSeconds = opts.sessionSeconds ?? DEFAULT_SESSION_SECONDS;
  const sessions = new SessionStore({ lifetimeSeconds: sessionSeconds });
  const auth: AuthRouteOptions = {
    token,
    sessions,
    sessionSeconds,
    passwordHash: opts.passwordHash ?? (async () => null),
    loginRateLimit: opts.loginRateLimit ?? { max: 10, timeWindowSeconds: 60 },
  };
  const extraHosts = (opts.allowedHosts ?? []).map((h) => h.toLowerCase());
  const app = Fastify({
    loggerInstance: opts.logger as FastifyBaseLogger,
    // fastify's own request lines would log query strings (?token=); we log in onResponse instead.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: opts.bodyLimitBytes ?? 256 * 1024,
    exposeHeadRoutes: false,
    return503OnClosing: true,
    forceCloseConnections: true,
  });
  const hub = createSseHub(opts.port.events, { ...DEFAULT_SSE, ...opts.sse }, SECURITY_HEADERS);
  const listeningPort = (): number => (app.server.address() as AddressInfo | null)?.port ?? bind.port;

  // application/json with an empty body is allowed (POST /jobs/{id}/run needs no body).
  const defaultJson = app.getDefaultJsonParser('error', 'error');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (req, body, done) => {
    const text = typeof body === 'string' ? body : body.toString('utf8');
    if (text.trim() === '') return done(null, undefined);
    return defaultJson(req, text, done);
  });

  app.addHook('onRequest', async (req: FastifyRequest) => {
    if (!hostAllowed(req.headers.host, listeningPort(), bind.host, extraHosts)) {
      throw new AppError(
        'FORBIDDEN',
        'Host header not allowed (DNS rebinding protection); use http://127.0.0.1 or http://localhost',
      );
    }
    // Unknown URLs (404) need a login too, so the 404 says nothing about which routes exist.
    if (req.routeOptions.config?.publicRoute !== true) requireAuth(req, token, sessions);
    checkStateChanging(req.method, req.headers['content-type'], req.headers.origin, req.headers.host);
  });
  app.addHook('onSend', async (_req, reply, payload) => {
    reply.headers(SECURITY_HEADERS);
    return payload;
  });
  app.addHook('onResponse', async (req: FastifyRequest, reply: FastifyReply) => {
    const quiet = req.method === 'GET' && reply.statusCode < 400;
    req.log[quiet ? 'debug' : 'info'](
      { method: req.method, url: redactUrl(req.url), statusCode: reply.statusCode, ms: Math.round(reply.elapsedTime) },
      'request',
    );
  });
  app.setErrorHandler((err, req, reply) => {
    const { status, body, unexpected } = toHttpError(err);
    if (unexpected) req.log.error({ err, url: redactUrl(req.url) }, 'request failed');
    return reply.code(status).type('application/json; charset=utf-8').send(body);
  });
  app.setNotFoundHandler((req, reply) => {
    return reply
      .code(404)
      .send({ error: { code: 'NOT_FOUND', message: `no route ${req.method} ${redactUrl(req.url).split('?')[0]}` } });
  });
  app.addHook('preClose', async () => hub.closeAll());

  await app.register(rateLimit, {
    global: false,
    errorResponseBuilder: (_req, ctx) => new ApiError('RATE_LIMITED', `too many requests; retry in ${ctx.after}`),
  });

  let openApi: Record<string, unknown> | null = null;
  const table: RouteDef[] = [
    ...uiRoutes(loadUiFiles(opts.staticDir === undefined ? defaultStaticDir() : opts.staticDir), (req, reply) =>
      loginByLink(req, reply, auth),
    ),
    ...authRoutes(auth),
    ...readRoutes(opts.port),
    ...writeRoutes(opts.port),
    ...(opts.restore ? restoreRoutes(opts.restore) : []),
    ...notificationRoutes(opts.port.channels),
    defineRoute({
      method: 'GET',
      url: '/events',
      summary: 'Server-sent events: run.started, run.progress, run.finished, config.reloaded; heartbeat every 15 s',
      query: z.strictObject({ token: z.string().max(1024).optional() }),
      responses: {
        200: { description: 'event stream', contentType: 'text/event-stream' },
        503: { description: 'too many open streams' },
      },
      handler: async ({ req, reply }) => hub.handle(req, reply),
    }),
    defineRoute({
      method: 'GET',
      url: '/openapi.json',
      summary: 'This OpenAPI description',
      responses: { 200: { description: 'OpenAPI 3.1 document' } },
      handler: async () => (openApi ??= buildOpenApi(table, extraDocs, opts.version ?? '0.0.0')),
    }),
  ];
  const tableKeys = new Set(table.map((r) => `${r.method} ${r.url}`));
  const extraDocs: ExtraRouteDoc[] = [];
  const registered: { method: string; url: string }[] = [];
  app.addHook('onRoute', (r) => {
    for (const method of Array.isArray(r.method) ? r.method : [r.method]) {
      registered.push({ method, url: r.url ?? r.path });
      if (method === 'HEAD' || tableKeys.has(`${method} ${r.url}`)) continue;
      extraDocs.push({ method, url: r.url ?? r.path, summary: r.config?.summary ?? `${method} ${r.url}` });
    }
  });
  registerRoutes(app, table, {
    rateLimit: { max: opts.rateLimit?.max ?? 60, timeWindow: (opts.rateLimit?.timeWindowSeconds ?? 60) * 1000 },
  });
  opts.extraRoutes?.(app);

  return {
    app,
    async listen() {
      await app.listen({ host: bind.host, port: bind.port });
      const host = bind.host.includes(':') ? `[${bind.host}]` : bind.host;
      return `http://${host}:${listeningPort()}`;
    },
    async close() {
      hub.closeAll();
      await app.close();
    },
    routes: () => registered.map((r) => ({ ...r })),
    openStreams: () => hub.openCount(),
    addLoginCode: (code, seconds) => sessions.addLoginCode(code, seconds),
  };
}
