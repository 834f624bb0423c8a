/**
 * The real rbackup2 binary (`node dist/main.js`, built by test/global-setup.ts) as a child
 * process, the way a user or a service manager runs it: one-shot CLI commands (`runCli`) and a
 * long-running agent (`AgentProcess`) whose JSON log lines (pino, on stderr) can be waited for.
 * Every process a test file starts is registered in a `ProcessGroup`; `killAll()` in afterAll
 * leaves nothing behind (the agent is started in its own process group, so its restic goes too).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { freePort, StopWaiting, waitFor } from './wait.js';
import { descendants, signalEntries } from '../../src/restic/process-tree.js';

export { freePort, StopWaiting, waitFor };

export const repoRoot = path.resolve(import.meta.dirname, '../..');
export const MAIN_JS = path.join(repoRoot, 'dist', 'main.js');

/** Output kept per stream (bytes); a runaway child cannot fill the test's memory. */
const MAX_OUTPUT = 4 * 1024 * 1024;
/** Log lines kept per agent. */
const MAX_LINES = 20_000;

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
}

export interface SpawnOpts {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Written to stdin, then stdin is closed (default: stdin closed at once). */
  input?: string;
  /** Killed with SIGKILL after this long (default 120 s). */
  timeoutMs?: number;
}

/** The child environment: ours without RBACKUP2_* / RESTIC_* (a test sets what it means). */
function childEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^(RBACKUP2_|RESTIC_)/.test(k)) env[k] = v;
  return { ...env, ...extra };
}

function appendBounded(buf: string, chunk: Buffer): string {
  return buf.length >= MAX_OUTPUT ? buf : buf + chunk.toString('utf8');
}

export interface AgentConfigInput {
  /** Folder of config.yaml (relative paths in it resolve against this). */
  dir: string;
  deviceId: string;
  port: number;
  /** PostgreSQL URL; omitted = the embedded database under dataDir. */
  databaseUrl?: string;
  dataDir?: string;
  resticBinary?: string;
  shutdownTimeoutSeconds?: number;
  logLevel?: string;
  /** client.api_token (default TEST_API_TOKEN); null = none, the agent uses <data_dir>/api-token. */
  apiToken?: string | null;
}

/** The client.api_token writeAgentConfig puts in every config (unless apiToken: null). */
export const TEST_API_TOKEN = 'e2e-test-token-0123456789abcdef';

/** Write `<dir>/config.yaml` for a spawned agent; returns its path. */
export function writeAgentConfig(c: AgentConfigInput): string {
  const lines = [
    'device:',
    `  id: ${JSON.stringify(c.deviceId)}`,
    ...(c.databaseUrl ? ['database:', `  url: ${JSON.stringify(c.databaseUrl)}`] : []),
    'client:',
    `  http_bind: "127.0.0.1:${c.port}"`,
    `  data_dir: ${JSON.stringify(c.dataDir ?? './data')}`,
    `  log_file: ${JSON.stringify(path.join(c.dataDir ?? './data', 'rbackup2.log'))}`,
    `  log_level: ${JSON.stringify(c.logLevel ?? 'info')}`,
    `  restic_binary: ${JSON.stringify(c.resticBinary ?? '/usr/bin/restic')}`,
    `  shutdown_timeout_seconds: ${c.shutdownTimeoutSeconds ?? 30}`,
    // client.api_token wins over <data_dir>/api-token (issue 15); api() below sends it.
    ...(c.apiToken === null ? [] : [`  api_token: ${JSON.stringify(c.apiToken ?? TEST_API_TOKEN)}`]),
  ];
  const file = path.join(c.dir, 'config.yaml');
  fs.writeFileSync(file, `${lines.join('\n')}\n`);
  return file;
}

/** Thrown inside a `waitFor` callback to stop waiting at once (e.g. the process exited). */

export interface LogLine {
  raw: string;
  json: Record<string, unknown> | null;
}

/** A spawned `rbackup2 ... run` (or any long-running command) with its log lines. */
export class AgentProcess {
  readonly child: ChildProcess;
  readonly lines: LogLine[] = [];
  stdout = '';
  private partial = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  exitInfo: { code: number | null; signal: NodeJS.Signals | null } | null = null;

  constructor(
    readonly configPath: string,
    args: string[],
    opts: SpawnOpts = {},
  ) {
    this.child = spawn(process.execPath, [MAIN_JS, '--config', configPath, ...args], {
      cwd: opts.cwd ?? path.dirname(configPath),
      env: childEnv(opts.env),
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    this.child.stdout!.on('data', (c: Buffer) => {
      this.stdout = appendBounded(this.stdout, c);
    });
    this.child.stderr!.on('data', (c: Buffer) => this.onStderr(c));
    this.exited = new Promise((resolve) => {
      this.child.on('exit', (code, signal) => {
        this.exitInfo = { code, signal };
        resolve(this.exitInfo);
      });
    });
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  private onStderr(chunk: Buffer): void {
    const text = this.partial + chunk.toString('utf8');
    const parts = text.split('\n');
    this.partial = parts.pop() ?? '';
    for (const raw of parts) {
      let json: Record<string, unknown> | null = null;
      try {
        json = JSON.parse(raw) as Record<string, unknown>;
      } catch {
        /* plain text line */
      }
      this.lines.push({ raw, json });
      if (this.lines.length > MAX_LINES) this.lines.splice(0, this.lines.length - MAX_LINES);
    }
  }

  /** All stderr text so far (plus an unterminated last line). */
  get stderr(): string {
    return [...this.lines.map((l) => l.raw), this.partial].join('\n');
  }

  /** Wait for a log line whose `msg` (or raw text) matches; from index `from` of `lines`. */
  async waitForLog(match: string | RegExp | ((l: LogLine) => boolean), timeoutMs = 60_000, from = 0): Promise<LogLine> {
    const test = (l: LogLine): boolean => {
      if (typeof match === 'function') return match(l);
      const text = typeof l.json?.msg === 'string' ? l.json.msg : l.raw;
      return typeof match === 'string' ? text.includes(match) : match.test(text);
    };
    return waitFor(
      `log line ${String(match)} from ${this.configPath}`,
      () => {
        const hit = this.lines.slice(from).find(test);
        if (hit) return hit;
        if (this.exitInfo)
          throw new StopWaiting(
            `agent exited (${JSON.stringify(this.exitInfo)}) before logging ${String(match)}; stderr:\n${this.stderr.slice(-3000)}`,
          );
        return null;
      },
      timeoutMs,
      100,
    );
  }

  /** Send `signal` to the agent alone (its restic children are not signalled by us). */
  signal(signal: NodeJS.Signals): void {
    if (!this.exitInfo) this.child.kill(signal);
  }

  /** The descendants the last killGroup() ended (restic runs in a process group of its own). */
  killedDescendants: number[] = [];

  /**
   * SIGKILL the agent's process group and every descendant (restic and its ssh run in process
   * groups of their own since issue 12): a power cut, where agent and restic die together.
   */
  killGroup(): void {
    const tree = descendants(this.pid);
    try {
      process.kill(-this.pid, 'SIGKILL');
    } catch {
      /* gone */
    }
    signalEntries(tree, 'SIGKILL');
    this.killedDescendants = tree.map((e) => e.pid);
  }

  /** Send `signal`, wait for exit (SIGKILL of the group after `timeoutMs`); resolves with exit info and ms taken. */
  async stop(
    signal: NodeJS.Signals = 'SIGTERM',
    timeoutMs = 60_000,
  ): Promise<{ code: number | null; signal: NodeJS.Signals | null; ms: number }> {
    const t0 = Date.now();
    this.signal(signal);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<null>((r) => {
      timer = setTimeout(() => r(null), timeoutMs);
    });
    const res = await Promise.race([this.exited, timeout]);
    clearTimeout(timer);
    if (!res) {
      this.killGroup();
      await this.exited;
      throw new Error(`agent did not exit within ${timeoutMs} ms of ${signal}; stderr:\n${this.stderr.slice(-3000)}`);
    }
    return { ...res, ms: Date.now() - t0 };
  }
}

/** The processes of one test file; `killAll()` in afterAll. */
export class ProcessGroup {
  private readonly agents: AgentProcess[] = [];
  private readonly children = new Set<ChildProcess>();

  /** Start `rbackup2 --config configPath ...args` (default `run`) in the background. */
  startAgent(configPath: string, args: string[] = ['run'], opts: SpawnOpts = {}): AgentProcess {
    const a = new AgentProcess(configPath, args, opts);
    this.agents.push(a);
    return a;
  }

  /** Start an agent and wait until its API answers GET /health; returns it with its base URL. */
  async startAgentReady(
    configPath: string,
    port: number,
    opts: SpawnOpts & { timeoutMs?: number } = {},
  ): Promise<AgentProcess> {
    const a = this.startAgent(configPath, ['run'], opts);
    await a.waitForLog('rbackup2 agent started', opts.timeoutMs ?? 90_000);
    await waitFor(
      'agent API /health',
      async () => {
        if (a.exitInfo) throw new StopWaiting(`agent exited: ${a.stderr.slice(-2000)}`);
        return (await fetch(`http://127.0.0.1:${port}/health`, { signal: AbortSignal.timeout(2000) })).ok;
      },
      opts.timeoutMs ?? 60_000,
    );
    return a;
  }

  /** Run `rbackup2 ...args` to completion (stdout/stderr captured, bounded). */
  runCli(args: string[], opts: SpawnOpts = {}): Promise<CliResult> {
    const t0 = Date.now();
    const child = spawn(process.execPath, [MAIN_JS, ...args], {
      cwd: opts.cwd,
      env: childEnv(opts.env),
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    this.children.add(child);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => {
      stdout = appendBounded(stdout, c);
    });
    child.stderr.on('data', (c: Buffer) => {
      stderr = appendBounded(stderr, c);
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(opts.input ?? '');
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 120_000);
    return new Promise((resolve) => {
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        this.children.delete(child);
        resolve({ code, signal, stdout, stderr, ms: Date.now() - t0 });
      });
    });
  }

  /** SIGKILL every process (and agent process group) still alive; waits for the agents to go. */
  async killAll(): Promise<void> {
    for (const c of this.children) c.kill('SIGKILL');
    for (const a of this.agents) if (!a.exitInfo) a.killGroup();
    await Promise.all(this.agents.map((a) => Promise.race([a.exited, new Promise((r) => setTimeout(r, 5000))])));
  }
}

/** API call to a spawned agent: JSON in and out (POST always sends Content-Type: application/json). */
export async function api(
  port: number,
  method: 'GET' | 'POST',
  p: string,
  body?: unknown,
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
): Promise<{ status: number; json: any }> {
  const auth = { authorization: `Bearer ${TEST_API_TOKEN}` };
  const res = await fetch(`http://127.0.0.1:${port}${p}`, {
    method,
    signal: AbortSignal.timeout(15_000),
    ...(method === 'POST'
      ? { headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify(body ?? {}) }
      : { headers: auth }),
  });
  const text = await res.text();
  let json: unknown = null;
  try {
    json = JSON.parse(text);
  } catch {
    json = text;
  }
  return { status: res.status, json };
}
