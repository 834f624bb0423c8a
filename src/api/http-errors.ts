/**
 * The one place where error codes become HTTP statuses, and where any thrown value becomes the
 * API's error body `{error: {code, message, fields?}}`. AppError codes come from src/errors.ts;
 * a few codes exist only at the HTTP layer (payload too large, wrong media type, rate limit,
 * stream cap) and are listed here too.
 */
import { AppError, type ErrorCode, type FieldError } from '../errors.js';

/** Codes that only the HTTP layer produces. */
export type ApiOnlyCode =
  'PAYLOAD_TOO_LARGE' | 'UNSUPPORTED_MEDIA_TYPE' | 'RATE_LIMITED' | 'TOO_MANY_STREAMS' | 'INTERNAL';
export type ApiErrorCode = ErrorCode | ApiOnlyCode;

/** HTTP status of every code (the single mapping; documented in doc/api.md). */
export const HTTP_STATUS: Readonly<Record<ApiErrorCode, number>> = Object.freeze({
  CONFIG_NOT_FOUND: 500,
  CONFIG_INVALID: 400,
  DB_CONNECT: 503,
  DB_QUERY: 500,
  DB_LOCKED: 503,
  DB_MIGRATION: 500,
  DB_LISTEN_UNDELIVERED: 503,
  NOT_FOUND: 404,
  INVALID_INPUT: 400,
  CONFLICT: 409,
  RESTIC_MISSING: 503,
  RESTIC_FAILED: 500,
  BACKUP_FAILED: 500,
  HOOK_FAILED: 500,
  NOTIFY_FAILED: 502,
  SCHEDULE_INVALID: 400,
  RELICA_INVALID: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  RATE_LIMITED: 429,
  TOO_MANY_STREAMS: 503,
  INTERNAL: 500,
});

/** An error raised by the HTTP layer itself with one of the API-only codes. */
export class ApiError extends Error {
  constructor(
    readonly code: ApiOnlyCode,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export interface ErrorBody {
  error: { code: ApiErrorCode; message: string; fields?: FieldError[] };
}

/** Fastify's own error codes that are the client's fault, mapped to ours. */
const FASTIFY_CODES: Readonly<Record<string, ApiErrorCode>> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'INVALID_INPUT',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'INVALID_INPUT',
  FST_ERR_CTP_INVALID_JSON_BODY: 'INVALID_INPUT',
  FST_ERR_VALIDATION: 'INVALID_INPUT',
};

/**
 * Turns any thrown value into `{status, body}`. Messages of unexpected errors (500) are replaced by
 * a generic text so internals (SQL, paths, secrets) never reach a response; the caller logs them.
 */
export function toHttpError(err: unknown): { status: number; body: ErrorBody; unexpected: boolean } {
  const refused = permissionRefusal(err);
  if (refused) return { status: 403, body: { error: { code: 'FORBIDDEN', message: refused } }, unexpected: false };
  if (err instanceof AppError) {
    const status = HTTP_STATUS[err.code];
    const unexpected = status >= 500 && status !== 503;
    const message = unexpected ? `internal error (${err.code})` : err.message;
    const body: ErrorBody = { error: { code: err.code, message } };
    if (err.fields && err.fields.length > 0) body.error.fields = err.fields;
    return { status, body, unexpected };
  }
  if (err instanceof ApiError) {
    return {
      status: HTTP_STATUS[err.code],
      body: { error: { code: err.code, message: err.message } },
      unexpected: false,
    };
  }
  const e = err as { code?: unknown; statusCode?: unknown; message?: unknown };
  const mapped = typeof e.code === 'string' ? FASTIFY_CODES[e.code] : undefined;
  if (mapped) {
    return {
      status: HTTP_STATUS[mapped],
      body: { error: { code: mapped, message: String(e.message ?? mapped) } },
      unexpected: false,
    };
  }
  if (typeof e.statusCode === 'number' && e.statusCode === 429) {
    return {
      status: 429,
      body: { error: { code: 'RATE_LIMITED', message: String(e.message ?? 'too many requests') } },
      unexpected: false,
    };
  }
  return { status: 500, body: { error: { code: 'INTERNAL', message: 'internal error' } }, unexpected: true };
}

/**
 * A statement the database refused for lack of a right (SQLSTATE 42501, e.g. a POST /config
 * through an agent whose role may not write a table): the 403 message names the right from
 * PostgreSQL's own text ("permission denied for table backup_jobs"), which holds no data or secret.
 * Null for every other error.
 */
function permissionRefusal(err: unknown): string | null {
  if (!(err instanceof AppError) || err.code !== 'DB_QUERY') return null;
  const cause = (err as { cause?: unknown }).cause as { code?: unknown; message?: unknown } | undefined;
  if (cause?.code !== '42501') return null;
  const what = typeof cause.message === 'string' ? cause.message.split('\n')[0]!.slice(0, 200) : 'permission denied';
  return `the database refused this change: ${what} (this agent's database role lacks that right; an admin grants it, see doc/grants.sql)`;
}

/** An AppError INVALID_INPUT listing field problems (the 400 of every validation). */
export function invalidInput(fields: FieldError[], message = 'the request is invalid'): AppError {
  const first = fields[0];
  const summary = first
    ? `${message}: ${first.field}: ${first.message}${fields.length > 1 ? ` (and ${fields.length - 1} more)` : ''}`
    : message;
  return new AppError('INVALID_INPUT', summary, { fields });
}
