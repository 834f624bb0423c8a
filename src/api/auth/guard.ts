/**
 * Who may use a route (issue 15, CONTRACTS §8 HTTP): every route but the public ones (GET /health,
 * the login page and its files, POST /login, POST /logout) needs either the agent's API token as
 * `Authorization: Bearer <token>` (also `?token=` on /events, which EventSource cannot send
 * headers to) or a live session cookie. A refusal is one 401 that never says which part was wrong.
 */
import type { FastifyRequest } from 'fastify';
import { AppError } from '../../errors.js';
import { bearerToken, tokenMatches } from '../security.js';
import { readCookie, SESSION_COOKIE, type SessionStore } from './sessions.js';

/** The one refusal of the guard (no hint whether a token, a password or a session was wrong). */
export function unauthorized(): AppError {
  return new AppError(
    'UNAUTHORIZED',
    'login required: sign in on the web UI, or send Authorization: Bearer <token from <data_dir>/api-token>',
  );
}

/** How a request was authenticated, or null. */
export function authenticate(req: FastifyRequest, token: string, sessions: SessionStore): 'token' | 'session' | null {
  let given = bearerToken(req.headers.authorization);
  if (given === null && req.routeOptions.url === '/events') {
    const q = (req.query as Record<string, unknown> | undefined)?.token;
    given = typeof q === 'string' ? q : null;
  }
  if (given !== null) return tokenMatches(given, token) ? 'token' : null;
  return sessions.valid(readCookie(req.headers.cookie, SESSION_COOKIE)) ? 'session' : null;
}

/** Throws the 401 unless `req` carries the token or a live session. */
export function requireAuth(req: FastifyRequest, token: string, sessions: SessionStore): void {
  if (authenticate(req, token, sessions) === null) throw unauthorized();
}
