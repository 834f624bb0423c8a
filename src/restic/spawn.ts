/**
 * Spawn wrapper for restic and hooks: never rejects, no shell, always drains stdout and stderr
 * (a full pipe would stall the child), reaps the child, and cancels the way restic wants (C07):
 * SIGINT, a grace period, then SIGKILL; on Windows the process tree is ended at once (taskkill /T /F,
 * falling back to TerminateProcess of the child alone).
 */
import { spawn as nodeSpawn, type ChildProcess } from 'node:child_process';
import type { Clock } from '../clock.js';
import { descendants, endWindowsTree, signalEntries, type ProcEntry } from './process-tree.js';

export interface SpawnResult {
  /** null when killed by a signal or never started. */
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  /** milliseconds, monotonic */
  durationMs: number;
  /** Set when the process could not be started (e.g. `spawn restic ENOENT`). */
  spawnError: string | null;
  /** True once cancel() was called. */
  cancelRequested: boolean;
}

export interface SpawnOptions {
  command: string;
  args: readonly string[];
  env: Record<string, string>;
  cwd?: string;
  onStdout?: (chunk: Buffer) => void;
  onStderr?: (chunk: Buffer) => void;
  clock: Clock;
  platform?: NodeJS.Platform;
  /**
   * Put the child in its own process group (detached spawn) so cancel reaches its children too
   * (hooks: the shell's children; restic: the `ssh`/`rclone` it starts, C35).
   */
  processGroup?: boolean;
  /**
   * With processGroup: when the child exits, SIGKILL whatever is left of its group (restic: an
   * ssh that outlived it). Always done after a cancel.
   */
  killGroupOnExit?: boolean;
  spawnFn?: typeof nodeSpawn;
  /**
   * Leave stdout unread and hand it out as `SpawnedProcess.stdout` (a paused stream the caller
   * pipes with backpressure: `restic dump` into an HTTP answer). `onStdout` is then ignored.
   */
  rawStdout?: boolean;
}

export interface SpawnedProcess {
  readonly pid: number | undefined;
  /** The child's stdout with `rawStdout`, else null. */
  readonly stdout: import('node:stream').Readable | null;
  /** Resolves once the child exited and its pipes closed; never rejects. */
  readonly done: Promise<SpawnResult>;
  /** SIGINT now, SIGKILL after `graceSeconds` if still running (Windows: end the tree at once). */
  cancel(graceSeconds: number): void;
}

/** After exit, how long to wait for pipes held open by grandchildren before giving up on them. */
const PIPE_CLOSE_WAIT_MS = 2000;
const MAX_TIMER_MS = 2 ** 31 - 1;

function signalChild(child: ChildProcess, sig: NodeJS.Signals, group: boolean): void {
  try {
    if (group && child.pid !== undefined) process.kill(-child.pid, sig);
    else child.kill(sig);
  } catch {
    // already gone
  }
}

/** Start a child process; see SpawnedProcess. */
export function spawnProcess(opts: SpawnOptions): SpawnedProcess {
  const platform = opts.platform ?? process.platform;
  const start = opts.clock.monotonic();
  const group = Boolean(opts.processGroup) && platform !== 'win32';
  let cancelRequested = false;
  let exited = false;
  // Descendants seen at cancel time: restic's ssh/rclone live in a group of their own (process-tree.ts).
  let tree: ProcEntry[] = [];
  const killTree = () => {
    if (group) signalEntries(tree, 'SIGKILL');
  };
  const cancels: (() => void)[] = [];
  let child: ChildProcess;
  try {
    child = (opts.spawnFn ?? nodeSpawn)(opts.command, [...opts.args], {
      env: opts.env,
      cwd: opts.cwd,
      shell: false,
      windowsHide: true,
      detached: group,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  } catch (err) {
    const done = Promise.resolve<SpawnResult>({
      exitCode: null,
      signal: null,
      durationMs: 0,
      spawnError: String(err),
      cancelRequested: false,
    });
    return { pid: undefined, stdout: null, done, cancel: () => undefined };
  }
  const done = new Promise<SpawnResult>((resolve) => {
    let settled = false;
    let exitCode: number | null = null;
    let signal: NodeJS.Signals | null = null;
    const finish = (spawnError: string | null) => {
      if (settled) return;
      settled = true;
      for (const c of cancels) c();
      resolve({
        exitCode,
        signal,
        durationMs: Math.max(0, opts.clock.monotonic() - start),
        spawnError,
        cancelRequested,
      });
    };
    if (!opts.rawStdout) child.stdout?.on('data', (d: Buffer) => opts.onStdout?.(d));
    child.stderr?.on('data', (d: Buffer) => opts.onStderr?.(d));
    child.on('error', (err) => {
      exited = true;
      finish(err.message);
    });
    child.on('exit', (code, sig) => {
      exited = true;
      if (group && (cancelRequested || opts.killGroupOnExit)) signalChild(child, 'SIGKILL', true);
      if (cancelRequested) killTree();
      exitCode = code;
      signal = sig;
      // A raw stdout is drained by its consumer at its own pace; 'close' ends the wait then.
      if (opts.rawStdout) return;
      cancels.push(
        opts.clock.setTimer(() => {
          child.stdout?.destroy();
          child.stderr?.destroy();
          finish(null);
        }, PIPE_CLOSE_WAIT_MS),
      );
    });
    child.on('close', (code, sig) => {
      exitCode = code;
      signal = sig;
      exited = true;
      finish(null);
    });
  });
  return {
    pid: child.pid,
    stdout: opts.rawStdout ? child.stdout : null,
    done,
    cancel(graceSeconds: number) {
      if (exited || cancelRequested) return;
      cancelRequested = true;
      if (platform === 'win32') {
        // No SIGINT without a console: end the process tree (taskkill /T), else the child alone.
        if (child.pid === undefined || opts.spawnFn) signalChild(child, 'SIGKILL', false);
        else endWindowsTree(child.pid, () => signalChild(child, 'SIGKILL', false));
        return;
      }
      if (group && child.pid !== undefined) tree = descendants(child.pid);
      signalChild(child, 'SIGINT', group);
      signalEntries(tree, 'SIGINT');
      const ms = Math.min(MAX_TIMER_MS, Math.max(0, graceSeconds * 1000));
      cancels.push(
        opts.clock.setTimer(() => {
          if (exited) return;
          if (group && child.pid !== undefined) tree = [...tree, ...descendants(child.pid)];
          signalChild(child, 'SIGKILL', group);
          killTree();
        }, ms),
      );
    },
  };
}

/** Captured output of a short command (bounded), for `list locks`, `cat lock`, `unlock`. */
export interface CapturedRun extends SpawnResult {
  stdout: string;
  stderr: string;
  /** True when stdout was longer than `maxStdoutBytes` and was cut. */
  stdoutTruncated: boolean;
  /** True when the time-out (not the signal) ended the command. */
  timedOut: boolean;
}

const MAX_CAPTURE = 256 * 1024;

/** Keeps the first `max` bytes of a stream. */
export function capture(max: number): { push(d: Buffer): void; text(): string; truncated(): boolean } {
  const parts: Buffer[] = [];
  let len = 0;
  let cut = false;
  return {
    push(d) {
      if (len >= max) {
        cut = true;
        return;
      }
      const part = len + d.length > max ? d.subarray(0, max - len) : d;
      if (part.length < d.length) cut = true;
      parts.push(part);
      len += part.length;
    },
    text: () => Buffer.concat(parts).toString('utf8'),
    truncated: () => cut,
  };
}

/** How long a bounded child may run and what cancels it. */
export interface Bounds {
  timeoutSeconds: number;
  /** Aborting it cancels the child. */
  signal?: AbortSignal;
  /** SIGINT -> SIGKILL grace on cancel or time-out, seconds (default 5). */
  graceSeconds?: number;
}

/** A child started by spawnBounded. */
export interface BoundedProcess {
  process: SpawnedProcess;
  /** Resolves once the child ended; the time-out timer and the abort listener are gone by then. */
  done: Promise<SpawnResult & { timedOut: boolean }>;
  /** Ends the child now (SIGINT, the grace, SIGKILL), as an abort of the signal does. */
  cancel(): void;
}

/**
 * spawnProcess with a time-out and a cancel signal: `timeoutSeconds` or an aborted `signal`
 * cancels the child (SIGINT, `graceSeconds` grace, SIGKILL; the whole group with processGroup).
 * The timer and the listener are removed when the child ends, also when it never started.
 */
export function spawnBounded(opts: SpawnOptions & Bounds): BoundedProcess {
  const grace = opts.graceSeconds ?? 5;
  const p = spawnProcess(opts);
  const cancel = () => p.cancel(grace);
  let timedOut = false;
  const stop = opts.clock.setTimer(
    () => {
      timedOut = true;
      cancel();
    },
    Math.min(MAX_TIMER_MS, Math.max(0, opts.timeoutSeconds * 1000)),
  );
  if (opts.signal?.aborted) cancel();
  else opts.signal?.addEventListener('abort', cancel, { once: true });
  const done = p.done.then((r) => {
    stop();
    opts.signal?.removeEventListener('abort', cancel);
    return { ...r, timedOut: timedOut && r.cancelRequested };
  });
  return { process: p, done, cancel };
}

/**
 * Run a short command to completion and capture its output (stdout cut at `maxStdoutBytes`,
 * default 256 KiB; stderr at 256 KiB). A `timeoutSeconds` or an aborted `signal` cancels it
 * (spawnBounded). Never rejects.
 */
export async function runCaptured(
  opts: Omit<SpawnOptions, 'onStdout' | 'onStderr'> & Bounds & { maxStdoutBytes?: number },
): Promise<CapturedRun> {
  const out = capture(opts.maxStdoutBytes ?? MAX_CAPTURE);
  const err = capture(MAX_CAPTURE);
  const r = await spawnBounded({ ...opts, onStdout: (d) => out.push(d), onStderr: (d) => err.push(d) }).done;
  return {
    ...r,
    stdout: out.text(),
    stderr: err.text(),
    stdoutTruncated: out.truncated(),
  };
}
