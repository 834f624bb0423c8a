/**
 * The one list of rbackup2's error codes. Every error the agent raises on purpose is an AppError
 * with one of these stable codes; the CLI prints `message` as one line (no stack) for user errors,
 * and the HTTP API maps `code` to a status once, in src/api.
 */
export const ERROR_CODES = {
  CONFIG_NOT_FOUND: 'the local YAML config file does not exist',
  CONFIG_INVALID: 'the local YAML config (or an environment override) is invalid',
  DB_CONNECT: 'the database cannot be reached or refused the connection',
  DB_QUERY: 'a database query failed',
  DB_LOCKED: 'the embedded database folder is in use by another process',
  DB_MIGRATION: 'a migration failed',
  DB_LISTEN_UNDELIVERED: 'LISTEN works but NOTIFY is not delivered (a connection pooler in transaction mode)',
  NOT_FOUND: 'a named device, job, schedule or repository does not exist',
  INVALID_INPUT: 'a command-line argument, API body or database row is invalid',
  CONFLICT: 'the request conflicts with the current state (e.g. a job already running)',
  RESTIC_MISSING: 'the restic binary cannot be found or does not run',
  RESTIC_FAILED: 'restic failed',
  BACKUP_FAILED: 'a backup run failed',
  HOOK_FAILED: 'a backup hook failed',
  SCHEDULE_INVALID: 'a schedule cannot be computed',
  RELICA_INVALID: 'the Relica state file is malformed',
  UNAUTHORIZED: 'the API token is missing or wrong',
  FORBIDDEN: 'the request was refused by the local security rules',
  NOTIFY_FAILED: 'a notification channel did not accept a (test) notification',
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

/** Errors that are the user's to fix (bad config, bad argument): printed as one line, no stack. */
const USER_ERRORS: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'CONFIG_NOT_FOUND',
  'CONFIG_INVALID',
  'DB_CONNECT',
  'DB_LOCKED',
  'NOT_FOUND',
  'INVALID_INPUT',
  'CONFLICT',
  'RESTIC_MISSING',
  'RELICA_INVALID',
  'SCHEDULE_INVALID',
  'UNAUTHORIZED',
  'FORBIDDEN',
  'NOTIFY_FAILED',
]);

/** One named problem with its own field path, for errors that list several (config, API body). */
export interface FieldError {
  /** Dotted path of the offending field, e.g. `client.http_bind` or `jobs[0].source_paths`. */
  field: string;
  message: string;
}

export class AppError extends Error {
  readonly code: ErrorCode;
  readonly fields?: FieldError[];

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown; fields?: FieldError[] }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'AppError';
    this.code = code;
    if (options?.fields) this.fields = options.fields;
  }

  /** True when the message alone tells the user what to fix (no stack trace needed). */
  get isUserError(): boolean {
    return USER_ERRORS.has(this.code);
  }
}

/** Narrow an unknown thrown value to an AppError with the given code. */
export function isAppError(err: unknown, code?: ErrorCode): err is AppError {
  return err instanceof AppError && (code === undefined || err.code === code);
}

/** The message of any thrown value, for logs and run records. */
export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
