/**
 * The agent's side of issue 17 for the HTTP API: a RestoreService over the live device config,
 * the snapshot cache (refreshed when a run of the job ends), and restores started as tasks of kind
 * `restore` through the one task queue and run lifecycle.
 */
import fs from 'node:fs';
import path from 'node:path';
import { snapshotRunStats } from '../db/queries/snapshot-runs.js';
import type { RepositoryConnection } from '../restic/connection.js';
import { connector } from '../maintenance/maintenance-wiring.js';
import { RestoreService, type RestoreRequest } from '../restore/restore-service.js';
import { SnapshotCache } from '../restore/snapshot-cache.js';
import { parseRestoreRoots } from '../restore/targets.js';
import { restoreTask } from '../tasks/restore-task.js';
import type { JobConfig, RepositoryConfig } from '../config/device-config.js';
import { AppError } from '../errors.js';
import type { RestorePort, RestoreStarted } from '../api/restore-port.js';
import type { AgentParts } from './agent-service.js';

export interface AgentRestoreOptions extends AgentParts {
  /** The embedded database (PGlite): the repository passwords are on the same disk as the data. */
  embedded?: boolean;
}

export class AgentRestore implements RestorePort {
  readonly service: RestoreService;
  private readonly cache: SnapshotCache;
  private readonly stopListening: () => void;
  private readonly connect: (repo: RepositoryConfig) => RepositoryConnection;

  constructor(private readonly o: AgentRestoreOptions) {
    this.connect = connector(o.restic, o.dataDir, o.resticError);
    const job = (id: string): JobConfig | null => o.sync.config?.jobs.find((j) => j.id === id) ?? null;
    this.cache = new SnapshotCache({
      clock: o.clock,
      load: async (jobId) => {
        const j = job(jobId);
        if (!j) throw new AppError('NOT_FOUND', `job ${jobId} does not exist`);
        return this.service.readSnapshots(j);
      },
    });
    this.service = new RestoreService({
      dataDir: o.dataDir,
      platform: process.platform,
      job,
      connection: async (j) => this.connection(j),
      restoreRoots: () => parseRestoreRoots(o.sync.config?.settings.restore_roots),
      runStats: (jobId, prefixes) => snapshotRunStats(o.db, jobId, prefixes),
      cache: this.cache,
    });
    this.stopListening = o.events.on('run.finished', (e) => {
      if (e.jobId) this.cache.runEnded(e.jobId);
    });
  }

  private connection(job: JobConfig): RepositoryConnection {
    if (!job.repository) throw new AppError('INVALID_INPUT', `job "${job.name}" has no repository`);
    return this.connect(job.repository);
  }

  snapshotList(jobId: string, refresh: boolean) {
    return this.service.snapshotList(jobId, refresh);
  }

  browse(jobId: string, snapshotId: string, path: string | undefined) {
    return this.service.browse(jobId, snapshotId, path);
  }

  download(jobId: string, snapshotId: string, path: string, archive: 'zip' | 'tar') {
    return this.service.download(jobId, snapshotId, path, archive);
  }

  /**
   * Check the request (nothing written on refusal), queue the restore task, and wait up to
   * `waitMs` for its run id (it starts at once unless an exclusive task holds its repository). The
   * wait ends at the task's `run.started` (its run row is written by then), not by polling.
   */
  async startRestore(req: RestoreRequest, waitMs = 3000): Promise<RestoreStarted> {
    const plan = await this.service.plan(req);
    const task = restoreTask(plan, { connection: async (j) => this.connection(j) });
    const ours = () => this.o.lifecycle.list().find((x) => x.key === task.key) ?? null;
    let stop = (): void => undefined;
    const started = new Promise<void>((resolve) => {
      const offEvent = this.o.events.on('run.started', (e) => {
        const run = ours();
        if (run && e.operation === 'restore' && e.runId === run.runId && e.startTime === run.startTime) resolve();
      });
      const offTimer = this.o.clock.setTimer(resolve, waitMs);
      stop = () => {
        offEvent();
        offTimer();
      };
    });
    const r = this.o.scheduler.enqueue(task);
    if (r.state === 'started' && ours()?.runId == null) await started;
    stop();
    const runId = ours()?.runId ?? null;
    return {
      state: r.state === 'started' ? 'started' : 'queued',
      restore_id: task.restoreId,
      run_id: runId,
      job_id: plan.job.id,
      snapshot_id: plan.snapshot.id,
      paths: plan.paths,
      target: plan.target,
      files: plan.files,
      total_bytes: plan.totalBytes,
    };
  }

  private kitFile(): string {
    return path.join(this.o.dataDir, 'recovery-kit-confirmed');
  }

  async recoveryKitReminder(): Promise<{ remind: boolean; confirmed_at: string | null }> {
    let confirmedAt: string | null = null;
    try {
      confirmedAt = (await fs.promises.readFile(this.kitFile(), 'utf8')).trim() || null;
    } catch {
      confirmedAt = null;
    }
    return { remind: this.o.embedded === true && confirmedAt === null, confirmed_at: confirmedAt };
  }

  async confirmRecoveryKit(): Promise<{ remind: boolean; confirmed_at: string | null }> {
    await fs.promises.writeFile(this.kitFile(), new Date(this.o.clock.now()).toISOString(), { mode: 0o600 });
    return this.recoveryKitReminder();
  }

  close(): void {
    this.stopListening();
  }
}
