/**
 * Fault-injection scenarios (issue 8): one fresh PostgreSQL database, one real restic repository
 * (initialised with a random password), source folders, jobs written straight into the database,
 * and the real agent binary (`node dist/main.js --config ... run`) as a child process. The test
 * injects its fault itself (stop the database, SIGKILL, delete restic, ...) and then checks the
 * ledger (test/faults/ledger.ts).
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { migrate, openPostgres } from '../../src/db/index.js';
import { ProcessGroup, TEST_API_TOKEN, api, freePort, waitFor, type AgentProcess } from '../helpers/agent-process.js';

const run = promisify(execFile);
export const RESTIC = '/usr/bin/restic';

/** Run SQL on `url` with a short-lived client; returns the rows. */
export async function sql<T extends pg.QueryResultRow = pg.QueryResultRow>(
  url: string,
  text: string,
  params: unknown[] = [],
): Promise<T[]> {
  const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 10_000 });
  await c.connect();
  try {
    return (await c.query<T>(text, params)).rows;
  } finally {
    await c.end().catch(() => undefined);
  }
}

/** `restic <args>` on the scenario's repository (password through the environment, never argv). */
export async function restic(repo: string, password: string, args: string[], timeoutMs = 120_000): Promise<string> {
  const env = {
    ...process.env,
    RESTIC_REPOSITORY: repo,
    RESTIC_PASSWORD: password,
    RESTIC_CACHE_DIR: path.join(os.tmpdir(), 'rbackup2-faults-restic-cache'),
  };
  const { stdout } = await run(RESTIC, args, { env, timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 });
  return stdout;
}

export interface JobInput {
  name: string;
  /** Interval schedule in seconds; null = no schedule (manual runs only). */
  intervalSeconds: number | null;
  resticArgs?: string[];
}

export interface ConfigInput {
  resticBinary?: string;
  shutdownTimeoutSeconds?: number;
  /** Pushgateway URL: metrics on, pushing there. */
  pushgateway?: string;
  logLevel?: string;
}

/** One fault's world: a database, a repository, sources, jobs and the agent's files. */
export class Scenario {
  readonly deviceId: string;
  readonly repo: string;
  password = randomBytes(12).toString('hex');
  readonly dataDir: string;
  readonly logFile: string;
  readonly configPath: string;
  readonly jobs: { id: string; name: string; source: string }[] = [];
  port = 0;
  private repositoryId = '';

  private constructor(
    readonly dir: string,
    readonly dbUrl: string,
    readonly procs: ProcessGroup,
  ) {
    this.deviceId = `fault-${path.basename(dir).slice(-6)}`;
    this.repo = path.join(dir, 'repo');
    this.dataDir = path.join(dir, 'data');
    this.logFile = path.join(dir, 'logs', 'rbackup2.log');
    this.configPath = path.join(dir, 'config.yaml');
  }

  /** Migrate `dbUrl`, init the repository, register the device and its repository. */
  static async create(dbUrl: string, procs: ProcessGroup): Promise<Scenario> {
    const s = new Scenario(fs.mkdtempSync(path.join(os.tmpdir(), 'rbackup2-fault-')), dbUrl, procs);
    fs.mkdirSync(s.dataDir);
    fs.mkdirSync(path.dirname(s.logFile));
    const db = await openPostgres({ connectionString: dbUrl, connectAttempts: 3 });
    try {
      await migrate(db);
    } finally {
      await db.close();
    }
    await restic(s.repo, s.password, ['init']);
    await sql(dbUrl, 'INSERT INTO devices (id, name) VALUES ($1, $1)', [s.deviceId]);
    // Failed scheduled runs are not retried inside a test's lifetime (each run is one row to check).
    await sql(
      dbUrl,
      "INSERT INTO settings (device_id, key, value) VALUES ($1, 'retry_max_attempts', '0'), ($1, 'sync_interval_seconds', '5')",
      [s.deviceId],
    );
    const [row] = await sql<{ id: string }>(
      dbUrl,
      'INSERT INTO repositories (name, url, password) VALUES ($1, $2, $3) RETURNING id',
      [`repo-${s.deviceId}`, s.repo, s.password],
    );
    s.repositoryId = row!.id;
    return s;
  }

  /** Add a job backing up a new source folder (a few small files); returns its id. */
  async addJob(j: JobInput): Promise<string> {
    const source = path.join(this.dir, 'src', j.name);
    fs.mkdirSync(source, { recursive: true });
    for (let i = 0; i < 5; i++)
      fs.writeFileSync(path.join(source, `file-${i}.txt`), `${j.name} ${i} ${randomBytes(64).toString('hex')}\n`);
    const [job] = await sql<{ id: string }>(
      this.dbUrl,
      'INSERT INTO backup_jobs (device_id, name, source_paths, restic_args, repository_id) VALUES ($1, $2, $3, $4::jsonb, $5) RETURNING id',
      [this.deviceId, j.name, [source], JSON.stringify(j.resticArgs ?? []), this.repositoryId],
    );
    if (j.intervalSeconds !== null) {
      await sql(
        this.dbUrl,
        "INSERT INTO schedules (job_id, schedule_type, interval_seconds) VALUES ($1, 'interval', $2)",
        [job!.id, j.intervalSeconds],
      );
    }
    this.jobs.push({ id: job!.id, name: j.name, source });
    return job!.id;
  }

  /** Put `mb` MiB of fresh random data in the job's source (restic cannot deduplicate it). */
  addRandomData(jobId: string, mb: number): void {
    const job = this.jobs.find((j) => j.id === jobId)!;
    const fd = fs.openSync(path.join(job.source, `random-${randomBytes(4).toString('hex')}.bin`), 'w');
    try {
      for (let i = 0; i < mb; i++) fs.writeSync(fd, randomBytes(1024 * 1024));
    } finally {
      fs.closeSync(fd);
    }
  }

  /** Write config.yaml (log file outside data_dir, so a broken data folder still logs). */
  async writeConfig(c: ConfigInput = {}): Promise<string> {
    this.port = this.port || (await freePort());
    const lines = [
      'device:',
      `  id: ${JSON.stringify(this.deviceId)}`,
      'database:',
      `  url: ${JSON.stringify(this.dbUrl)}`,
      'client:',
      `  http_bind: "127.0.0.1:${this.port}"`,
      `  data_dir: ${JSON.stringify(this.dataDir)}`,
      `  log_file: ${JSON.stringify(this.logFile)}`,
      `  log_level: ${JSON.stringify(c.logLevel ?? 'info')}`,
      `  restic_binary: ${JSON.stringify(c.resticBinary ?? RESTIC)}`,
      `  shutdown_timeout_seconds: ${c.shutdownTimeoutSeconds ?? 60}`,
      `  api_token: ${JSON.stringify(TEST_API_TOKEN)}`, // api() sends it (issue 15: every route needs a login)
      ...(c.pushgateway
        ? [
            'metrics:',
            '  enabled: true',
            `  prometheus_pushgateway: ${JSON.stringify(c.pushgateway)}`,
            '  push_interval_seconds: 5',
            '  push_timeout_seconds: 2',
          ]
        : []),
    ];
    fs.writeFileSync(this.configPath, `${lines.join('\n')}\n`);
    return this.configPath;
  }

  /** Start the agent and wait until it logs its banner (not /health: the API may be slow under load). */
  async startAgent(): Promise<AgentProcess> {
    const a = this.procs.startAgent(this.configPath, ['run']);
    await a.waitForLog('rbackup2 agent started', 120_000);
    await waitFor(
      'agent API /health',
      async () => {
        if (a.exitInfo) throw new Error(`agent exited: ${a.stderr.slice(-2000)}`);
        return (await fetch(`http://127.0.0.1:${this.port}/health`, { signal: AbortSignal.timeout(2000) })).ok;
      },
      60_000,
    );
    return a;
  }

  /** GET /status of the running agent. */
  async status(): Promise<StatusBody> {
    return (await api(this.port, 'GET', '/status')).json as StatusBody;
  }

  /** Trigger a manual run of `jobId` (202 expected). */
  async trigger(jobId: string): Promise<void> {
    const r = await api(this.port, 'POST', `/jobs/${jobId}/run`, {});
    if (r.status !== 202) throw new Error(`trigger ${jobId}: ${r.status} ${JSON.stringify(r.json)}`);
  }

  /** Wait until `jobId` runs and restic reported at least `fraction` progress. */
  async waitRunning(jobId: string, fraction = 0.05, timeoutMs = 90_000): Promise<void> {
    await waitFor(
      `job ${jobId} running past ${fraction}`,
      async () => {
        const s = await this.status();
        const r = s.running.find((x) => x.jobId === jobId);
        return r?.progress && r.progress.percentDone >= fraction;
      },
      timeoutMs,
      150,
    );
  }

  /** Remove the temp folder (the database is dropped by its owner). */
  cleanup(): void {
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

export interface StatusBody {
  database: {
    connected: boolean;
    downSince: string | null;
    usingCachedConfig: boolean;
    cachedConfigSince: string | null;
    pendingJournalEntries: number;
  };
  running: { jobId: string; runId: number | null; progress: { percentDone: number } | null }[];
}

/** Number of `backup finished` log lines of `agents` so far (optionally of one status). */
export function finishedCount(agents: AgentProcess[], status?: string): number {
  return agents
    .flatMap((a) => a.lines)
    .filter((l) => l.json?.msg === 'backup finished' && (!status || l.json.status === status)).length;
}

/** Wait until the agents together logged `n` finished backups (of `status`, if given). */
export async function waitFinished(
  agents: AgentProcess[],
  n: number,
  status?: string,
  timeoutMs = 120_000,
): Promise<void> {
  try {
    await waitFor(
      `${n} finished backups${status ? ` (${status})` : ''}`,
      () => finishedCount(agents, status) >= n,
      timeoutMs,
      100,
    );
  } catch (err) {
    // What the agents were doing instead: the last lines of each one's log.
    const tails = agents.map(
      (a) =>
        `--- agent ${a.pid}:\n${a.lines
          .slice(-25)
          .map((l) => l.raw.slice(0, 400))
          .join('\n')}`,
    );
    throw new Error(`${(err as Error).message}\n${tails.join('\n')}`);
  }
}

/** Give `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/**
 * Wait until every process of the killed agent's process group, and the descendants killGroup()
 * ended in groups of their own (restic), are gone and reaped. A SIGKILLed restic stays a zombie until init reaps it, and a zombie's PID still
 * "exists" for restic's stale-lock rule, so its lock is not stale before that.
 */
export async function waitGroupGone(pgid: number, timeoutMs = 60_000, alsoPids: readonly number[] = []): Promise<void> {
  const alive = (target: number) => {
    try {
      process.kill(target, 0);
      return true;
    } catch {
      return false;
    }
  };
  await waitFor(
    `process group ${pgid} and its killed descendants gone`,
    () => !alive(-pgid) && !alsoPids.some(alive),
    timeoutMs,
    100,
  );
}
