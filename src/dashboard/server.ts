/**
 * The fleet dashboard's web server (issue 19 points 1 and 5): the fleet read-only, and the
 * notification channels managed (list redacted, add, remove, send test), with the local UI's login
 * mechanism (src/api/auth: `POST /login` with the UI password (global `ui_password_hash`) or the
 * dashboard's API token, an HttpOnly session cookie, `GET /?token=`, `Authorization: Bearer`),
 * the same security headers, Host check, CSRF rules for state-changing requests (JSON only, same
 * Origin: src/api/security.ts checkStateChanging) and error bodies.
 *
 * Routes: `GET /` (the page), `GET /api/fleet?page=&per_page=&q=` (PageData), `GET /events`
 * (server-sent `changed` events when the fleet fingerprint moves; checked every `liveSeconds`),
 * `GET /health`, the local UI's channel routes over the admin's connection (`GET|POST
 * /notifications/channels`, `POST /notifications/channels/:id/test|remove`, checked as `rbackup2
 * notify add` checks: src/notify/channel-admin.ts), and `GET /ui/channels-panel.js` /
 * `GET /ui/dom.js`, the local UI's channel panel the page loads (src/ui/static).
 */
import type { AddressInfo } from 'node:net';
import Fastify, {
  LogController,
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
} from 'fastify';
import rateLimit from '@fastify/rate-limit';
import * as z from 'zod';
import { authRoutes, loginByLink, type AuthRouteOptions } from '../api/auth/auth-routes.js';
import { requireAuth } from '../api/auth/guard.js';
import { DEFAULT_SESSION_SECONDS, SessionStore } from '../api/auth/sessions.js';
import { toHttpError } from '../api/http-errors.js';
import { notificationRoutes } from '../api/routes-notifications.js';
import { defineRoute, registerRoutes } from '../api/route-table.js';
import { defaultStaticDir, loadUiFiles } from '../api/ui-routes.js';
import {
  assertSafeBind,
  checkStateChanging,
  hostAllowed,
  parseBind,
  redactUrl,
  SECURITY_HEADERS,
} from '../api/security.js';
import type { Queryable } from '../db/database.js';
import { fleetFingerprint } from '../db/queries/dashboard.js';
import { AppError } from '../errors.js';
import { ChannelAdmin } from '../notify/channel-admin.js';
import { DASHBOARD_CSS, DASHBOARD_HTML, DASHBOARD_JS } from './page.js';
import { PageDataSource } from './page-data.js';

export interface DashboardServerOptions {
  db: Queryable;
  bind: string;
  apiToken: string;
  logger: FastifyBaseLogger;
  passwordHash: () => Promise<string | null>;
  localZone: string;
  /** Seconds between fingerprint checks for live updates (default 5). */
  liveSeconds?: number;
  /** Open event streams at most (default 50). */
  maxStreams?: number;
  /** Who a channel's "send test" comes from (device_id / device_name of the test notification). */
  sender?: { id: string; name: string };
  /** The local UI's files (default: src/ui/static of the package); the page uses SHARED_UI_FILES. */
  staticDir?: string | null;
}

/** Files of the local UI the dashboard page loads: the notification channels panel and its helper. */
export const SHARED_UI_FILES = ['channels-panel.js', 'dom.js'] as const;

export interface DashboardServer {
  app: FastifyInstance;
  listen(): Promise<string>;
  close(): Promise<void>;
}

/** Build the server (not listening yet). Throws CONFIG_INVALID for a non-loopback bind without a token. */
export async function createDashboardServer(o: DashboardServerOptions): Promise<DashboardServer> {
  assertSafeBind(o.bind, o.apiToken);
  const bind = parseBind(o.bind);
  const sessions = new SessionStore({ lifetimeSeconds: DEFAULT_SESSION_SECONDS });
  const auth: AuthRouteOptions = {
    token: o.apiToken,
    sessions,
    sessionSeconds: DEFAULT_SESSION_SECONDS,
    passwordHash: o.passwordHash,
    loginRateLimit: { max: 10, timeWindowSeconds: 60 },
  };
  const source = new PageDataSource(o.db, o.localZone);
  const sender = o.sender ?? { id: 'dashboard', name: 'rbackup2 dashboard' };
  const channels = new ChannelAdmin({ db: o.db, sender: () => sender });
  const uiFiles = loadUiFiles(o.staticDir === undefined ? defaultStaticDir() : o.staticDir);
  const app = Fastify({
    loggerInstance: o.logger,
    logController: new LogController({ disableRequestLogging: true }),
    exposeHeadRoutes: false,
    forceCloseConnections: true,
    bodyLimit: 16 * 1024,
  });
  const port = () => (app.server.address() as AddressInfo | null)?.port ?? bind.port;
  const streams = new Set<FastifyReply>();

  app.addHook('onRequest', async (req: FastifyRequest) => {
    if (!hostAllowed(req.headers.host, port(), bind.host, []))
      throw new AppError(
        'FORBIDDEN',
        'Host header not allowed (DNS rebinding protection); use http://127.0.0.1 or http://localhost',
      );
    if (req.routeOptions.config?.publicRoute !== true) requireAuth(req, o.apiToken, sessions);
    checkStateChanging(req.method, req.headers['content-type'], req.headers.origin, req.headers.host);
  });
  app.addHook('onSend', async (_req, reply, payload) => {
    reply.headers(SECURITY_HEADERS);
    return payload;
  });
  app.setErrorHandler((err, req, reply) => {
    const { status, body, unexpected } = toHttpError(err);
    if (unexpected) req.log.error({ err, url: redactUrl(req.url) }, 'dashboard request failed');
    return reply.code(status).type('application/json; charset=utf-8').send(body);
  });
  app.setNotFoundHandler((req, reply) =>
    reply
      .code(404)
      .send({ error: { code: 'NOT_FOUND', message: `no route ${req.method} ${redactUrl(req.url).split('?')[0]}` } }),
  );
  await app.register(rateLimit, { global: false });

  registerRoutes(
    app,
    [
      ...authRoutes(auth),
      defineRoute({
        method: 'GET',
        url: '/',
        summary: 'The dashboard page (or the login form)',
        public: true,
        query: z.object({ token: z.string().max(1024).optional() }).passthrough(),
        responses: { 200: { description: 'HTML' } },
        handler: async ({ req, reply }) => {
          if (loginByLink(req, reply, auth)) return reply.redirect('/');
          return reply.type('text/html; charset=utf-8').send(DASHBOARD_HTML);
        },
      }),
      defineRoute({
        method: 'GET',
        url: '/dashboard.js',
        summary: 'The page script',
        public: true,
        responses: { 200: { description: 'JavaScript' } },
        handler: async ({ reply }) => reply.type('text/javascript; charset=utf-8').send(DASHBOARD_JS),
      }),
      defineRoute({
        method: 'GET',
        url: '/dashboard.css',
        summary: 'The page styles',
        public: true,
        responses: { 200: { description: 'CSS' } },
        handler: async ({ reply }) => reply.type('text/css; charset=utf-8').send(DASHBOARD_CSS),
      }),
      defineRoute({
        method: 'GET',
        url: '/ui/:file',
        summary: "The local UI's channel panel and its DOM helpers, loaded by the page",
        public: true,
        params: z.strictObject({ file: z.enum(SHARED_UI_FILES) }),
        responses: { 200: { description: 'JavaScript' }, 404: { description: 'not installed' } },
        handler: async ({ params, reply }) => {
          const f = uiFiles.get(params.file);
          if (!f) throw new AppError('NOT_FOUND', `the UI file ${params.file} is not installed`);
          return reply.type(f.type).send(f.body);
        },
      }),
      ...notificationRoutes(channels),
      defineRoute({
        method: 'GET',
        url: '/health',
        summary: 'OK while the dashboard runs',
        public: true,
        responses: { 200: { description: 'OK' } },
        handler: async ({ reply }) => reply.type('text/plain').send('OK'),
      }),
      defineRoute({
        method: 'GET',
        url: '/api/fleet',
        summary: 'A page of devices with their jobs, repositories and recent failures',
        query: z.strictObject({
          page: z.coerce.number().int().min(1).max(100_000).default(1),
          per_page: z.coerce.number().int().min(1).max(200).default(50),
          q: z.string().max(100).default(''),
        }),
        responses: { 200: { description: 'PageData' } },
        handler: async ({ query }) => source.load(query.page, query.per_page, query.q),
      }),
      defineRoute({
        method: 'GET',
        url: '/events',
        summary: 'Server-sent `changed` events when devices or runs change',
        responses: { 200: { description: 'event stream', contentType: 'text/event-stream' } },
        handler: async ({ req, reply }) => {
          if (streams.size >= (o.maxStreams ?? 50)) throw new AppError('CONFLICT', 'too many open event streams');
          reply.hijack();
          reply.raw.writeHead(200, {
            ...SECURITY_HEADERS,
            'content-type': 'text/event-stream',
            'cache-control': 'no-store',
            connection: 'keep-alive',
          });
          reply.raw.write(': rbackup2 dashboard\n\n');
          streams.add(reply);
          let last = '';
          const timer = setInterval(
            () => {
              fleetFingerprint(o.db).then(
                (f) => {
                  if (f !== last)
                    reply.raw.write(`event: changed\ndata: ${JSON.stringify({ at: new Date().toISOString() })}\n\n`);
                  else reply.raw.write(': heartbeat\n\n');
                  last = f;
                },
                () => reply.raw.write(': database unavailable\n\n'),
              );
            },
            (o.liveSeconds ?? 5) * 1000,
          );
          req.raw.on('close', () => {
            clearInterval(timer);
            streams.delete(reply);
          });
        },
      }),
    ],
    { rateLimit: { max: 120, timeWindow: 60_000 } },
  );

  return {
    app,
    async listen() {
      await app.listen({ host: bind.host, port: bind.port });
      return `http://${bind.host.includes(':') ? `[${bind.host}]` : bind.host}:${port()}`;
    },
    async close() {
      for (const s of streams) s.raw.end();
      await app.close();
    },
  };
}
