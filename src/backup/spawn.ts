/**
 * Spawn wrapper for restic and hooks: never rejects, no shell, always drains stdout and stderr
 * (a full pipe would stall the child), reaps the child, and cancels the way restic wants (C07):
 * SIGINT, a grace period, then SIGKILL; on Windows a plain kill (TerminateProcess).
 */
import { spawn as nodeSpawn, type ChildProcess } from 'node:child_process';
import type { Clock } from '../clock.js';
import { descendants, signalEntries, type ProcEntry } from './process-tree.js';

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
}

export interface SpawnedProcess {
  readonly pid: number | undefined;
  /** Resolves once the child exited and its pipes closed; never rejects. */
  readonly done: Promise<SpawnResult>;
  /** SIGINT now, SIGKILL after `graceSeconds` if still running (Windows: kill at once). */
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
  const killTree = () => { if (group) signalEntries(tree, 'SIGKILL'); };
  const cancels: (() => void)[] = [];
  let child: ChildProcess;
  try {
    child = (opts.spawnFn ?? nodeSpawn)(opts.command, [...opts.args], {
      env: opts.env, cwd: opts.cwd, shell: false, windowsHide: true, detached: group,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  } catch (err) {
    const done = Promise.resolve<SpawnResult>({ exitCode: null, signal: null, durationMs: 0, spawnError: String(err), cancelRequested: false });
    return { pid: undefined, done, cancel: () => undefined };
  }
  const done = new Promise<SpawnResult>((resolve) => {
    let settled = false;
    let exitCode: number | null = null;
    let signal: NodeJS.Signals | null = null;
    const finish = (spawnError: string | null) => {
      if (settled) return;
      settled = true;
      for (const c of cancels) c();
      resolve({ exitCode, signal, durationMs: Math.max(0, opts.clock.monotonic() - start), spawnError, cancelRequested });
    };
    child.stdout?.on('data', (d: Buffer) => opts.onStdout?.(d));
    child.stderr?.on('data', (d: Buffer) => opts.onStderr?.(d));
    child.on('error', (err) => { exited = true; finish(err.message); });
    child.on('exit', (code, sig) => {
      exited = true;
      if (group && (cancelRequested || opts.killGroupOnExit)) signalChild(child, 'SIGKILL', true);
      if (cancelRequested) killTree();
      exitCode = code;
      signal = sig;
      cancels.push(opts.clock.setTimer(() => {
        child.stdout?.destroy();
        child.stderr?.destroy();
        finish(null);
      }, PIPE_CLOSE_WAIT_MS));
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
    done,
    cancel(graceSeconds: number) {
      if (exited || cancelRequested) return;
      cancelRequested = true;
      if (platform === 'win32') { signalChild(child, 'SIGKILL', false); return; }
      if (group && child.pid !== undefined) tree = descendants(child.pid);
      signalChild(child, 'SIGINT', group);
      signalEntries(tree, 'SIGINT');
      const ms = Math.min(MAX_TIMER_MS, Math.max(0, graceSeconds * 1000));
      cancels.push(opts.clock.setTimer(() => {
        if (exited) return;
        if (group && child.pid !== undefined) tree = [...tree, ...descendants(child.pid)];
        signalChild(child, 'SIGKILL', group);
        killTree();
      }, ms));
    },
  };
}

/** Captured output of a short command (bounded), for `list locks`, `cat lock`, `unlock`. */
export interface CapturedRun extends SpawnResult {
  stdout: string;
  stderr: string;
}

const MAX_CAPTURE = 256 * 1024;

/**
 * Run a short command to completion and capture its output (each stream cut at 256 KiB). A
 * `timeoutSeconds` or an aborted `signal` cancels it (SIGINT, 5 s grace, SIGKILL; the whole group
 * with processGroup). Never rejects.
 */
export async function runCaptured(opts: Omit<SpawnOptions, 'onStdout' | 'onStderr'> & { timeoutSeconds: number; signal?: AbortSignal }): Promise<CapturedRun> {
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  let outLen = 0;
  let errLen = 0;
  const p = spawnProcess({
    ...opts,
    onStdout: (d) => { if (outLen < MAX_CAPTURE) { out.push(d); outLen += d.length; } },
    onStderr: (d) => { if (errLen < MAX_CAPTURE) { err.push(d); errLen += d.length; } },
  });
  const stop = opts.clock.setTimer(() => p.cancel(5), Math.min(MAX_TIMER_MS, opts.timeoutSeconds * 1000));
  const onAbort = () => p.cancel(5);
  if (opts.signal?.aborted) onAbort();
  else opts.signal?.addEventListener('abort', onAbort, { once: true });
  const r = await p.done;
  opts.signal?.removeEventListener('abort', onAbort);
  stop();
  return { ...r, stdout: Buffer.concat(out).toString('utf8').slice(0, MAX_CAPTURE), stderr: Buffer.concat(err).toString('utf8').slice(0, MAX_CAPTURE) };
}
