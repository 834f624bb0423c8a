/**
 * Backup hooks (CONTRACTS §3 `backup_hooks`): the admin's command runs through the system shell
 * exactly as written (`/bin/sh -c` or `cmd.exe /d /s /c`). The run's details reach it only as
 * environment variables (RBACKUP2_*), never spliced into the command text, so a job name can't
 * inject shell syntax. Each hook has a timeout and a bounded output tail.
 */
import type { Clock } from '../clock.js';
import type { HookConfig } from '../config/device-config.js';
import { BoundedTail, stripAnsi } from '../restic/bounded-tail.js';
import { LineSplitter } from '../restic/line-splitter.js';
import { spawnProcess } from '../restic/spawn.js';

export interface HookResult {
  hookId: number;
  command: string;
  timing: 'start' | 'end';
  exitCode: number | null;
  signal: string | null;
  timedOut: boolean;
  ok: boolean;
  /** Last lines of its combined output. */
  output: string;
  durationMs: number;
}

export interface HooksOutcome {
  results: HookResult[];
  /** A failed start hook with on_error = stop: skip the backup and fail with `stopMessage`. */
  stop: boolean;
  stopMessage: string | null;
  /** Failures of hooks whose on_error is continue (and of end hooks). */
  warnings: string[];
}

export interface RunHooksOptions {
  /** Base environment (allow-listed agent env, see environment.ts baseChildEnv). */
  baseEnv: Record<string, string>;
  /** RBACKUP2_* variables describing the run. */
  runEnv: Record<string, string>;
  timeoutSeconds: number;
  clock: Clock;
  platform?: NodeJS.Platform;
  cwd?: string;
}

/** The shell invocation for a hook command on this platform. */
export function shellCommand(
  command: string,
  platform: NodeJS.Platform,
  env: Record<string, string>,
): { file: string; args: string[] } {
  if (platform === 'win32') {
    const comspec = env.ComSpec ?? env.COMSPEC ?? 'cmd.exe';
    return { file: comspec, args: ['/d', '/s', '/c', command] };
  }
  return { file: '/bin/sh', args: ['-c', command] };
}

async function runOne(hook: HookConfig, opts: RunHooksOptions): Promise<HookResult> {
  const platform = opts.platform ?? process.platform;
  const env = { ...opts.baseEnv, ...opts.runEnv, RBACKUP2_HOOK_TIMING: hook.timing };
  const { file, args } = shellCommand(hook.command, platform, env);
  const tail = new BoundedTail(50, 1000);
  const split = new LineSplitter((l) => {
    const s = stripAnsi(l);
    if (s.trim()) tail.push(s);
  }, 4096);
  const p = spawnProcess({
    command: file,
    args,
    env,
    cwd: opts.cwd,
    clock: opts.clock,
    platform,
    processGroup: true,
    onStdout: (d) => split.push(d),
    onStderr: (d) => split.push(d),
  });
  let timedOut = false;
  const stop = opts.clock.setTimer(() => {
    timedOut = true;
    p.cancel(5);
  }, opts.timeoutSeconds * 1000);
  const r = await p.done;
  stop();
  split.end();
  const ok = !timedOut && r.spawnError === null && r.exitCode === 0;
  return {
    hookId: hook.id,
    command: hook.command,
    timing: hook.timing,
    exitCode: r.exitCode,
    signal: r.signal,
    timedOut,
    ok,
    output: r.spawnError ? `could not start the shell: ${r.spawnError}` : tail.text(),
    durationMs: r.durationMs,
  };
}

/** `start hook "x" failed (exit 2): last output line` */
export function describeHookFailure(r: HookResult): string {
  const why = r.timedOut
    ? 'timed out'
    : r.exitCode !== null
      ? `exit code ${r.exitCode}`
      : r.signal
        ? `killed by ${r.signal}`
        : 'could not run';
  const last = r.output.trim().split('\n').pop()?.trim();
  return `${r.timing} hook "${r.command.slice(0, 120)}" failed (${why})${last ? `: ${last}` : ''}`;
}

/**
 * Run the enabled hooks of `timing` in id order. A failed start hook with on_error = stop ends the
 * sequence and sets `stop`; every other failure is a warning and the next hook still runs.
 */
export async function runHooks(
  hooks: readonly HookConfig[],
  timing: 'start' | 'end',
  opts: RunHooksOptions,
): Promise<HooksOutcome> {
  const outcome: HooksOutcome = { results: [], stop: false, stopMessage: null, warnings: [] };
  const selected = hooks.filter((h) => h.enabled && h.timing === timing).sort((a, b) => a.id - b.id);
  for (const hook of selected) {
    const r = await runOne(hook, opts);
    outcome.results.push(r);
    if (r.ok) continue;
    const msg = describeHookFailure(r);
    if (timing === 'start' && hook.onError === 'stop') {
      outcome.stop = true;
      outcome.stopMessage = `The backup did not run: ${msg}.`;
      break;
    }
    outcome.warnings.push(`${msg}.`);
  }
  return outcome;
}
