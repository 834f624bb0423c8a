/**
 * Defences of a local HTTP server against browser-borne attacks (doc/api.md "Security"):
 * - DNS rebinding: the `Host` header must name the bound address or a loopback name with our port;
 * - CSRF: state-changing methods need `Content-Type: application/json` (a cross-site form or
 *   simple fetch cannot send it without a CORS preflight, which we never answer) and, when the
 *   browser sends `Origin`, the same origin;
 * - an optional bearer token (required on non-loopback binds), compared in constant time;
 * - security headers on every response.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';
import { AppError } from '../errors.js';
import { ApiError } from './http-errors.js';

export const SECURITY_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'content-security-policy':
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cross-origin-resource-policy': 'same-origin',
});

const STATE_CHANGING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** Splits `HOST:PORT` / `[V6]:PORT` (client.http_bind) into host (brackets removed) and port. */
export function parseBind(bind: string): { host: string; port: number } {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(bind.trim());
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65_535) {
    throw new AppError('CONFIG_INVALID', `client.http_bind: "${bind}" must be HOST:PORT, e.g. 127.0.0.1:1201`, {
      fields: [{ field: 'client.http_bind', message: 'must be HOST:PORT' }],
    });
  }
  return { host: (m[1] ?? m[2] ?? '').toLowerCase(), port };
}

/** True for 127.0.0.0/8, ::1 and `localhost`. */
export function isLoopbackHost(host: string): boolean {
  const h = host.toLowerCase();
  if (h === 'localhost' || h === '::1' || h === '0:0:0:0:0:0:0:1') return true;
  return isIP(h) === 4 && h.startsWith('127.');
}

/**
 * Refuses a non-loopback bind without an API token: anyone on the network could otherwise run
 * backups or rewrite the config. Throws AppError CONFIG_INVALID naming client.api_token.
 */
export function assertSafeBind(bind: string, apiToken: string | undefined): void {
  const { host } = parseBind(bind);
  if (!isLoopbackHost(host) && !apiToken) {
    throw new AppError(
      'CONFIG_INVALID',
      `client.api_token: required when client.http_bind (${bind}) is not a loopback address`,
      {
        fields: [{ field: 'client.api_token', message: 'required when client.http_bind is not a loopback address' }],
      },
    );
  }
}

/**
 * The Host check. `allowed` holds lower-case host names (no port) besides the loopback names;
 * a wildcard bind (0.0.0.0, ::) also accepts IP-literal hosts (a rebinding attack always carries
 * the attacker's DNS name, never an IP). Returns true when the Host header may pass.
 */
export function hostAllowed(
  hostHeader: string | undefined,
  port: number,
  bindHost: string,
  extra: readonly string[],
): boolean {
  if (!hostHeader) return false;
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]+))(?::(\d{1,5}))?$/.exec(hostHeader.trim().toLowerCase());
  if (!m) return false;
  const host = m[1] ?? m[2] ?? '';
  const hostPort = m[3] === undefined ? 80 : Number(m[3]);
  if (hostPort !== port) return false;
  if (host === bindHost || host === 'localhost' || host === '127.0.0.1' || host === '::1' || extra.includes(host))
    return true;
  const wildcard = bindHost === '0.0.0.0' || bindHost === '::';
  return wildcard && isIP(host) !== 0;
}

/** Constant-time token comparison (both sides hashed first, so lengths never leak). */
export function tokenMatches(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

/** The bearer token of an `Authorization` header, or null. */
export function bearerToken(header: string | undefined): string | null {
  if (!header) return null;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return m?.[1] ?? null;
}

/**
 * The CSRF rules for one request. Throws ApiError UNSUPPORTED_MEDIA_TYPE (415) when a
 * state-changing request is not `application/json`, AppError FORBIDDEN (403) when its Origin is
 * not the same origin as the (already checked) Host.
 */
export function checkStateChanging(
  method: string,
  contentType: string | undefined,
  origin: string | undefined,
  hostHeader: string | undefined,
): void {
  if (!STATE_CHANGING.has(method.toUpperCase())) return;
  const mediaType = (contentType ?? '').split(';')[0]?.trim().toLowerCase();
  if (mediaType !== 'application/json') {
    throw new ApiError('UNSUPPORTED_MEDIA_TYPE', 'state-changing requests must have Content-Type: application/json');
  }
  if (origin !== undefined) {
    const same = hostHeader !== undefined && origin.toLowerCase() === `http://${hostHeader.toLowerCase()}`;
    if (!same) throw new AppError('FORBIDDEN', 'cross-origin request refused');
  }
}

/** Removes `token=` from a URL before it is logged. */
export function redactUrl(url: string): string {
  return url.replace(/([?&]token=)[^&]*/gi, '$1[redacted]');
}
