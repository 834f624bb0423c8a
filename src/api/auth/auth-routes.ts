/**
 * Login and logout of the web UI (issue 15): `POST /login {password}` checks the UI password
 * (setting `ui_password_hash`, scrypt) or the API token, rate-limited per client address and
 * logged; `POST /logout` ends the session; `GET /?token=CODE` (the quick start's one-time link,
 * or the API token) starts a session and redirects to `/` so the code leaves the address bar.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import * as z from 'zod';
import { defineRoute, type RouteDef } from '../route-table.js';
import { tokenMatches } from '../security.js';
import { unauthorized } from './guard.js';
import { verifyPassword } from './password-hash.js';
import { clearedSessionCookie, readCookie, SESSION_COOKIE, sessionCookie, type SessionStore } from './sessions.js';

export interface AuthRouteOptions {
  token: string;
  sessions: SessionStore;
  sessionSeconds: number;
  /** The stored `ui_password_hash` (effective for this device), or null when none is set. */
  passwordHash(): Promise<string | null>;
  /** Login attempts per client address and window (default 10 per 60 s). */
  loginRateLimit: { max: number; timeWindowSeconds: number };
}

/** Starts a session: sets the cookie on `reply`. */
export function startSession(reply: FastifyReply, o: AuthRouteOptions): void {
  reply.header('set-cookie', sessionCookie(o.sessions.create(), o.sessionSeconds));
}

/** GET /?token=: true when the request carried a valid one-time code or the API token (a session was started). */
export function loginByLink(req: FastifyRequest, reply: FastifyReply, o: AuthRouteOptions): boolean {
  const code = (req.query as Record<string, unknown> | undefined)?.token;
  if (typeof code !== 'string' || code.length === 0 || code.length > 512) return false;
  const ok = o.sessions.useLoginCode(code) || tokenMatches(code, o.token);
  req.log.info({ ip: req.ip, ok, via: 'link' }, 'login attempt');
  if (ok) startSession(reply, o);
  return ok;
}

/** POST /login and POST /logout. */
export function authRoutes(o: AuthRouteOptions): RouteDef[] {
  return [
    defineRoute({
      method: 'POST',
      url: '/login',
      summary: 'Sign in with the UI password (or the API token); sets an HttpOnly session cookie',
      body: z.strictObject({ password: z.string().min(1).max(1024) }),
      public: true,
      rateLimited: true,
      rateLimit: o.loginRateLimit,
      responses: {
        200: { description: '{ok: true, expiresInSeconds}' },
        401: { description: 'wrong password (no hint which part)' },
        429: { description: 'too many attempts' },
      },
      handler: async ({ body, req, reply }) => {
        const ok =
          tokenMatches(body.password, o.token) || (await verifyPassword(body.password, await o.passwordHash()));
        req.log.info({ ip: req.ip, ok, via: 'password' }, 'login attempt');
        if (!ok) throw unauthorized();
        startSession(reply, o);
        return { ok: true, expiresInSeconds: o.sessionSeconds };
      },
    }),
    defineRoute({
      method: 'POST',
      url: '/logout',
      summary: 'End this browser session',
      public: true,
      body: z.union([z.strictObject({}), z.undefined()]),
      responses: { 200: { description: '{ok: true}' } },
      handler: async ({ req, reply }) => {
        o.sessions.end(readCookie(req.headers.cookie, SESSION_COOKIE));
        reply.header('set-cookie', clearedSessionCookie());
        return { ok: true };
      },
    }),
  ];
}
