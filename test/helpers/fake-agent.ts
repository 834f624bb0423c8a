/**
 * An in-memory AgentPort for the API and UI tests: two jobs (one with a cron schedule), a global
 * repository password (the C13 one, to prove it never leaves the API), runs kept in memory, and a
 * simulated backup that emits run.started, a few run.progress and run.finished on the EventBus.
 * Tests create it only through startTestAgent(), so the lead can swap in the real agent there.
 */
import { randomUUID } from 'node:crypto';
import { EventBus } from '../../src/events.js';
import type {
  AgentPort,
  AgentStatus,
  ConfigView,
  JobStatus,
  RunDetail,
  TriggerResult,
} from '../../src/api/agent-port.js';
import { AppError, type FieldError } from '../../src/errors.js';
import { parseConfigChange, REDACTED, type ConfigChange } from '../../src/api/config-schema.js';
import { nextRunTimes } from '../../src/scheduler/next-run.js';
import type { ScheduleConfig } from '../../src/config/device-config.js';

export interface TestAgent {
  port: AgentPort;
  /** The repository password stored in the agent; no API response may contain it. */
  repositoryPassword: string;
  /** Jobs that exist at start (the first has a daily cron schedule). */
  jobs: { id: string; name: string }[];
  close(): Promise<void>;
}

export interface TestAgentOptions {
  /** Length of one simulated backup in milliseconds (default 1200), in 8 progress steps. */
  runMs?: number;
}

interface Job {
  id: string;
  name: string;
  description: string | null;
  source_paths: string[];
  exclude_patterns: string[];
  tags: string[];
  restic_args: string[];
  repository_id: string | null;
  enabled: boolean;
  schedules: Sched[];
  hooks: Record<string, unknown>[];
}
interface Sched {
  id: number;
  schedule_type: 'cron' | 'interval';
  cron_expression: string | null;
  interval_seconds: number | null;
  timezone: string | null;
  catch_up: boolean;
  enabled: boolean;
}

const LOCAL_ZONE = 'Europe/Prague';

function toScheduleConfig(jobId: string, s: Sched): ScheduleConfig {
  return {
    id: s.id,
    jobId,
    type: s.schedule_type,
    cronExpression: s.cron_expression,
    intervalSeconds: s.interval_seconds,
    timezone: s.timezone,
    catchUp: s.catch_up,
    enabled: s.enabled,
    lastRunAt: null,
    nextRunAt: null,
  };
}

/** Starts the in-memory agent used by test/api and test/ui. */
export async function startTestAgent(opts: TestAgentOptions = {}): Promise<TestAgent> {
  const runMs = opts.runMs ?? 1200;
  const events = new EventBus();
  const password = 'pa$$ w0rd"\'`;#';
  const settings: Record<string, string> = {
    repository_url: '/tmp/fake-repo',
    repository_password: password,
    sync_interval_seconds: '300',
  };
  const nextId = { sched: 1, hook: 1, run: 1 };
  const mkJob = (name: string, paths: string[], sched: Omit<Sched, 'id'>[]): Job => ({
    id: randomUUID(),
    name,
    description: null,
    source_paths: paths,
    exclude_patterns: [],
    tags: [],
    restic_args: [],
    repository_id: null,
    enabled: true,
    schedules: sched.map((s) => ({ ...s, id: nextId.sched++ })),
    hooks: [],
  });
  const jobs: Job[] = [
    mkJob(
      'Documents',
      ['/home/user/Documents'],
      [
        {
          schedule_type: 'cron',
          cron_expression: '0 3 * * *',
          interval_seconds: null,
          timezone: null,
          catch_up: true,
          enabled: true,
        },
      ],
    ),
    mkJob('Fotomateriály', ['/srv/Fotomateriály/Rok 2024'], []),
  ];
  const runs: RunDetail[] = [];
  const active = new Map<string, { runId: number; timer: NodeJS.Timeout; progress: JobStatus['progress'] }>();

  const nextRuns = (job: Job, n: number): string[] => {
    const all = job.schedules.flatMap((s) =>
      nextRunTimes(toScheduleConfig(job.id, s), new Date(), n, { localZone: LOCAL_ZONE }),
    );
    return all
      .sort((a, b) => a.getTime() - b.getTime())
      .slice(0, n)
      .map((d) => d.toISOString());
  };
  const finish = (jobId: string, status: 'success' | 'cancelled'): void => {
    const a = active.get(jobId);
    const run = runs.find((r) => r.id === a?.runId);
    if (!a || !run) return;
    clearTimeout(a.timer);
    active.delete(jobId);
    const end = new Date();
    Object.assign(run, {
      status,
      endTime: end.toISOString(),
      durationSeconds: (end.getTime() - Date.parse(run.startTime)) / 1000,
      exitCode: status === 'success' ? 0 : 130,
      snapshotId: status === 'success' ? 'a1b2c3d4' : null,
      dataAddedBytes: status === 'success' ? 5_000_000 : null,
      totalFilesProcessed: 80,
      filesNew: 3,
      filesChanged: 1,
      filesUnmodified: 76,
    });
    if (status === 'success') run.warnings.push('no shadow copy was used');
    events.emit('run.finished', {
      runId: run.id,
      operation: 'backup',
      jobId,
      jobName: run.jobName ?? '',
      repositoryId: null,
      triggeredBy: run.triggeredBy,
      status,
      endTime: run.endTime ?? end.toISOString(),
      snapshotId: run.snapshotId,
      durationSeconds: run.durationSeconds ?? 0,
      exitCode: run.exitCode,
      errorMessage: null,
      errorKind: null,
      totalFilesProcessed: run.totalFilesProcessed,
      dataAddedBytes: run.dataAddedBytes,
    });
  };
  const start = (job: Job): void => {
    const now = new Date().toISOString();
    const run: RunDetail = {
      id: nextId.run++,
      operation: 'backup',
      jobId: job.id,
      repositoryId: null,
      jobName: job.name,
      status: 'running',
      triggeredBy: 'manual',
      startTime: now,
      endTime: null,
      durationSeconds: null,
      snapshotId: null,
      dataAddedBytes: null,
      totalFilesProcessed: null,
      totalBytesProcessed: null,
      filesNew: null,
      filesChanged: null,
      filesUnmodified: null,
      errorMessage: null,
      exitCode: null,
      errorKind: null,
      resticOutput: 'using parent snapshot 1234abcd\n',
      resticErrors: null,
      warnings: [],
      unreadablePaths: [],
    };
    runs.push(run);
    events.emit('run.started', {
      runId: run.id,
      operation: 'backup',
      jobId: job.id,
      jobName: job.name,
      repositoryId: null,
      triggeredBy: 'manual',
      startTime: now,
    });
    let step = 0;
    const tick = (): void => {
      step += 1;
      if (step > 8) return finish(job.id, 'success');
      const progress = {
        percentDone: step / 8,
        totalFiles: 80,
        filesDone: step * 10,
        totalBytes: 8_000_000,
        bytesDone: step * 1_000_000,
        secondsElapsed: step,
        secondsRemaining: 8 - step,
        currentFiles: [`${job.source_paths[0] ?? ''}/file${step}`],
      };
      const a = active.get(job.id);
      if (!a) return;
      a.progress = progress;
      events.emit('run.progress', {
        runId: run.id,
        operation: 'backup',
        jobId: job.id,
        jobName: job.name,
        repositoryId: null,
        progress,
      });
      a.timer = setTimeout(tick, runMs / 8);
    };
    active.set(job.id, { runId: run.id, timer: setTimeout(tick, runMs / 8), progress: null });
  };

  const view = (): ConfigView => ({
    device: { id: 'test-device', name: 'Test workstation' },
    jobs: jobs.map((j) => ({
      ...j,
      schedules: j.schedules.map((s) => ({ ...s })),
      hooks: j.hooks.map((h) => ({ ...h })),
    })),
    settings: Object.fromEntries(Object.entries(settings).map(([k, v]) => [k, /password/.test(k) && v ? REDACTED : v])),
    repositories: [],
  });

  const apply = (c: ConfigChange): FieldError[] => {
    const errors: FieldError[] = [];
    (c.jobs ?? []).forEach((ji, i) => {
      const existing = ji.id ? jobs.find((j) => j.id === ji.id) : undefined;
      if (ji.id && !existing) errors.push({ field: `jobs[${i}].id`, message: 'no such job on this device' });
      const clash = jobs.find((j) => j.name === ji.name && j.id !== ji.id);
      if (clash) errors.push({ field: `jobs[${i}].name`, message: `a job named "${ji.name}" already exists` });
      (ji.schedules ?? []).forEach((s, k) => {
        if (s.id !== undefined && !existing?.schedules.some((x) => x.id === s.id))
          errors.push({ field: `jobs[${i}].schedules[${k}].id`, message: 'no such schedule of this job' });
      });
    });
    (c.delete_jobs ?? []).forEach((id, i) => {
      if (!jobs.some((j) => j.id === id)) errors.push({ field: `delete_jobs[${i}]`, message: 'no such job' });
    });
    if (errors.length > 0) return errors;
    for (const ji of c.jobs ?? []) {
      let job = ji.id ? jobs.find((j) => j.id === ji.id) : undefined;
      if (!job) {
        job = mkJob(ji.name ?? '', ji.source_paths ?? [], []);
        jobs.push(job);
      }
      const { schedules, hooks, id: _id, ...fields } = ji;
      Object.assign(job, Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined)));
      for (const s of schedules ?? []) {
        const row: Sched = {
          id: s.id ?? nextId.sched++,
          schedule_type: s.schedule_type,
          cron_expression: s.cron_expression ?? null,
          interval_seconds: s.interval_seconds ?? null,
          timezone: s.timezone ?? null,
          catch_up: s.catch_up,
          enabled: s.enabled,
        };
        const idx = job.schedules.findIndex((x) => x.id === row.id);
        if (idx >= 0) job.schedules[idx] = row;
        else job.schedules.push(row);
      }
      for (const h of hooks ?? []) job.hooks.push({ ...h, id: h.id ?? nextId.hook++ });
    }
    for (const id of c.delete_jobs ?? [])
      jobs.splice(
        jobs.findIndex((j) => j.id === id),
        1,
      );
    for (const sid of c.delete_schedules ?? [])
      for (const j of jobs) j.schedules = j.schedules.filter((s) => s.id !== sid);
    for (const [k, v] of Object.entries(c.settings ?? {})) {
      if (v === null) delete settings[k];
      else if (v !== REDACTED) settings[k] = v; // REDACTED sent back keeps the stored secret
    }
    events.emit('config.reloaded', { changes: ['api'], loadedAt: new Date().toISOString() });
    return [];
  };

  const noChannels = async (): Promise<never> => {
    throw new AppError('CONFLICT', 'the fake agent has no notification channels (test them on a real agent)');
  };
  const port: AgentPort = {
    events,
    channels: { list: noChannels, add: noChannels, remove: noChannels, test: noChannels },
    async status(): Promise<AgentStatus> {
      return {
        device: {
          id: 'test-device',
          name: 'Test workstation',
          hostname: 'test-host',
          platform: 'linux',
          agentVersion: '0.1.0',
          resticVersion: '0.14.0',
        },
        database: {
          kind: 'pglite',
          connected: true,
          lastSyncAt: new Date().toISOString(),
          usingCachedConfig: false,
          cachedConfigSince: null,
          downSince: null,
          pendingJournalEntries: 0,
          listening: false,
          pollingReason: null,
        },
        restic: { ok: true, version: '0.14.0', error: null },
        settingProblems: [],
        jobs: jobs.map((j) => {
          const a = active.get(j.id);
          const last = [...runs].reverse().find((r) => r.jobId === j.id && r.status !== 'running') ?? null;
          return {
            id: j.id,
            name: j.name,
            enabled: j.enabled,
            sourcePaths: j.source_paths,
            invalidReason: null,
            description: typeof j.description === 'string' ? j.description : null,
            tags: Array.isArray(j.tags) ? (j.tags as string[]) : [],
            lastRun: last,
            lastSuccess:
              [...runs].reverse().find((r) => r.jobId === j.id && (r.status === 'success' || r.status === 'partial')) ??
              null,
            failingSince: null,
            nextRunAt: nextRuns(j, 1)[0] ?? null,
            retryAt: null,
            running: !!a,
            queued: false,
            progress: a?.progress ?? null,
          };
        }),
        running: [...active.entries()].map(([jobId, a]) => ({
          operation: 'backup' as const,
          jobId,
          repositoryId: null,
          runId: a.runId,
          startTime: runs.find((r) => r.id === a.runId)?.startTime ?? '',
          progress: a.progress,
        })),
      };
    },
    async getConfig() {
      return view();
    },
    async postConfig(body) {
      const parsed = parseConfigChange(body);
      if (!parsed.ok) return { ok: false, errors: parsed.errors };
      const errors = apply(parsed.change);
      return errors.length > 0 ? { ok: false, errors } : { ok: true, config: view() };
    },
    async triggerJob(jobId): Promise<TriggerResult> {
      const job = jobs.find((j) => j.id === jobId);
      if (!job) throw new AppError('NOT_FOUND', `job ${jobId} does not exist`);
      if (active.has(jobId)) return { state: 'already_running', jobId };
      start(job);
      return { state: 'started', position: 0, jobId };
    },
    async listRuns(q) {
      return runs
        .filter((r) => (!q.jobId || r.jobId === q.jobId) && (!q.operation || r.operation === q.operation))
        .reverse()
        .slice(q.offset, q.offset + q.limit)
        .map(({ errorKind: _k, resticOutput: _o, resticErrors: _e, warnings: _w, unreadablePaths: _u, ...s }) => s);
    },
    async getRun(id) {
      const r = runs.find((x) => x.id === id);
      return r ? { ...r } : null;
    },
    async cancelRun(id) {
      const entry = [...active.entries()].find(([, a]) => a.runId === id);
      if (!entry) return false;
      finish(entry[0], 'cancelled');
      return true;
    },
    async nextRuns(jobId, n) {
      const job = jobs.find((j) => j.id === jobId);
      if (!job) throw new AppError('NOT_FOUND', `job ${jobId} does not exist`);
      return nextRuns(job, n);
    },
    async addRepository(input) {
      // The in-memory agent runs no restic: it refuses, so a UI test of adding one uses the real agent.
      return { ok: false, errors: [{ field: 'url', message: `the test agent cannot reach ${input.url}` }] };
    },
    async previewCron(expression, timezone, n) {
      const s: Sched = {
        id: 0,
        schedule_type: 'cron',
        cron_expression: expression,
        interval_seconds: null,
        timezone,
        catch_up: true,
        enabled: true,
      };
      return nextRunTimes(toScheduleConfig('preview', s), new Date(), n, { localZone: LOCAL_ZONE }).map((d) =>
        d.toISOString(),
      );
    },
  };

  // Seeds a finished partial run with unreadable files (for the detail view and history).
  const seed: RunDetail = {
    id: nextId.run++,
    operation: 'backup',
    jobId: jobs[1]!.id,
    repositoryId: null,
    jobName: jobs[1]!.name,
    status: 'partial',
    triggeredBy: 'schedule',
    startTime: new Date(Date.now() - 86_400_000).toISOString(),
    endTime: new Date(Date.now() - 86_340_000).toISOString(),
    durationSeconds: 60,
    snapshotId: '9f8e7d6c',
    dataAddedBytes: 12_345_678,
    totalFilesProcessed: 1200,
    totalBytesProcessed: 3_000_000_000,
    filesNew: 10,
    filesChanged: 2,
    filesUnmodified: 1188,
    errorMessage: 'restic exit code 3: some files could not be read',
    exitCode: 3,
    errorKind: 'unreadable_files',
    resticOutput: 'x'.repeat(100_000),
    resticErrors: '{"message_type":"error","error":{"Op":"open","Path":"/srv/Fotomateriály/secret.jpg","Err":13}}',
    warnings: [],
    unreadablePaths: ['/srv/Fotomateriály/secret.jpg'],
  };
  runs.push(seed);

  return {
    port,
    repositoryPassword: password,
    jobs: jobs.map((j) => ({ id: j.id, name: j.name })),
    async close() {
      for (const a of active.values()) clearTimeout(a.timer);
      active.clear();
    },
  };
}
