/**
 * Browser sessions of the local UI (issue 15): random ids kept in memory only (an agent restart
 * logs everyone out), each with an absolute lifetime, at most `maxSessions` at once (the oldest
 * goes first). Also the one-time login codes of the quick start (`/?token=CODE`, as Jupyter does):
 * each works once and expires. Ids and codes are compared by their SHA-256 (no timing leak).
 */
import { createHash, randomBytes } from 'node:crypto';

export const SESSION_COOKIE = 'rbackup2_session';
/** Default session lifetime: 12 hours. */
export const DEFAULT_SESSION_SECONDS = 12 * 3600;

const digest = (s: string): string => createHash('sha256').update(s).digest('hex');

export interface SessionStoreOptions {
  /** Session lifetime in seconds (absolute, not sliding). */
  lifetimeSeconds: number;
  /** Most sessions kept at once (default 1000). */
  maxSessions?: number;
  /** Milliseconds since the epoch (injected for tests). */
  now?: () => number;
}

/** In-memory sessions and one-time login codes. */
export class SessionStore {
  private readonly sessions = new Map<string, number>();
  private readonly codes = new Map<string, number>();
  private readonly now: () => number;

  constructor(private readonly opts: SessionStoreOptions) {
    this.now = opts.now ?? Date.now;
  }

  /** A new session id (43 characters base64url); valid for `lifetimeSeconds`. */
  create(): string {
    this.sweep();
    const max = this.opts.maxSessions ?? 1000;
    while (this.sessions.size >= max) this.sessions.delete(this.sessions.keys().next().value as string);
    const id = randomBytes(32).toString('base64url');
    this.sessions.set(digest(id), this.now() + this.opts.lifetimeSeconds * 1000);
    return id;
  }

  /** True while `id` is a live session. */
  valid(id: string | null): boolean {
    if (!id || id.length > 128) return false;
    const exp = this.sessions.get(digest(id));
    if (exp === undefined) return false;
    if (exp <= this.now()) {
      this.sessions.delete(digest(id));
      return false;
    }
    return true;
  }

  /** Ends a session (logout); unknown ids are ignored. */
  end(id: string | null): void {
    if (id) this.sessions.delete(digest(id));
  }

  /** A one-time login code valid for `seconds` (at most 10 kept). */
  addLoginCode(code: string, seconds: number): void {
    while (this.codes.size >= 10) this.codes.delete(this.codes.keys().next().value as string);
    this.codes.set(digest(code), this.now() + seconds * 1000);
  }

  /** True (once) when `code` is a live one-time login code; it is used up. */
  useLoginCode(code: string): boolean {
    const key = digest(code);
    const exp = this.codes.get(key);
    if (exp === undefined) return false;
    this.codes.delete(key);
    return exp > this.now();
  }

  /** Live sessions now. */
  get size(): number {
    this.sweep();
    return this.sessions.size;
  }

  private sweep(): void {
    const now = this.now();
    for (const [k, exp] of this.sessions) if (exp <= now) this.sessions.delete(k);
  }
}

/** The value of cookie `name` in a `Cookie` header, or null (first occurrence wins). */
export function readCookie(header: string | undefined, name: string): string | null {
  if (!header) return null;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim() || null;
  }
  return null;
}

/** The Set-Cookie value of a session (HttpOnly, SameSite=Strict, Path=/, Max-Age). */
export function sessionCookie(id: string, lifetimeSeconds: number): string {
  return `${SESSION_COOKIE}=${id}; HttpOnly; SameSite=Strict; Path=/; Max-Age=${lifetimeSeconds}`;
}

/** The Set-Cookie value that removes the session cookie. */
export function clearedSessionCookie(): string {
  return `${SESSION_COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0`;
}
