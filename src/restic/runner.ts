/**
 * Run one restic command on a repository connection and collect its output, bounded in time and
 * size; every command module (snapshots.ts, forget.ts, ...) goes through here. The child gets its
 * own process group and is cancelled the restic way (spawn.ts: SIGINT, a grace, SIGKILL of the
 * group and of the descendants found in /proc).
 */
import { systemClock, type Clock } from '../clock.js';
import { cleanText } from './text.js';
import { failureKindFromExitCode, failureKindFromText, failureMessage, fatalLine, sentence } from './classify.js';
import type { RepositoryConnection } from './connection.js';
import { resticEnv } from './environment.js';
import { ResticError } from './errors.js';
import { sftpCommandArgs } from './sftp-command.js';
import type { Readable } from 'node:stream';
import { capture, runCaptured, spawnBounded, type SpawnResult } from './spawn.js';

/** How one call runs: its clock, its cancel signal and its time limit. */
export interface CallOptions {
  clock?: Clock;
  /** Aborting it cancels restic (SIGINT, grace, SIGKILL); the call then fails as `cancelled`. */
  signal?: AbortSignal;
  /** Upper bound of the whole call, seconds; each command module documents its default. */
  timeoutSeconds?: number;
  /** SIGINT -> SIGKILL grace on cancel or time-out, seconds (default 5). */
  graceSeconds?: number;
  platform?: NodeJS.Platform;
}

/** What one restic process did. */
export interface ResticOutput {
  /** The argv after the binary (no secrets: those are in the environment). */
  args: string[];
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stdoutTruncated: boolean;
  /** stderr lines without ANSI codes and control characters, empty lines dropped (at most 256 KiB). */
  stderrLines: string[];
  /** The `exit_error` message restic 0.18+ prints last on stderr with --json (changelog 0.18.0 issue 4948), or null. */
  exitError: { code: number; message: string } | null;
  durationMs: number;
  timedOut: boolean;
  cancelled: boolean;
  spawnError: string | null;
}

export interface RunLimits {
  /** Time-out when the call gives none, seconds. */
  defaultTimeoutSeconds: number;
  /** Largest stdout kept, bytes (default 256 KiB); a longer one is cut and flagged. */
  maxStdoutBytes?: number;
}

/** Run `restic <args>` on `conn`; never rejects (see `failureOf` and `runResticOk`). */
export async function runRestic(
  conn: RepositoryConnection,
  args: readonly string[],
  call: CallOptions,
  limits: RunLimits,
): Promise<ResticOutput> {
  const fullArgs = [...sftpCommandArgs(conn.url), ...args];
  const r = await runCaptured({
    ...spawnOptions(conn, fullArgs, call, limits.defaultTimeoutSeconds),
    maxStdoutBytes: limits.maxStdoutBytes ?? 256 * 1024,
  });
  return resticOutput(fullArgs, r, r.stderr, { text: r.stdout, truncated: r.stdoutTruncated });
}

/** A restic child whose stdout is read as it comes (startRestic). */
export interface StartedRestic {
  /** restic's stdout with `rawStdout` (the caller must consume or destroy it), else null. */
  stdout: Readable | null;
  /** Resolves when restic ended (stdout not collected: ''); never rejects. */
  done: Promise<ResticOutput>;
  /** Ends restic now (same as aborting the signal). */
  cancel(): void;
}

/**
 * Start `restic <args>` on `conn` for a command whose output is streamed, not collected (`restore`
 * reads progress lines, `dump` hands its stdout out). Same time-out, cancel and process group as
 * runRestic; stderr is kept up to `maxStderrBytes`.
 */
export function startRestic(
  conn: RepositoryConnection,
  args: readonly string[],
  call: CallOptions,
  o: { defaultTimeoutSeconds: number; maxStderrBytes: number } & (
    { rawStdout: true } | { onStdout: (d: Buffer) => void }
  ),
): StartedRestic {
  const fullArgs = [...sftpCommandArgs(conn.url), ...args];
  const stderr = capture(o.maxStderrBytes);
  const b = spawnBounded({
    ...spawnOptions(conn, fullArgs, call, o.defaultTimeoutSeconds),
    ...('rawStdout' in o ? { rawStdout: true } : { onStdout: o.onStdout }),
    onStderr: (d) => stderr.push(d),
  });
  return {
    stdout: b.process.stdout,
    done: b.done.then((r) => resticOutput(fullArgs, r, stderr.text())),
    cancel: b.cancel,
  };
}

function spawnOptions(
  conn: RepositoryConnection,
  fullArgs: string[],
  call: CallOptions,
  defaultTimeoutSeconds: number,
) {
  return {
    command: conn.resticBinary,
    args: fullArgs,
    env: resticEnv(conn),
    clock: call.clock ?? systemClock,
    ...(call.platform ? { platform: call.platform } : {}),
    ...(conn.cwd ? { cwd: conn.cwd } : {}),
    timeoutSeconds: call.timeoutSeconds ?? defaultTimeoutSeconds,
    ...(call.signal ? { signal: call.signal } : {}),
    graceSeconds: call.graceSeconds ?? 5,
    processGroup: true,
    killGroupOnExit: true,
  };
}

/** What a finished child did, as ResticOutput: stderr cleaned into lines, restic 0.18's exit_error apart. */
function resticOutput(
  args: string[],
  r: SpawnResult & { timedOut: boolean },
  stderr: string,
  stdout: { text: string; truncated: boolean } = { text: '', truncated: false },
): ResticOutput {
  const stderrLines = cleanText(stderr)
    .split('\n')
    .map((l) => l.trimEnd())
    .filter((l) => l.trim() !== '');
  return {
    args,
    exitCode: r.exitCode,
    signal: r.signal,
    stdout: stdout.text,
    stdoutTruncated: stdout.truncated,
    stderrLines: stderrLines.filter((l) => !isExitError(l)),
    exitError: findExitError(stderrLines),
    durationMs: r.durationMs,
    timedOut: r.timedOut,
    cancelled: r.cancelRequested && !r.timedOut,
    spawnError: r.spawnError,
  };
}

function isExitError(line: string): boolean {
  return line.startsWith('{') && line.includes('"exit_error"');
}

/** restic 0.18+: `{"message_type":"exit_error","code":1,"message":"..."}` (doc/075_scripting.rst). */
export function findExitError(lines: readonly string[]): { code: number; message: string } | null {
  for (let i = lines.length - 1; i >= 0; i--) {
    const line = lines[i] as string;
    if (!isExitError(line)) continue;
    try {
      const o = JSON.parse(line) as { message_type?: unknown; code?: unknown; message?: unknown };
      if (o.message_type === 'exit_error' && typeof o.message === 'string')
        return { code: typeof o.code === 'number' ? o.code : -1, message: o.message };
    } catch {
      // not JSON after all
    }
  }
  return null;
}

/**
 * The error a finished call means, or null when it succeeded (exit 0, or one of `okExitCodes`).
 * `what` names the command in the message (`restic forget`).
 */
export function failureOf(
  out: ResticOutput,
  what: string,
  conn: Pick<RepositoryConnection, 'name' | 'resticBinary'>,
  okExitCodes: readonly number[] = [0],
): ResticError | null {
  const tail = out.stderrLines.slice(-20).join('\n');
  const details = { exitCode: out.exitCode, stderrTail: tail };
  if (out.spawnError)
    return new ResticError(
      'restic_missing',
      `restic ("${conn.resticBinary}") could not be started for ${what}: ${out.spawnError}`,
      details,
    );
  if (out.timedOut)
    return new ResticError(
      'timed_out',
      `${what} on repository "${conn.name}" did not finish in time and was stopped (is the repository reachable?).`,
      details,
    );
  if (out.cancelled || out.exitCode === 130 || (out.exitCode === null && out.signal))
    return new ResticError('cancelled', `${what} on repository "${conn.name}" was cancelled.`, details);
  if (out.exitCode !== null && okExitCodes.includes(out.exitCode)) return null;
  const lines = out.exitError ? [out.exitError.message, ...out.stderrLines] : out.stderrLines;
  const kind = failureKindFromExitCode(out.exitCode) ?? failureKindFromText(lines.join('\n')) ?? ('unknown' as const);
  const detail = out.exitError?.message ?? fatalLine(out.stderrLines) ?? out.stderrLines[0]?.trim() ?? null;
  const msg =
    kind === 'unknown'
      ? `${what} on repository "${conn.name}" failed: ${detail ?? 'no error text'} (exit code ${out.exitCode})`
      : failureMessage(kind, lines, detail, what);
  return new ResticError(kind, sentence(msg), details);
}

/** runRestic, then throw failureOf's ResticError when the call failed; resolves with the output. */
export async function runResticOk(
  conn: RepositoryConnection,
  args: readonly string[],
  call: CallOptions,
  limits: RunLimits & { what: string; okExitCodes?: readonly number[] },
): Promise<ResticOutput> {
  const out = await runRestic(conn, args, call, limits);
  const err = failureOf(out, limits.what, conn, limits.okExitCodes);
  if (err) throw err;
  if (out.stdoutTruncated)
    throw new ResticError(
      'bad_output',
      `${limits.what} printed more than ${limits.maxStdoutBytes ?? 256 * 1024} bytes on repository "${conn.name}"; the output was not read.`,
    );
  return out;
}

/**
 * Parse a single JSON document restic printed (`snapshots --json`, `forget --json`, ...). Empty
 * output is `empty` (restic 0.14 `forget --json` with nothing matching prints nothing, fixture 42).
 * Throws ResticError('bad_output') naming the command when it is not JSON.
 */
export function parseJsonDocument(stdout: string, what: string, empty: unknown = null): unknown {
  const text = stdout.trim();
  if (text === '') return empty;
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new ResticError('bad_output', `${what} printed output that is not JSON: "${cleanText(text).slice(0, 120)}"`, {
      cause: err,
    });
  }
}
