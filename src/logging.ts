/**
 * Structured logs (pino): JSON lines to the configured file, rotated by size with a bounded number
 * of old files kept (pino-roll; old files of earlier processes count too, so a year of restarts
 * cannot fill the disk), and to stderr: JSON lines there too, except on a terminal, where a person
 * reads them (time, level, message, then the fields; pino-pretty). Known secret fields are
 * redacted wherever they appear.
 */
import path from 'node:path';
import { mkdirSync } from 'node:fs';
import { pino, type Logger, type LevelWithSilent } from 'pino';
import type { RollingStream } from 'pino-roll';
import { systemClock } from './clock.js';

export type { Logger };

/** Field names whose values never reach a log line (pino `redact`). */
const SECRET_KEYS = [
  'password',
  'repository_password',
  'RESTIC_PASSWORD',
  'api_token',
  'apiToken',
  'token',
  'authorization',
  'connectionString',
];
const REDACT_PATHS = [...SECRET_KEYS, ...SECRET_KEYS.map((k) => `*.${k}`), 'req.headers.authorization', 'env', '*.env'];

export interface LoggerOptions {
  level: LevelWithSilent;
  /** Absolute path of the log file; null = stderr only. */
  file: string | null;
  /** Rotate when the file reaches this many bytes. */
  maxBytes: number;
  /** Old files kept besides the active one. */
  keepFiles: number;
  /** Also write to stderr (the agent in the foreground, a service's journal). */
  stderr: boolean;
  /**
   * Human-readable lines on stderr instead of JSON; default: when stderr is a terminal (a service's
   * journal and a pipe keep JSON, which tools parse).
   */
  pretty?: boolean;
}

export interface LoggerHandle {
  logger: Logger;
  /** Flush and close the file transport; call before exit. */
  close(): Promise<void>;
}

/**
 * Build the process logger. The file stream (pino-roll) and stderr are written from this thread
 * (pino.multistream), not a worker thread: a second V8 isolate would cost the idle agent ~20 MB.
 * Throws if the log folder cannot be created (the caller reports it naming client.log_file).
 */
export async function createLogger(opts: LoggerOptions): Promise<LoggerHandle> {
  const level = opts.level === 'silent' ? 'fatal' : opts.level;
  const streams: pino.StreamEntry[] = [];
  let file: RollingStream | null = null;
  if (opts.file) {
    mkdirSync(path.dirname(opts.file), { recursive: true });
    // Loaded here: one-shot commands log nowhere and need no file rotation.
    const { default: pinoRoll } = await import('pino-roll');
    file = await pinoRoll({
      file: opts.file,
      size: `${Math.max(64, Math.floor(opts.maxBytes / 1024))}k`,
      limit: { count: opts.keepFiles, removeOtherLogFiles: true },
      mkdir: true,
      // Files are numbered (rbackup2.1.log, rbackup2.2.log, ...); current.log beside them always
      // points at the one being written, for `tail -f`.
      symlink: true,
    });
    streams.push({ level, stream: file });
  }
  if (opts.stderr) streams.push({ level, stream: await stderrStream(opts.pretty ?? process.stderr.isTTY === true) });
  if (streams.length === 0) return { logger: pino({ level: 'silent' }), close: async () => {} };
  const logger = pino(
    { level: opts.level, redact: { paths: REDACT_PATHS, censor: '[redacted]' }, base: { pid: process.pid } },
    pino.multistream(streams),
  );
  return {
    logger,
    close: () =>
      new Promise<void>((resolve) => {
        if (!file) return resolve();
        const cancel = systemClock.setTimer(resolve, 2000); // never hang the shutdown on a stuck file
        file.once('close', () => {
          cancel();
          resolve();
        });
        file.end();
      }),
  };
}

/**
 * The stderr stream: pino's own for JSON, or pino-pretty (loaded only then) in this thread, as a
 * stream and not a transport, for the same reason as the file (no second V8 isolate).
 */
async function stderrStream(pretty: boolean): Promise<pino.DestinationStream> {
  if (!pretty) return pino.destination({ fd: 2, sync: true });
  const { default: pinoPretty } = await import('pino-pretty');
  return pinoPretty({
    destination: 2,
    sync: true,
    colorize: process.stderr.isTTY === true,
    translateTime: 'SYS:yyyy-mm-dd HH:MM:ss',
    ignore: 'pid,hostname',
  });
}

/** A logger that drops everything (tests, one-shot admin commands). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}

/** `postgres://user:secret@host/db` -> `postgres://user:***@host/db`, for log lines and /status. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    for (const key of ['password', 'sslpassword']) if (u.searchParams.has(key)) u.searchParams.set(key, '***');
    return u.toString();
  } catch {
    return url.replace(/\/\/([^:/@]+):[^@]*@/, '//$1:***@');
  }
}
