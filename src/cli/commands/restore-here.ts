/**
 * The work of `rbackup2 restore` (restore.ts): the job from the database (by name on --device or
 * the config's device, or by id), the checks of src/restore (the same as POST /restores: target
 * allowed, nothing overwritten without --overwrite, nothing written on refusal), then the restore
 * task through a run lifecycle so it is recorded as a run with operation 'restore'. When the
 * embedded database is held by a running agent, the agent does it (POST /restores).
 */
import type { AdminLocalConfig, LocalConfig } from '../../config/local-config.js';
import { AppError } from '../../errors.js';
import { RestoreService } from '../../restore/restore-service.js';
import { parseRestoreRoots } from '../../restore/targets.js';
import { restoreTask } from '../../tasks/restore-task.js';
import type { RestoreStarted } from '../../api/restore-port.js';
import type { RunDetail } from '../../api/agent-port.js';
import { agentRequest, directOrViaAgent } from '../agent-client.js';
import { deviceFor, withDatabase } from '../context.js';
import { humanBytes } from '../output.js';
import { cachedResticVersion } from '../restic-version-cache.js';
import { cancelledBySignals, oneShotLifecycle } from '../one-shot-run.js';
import { connectionFor } from './restic-ops.js';
import type { RestoreCliOptions } from './restore.js';

/** Restore as `rbackup2 restore` asks; prints the result and sets process.exitCode. */
export async function restoreHere(
  local: AdminLocalConfig,
  jobRef: string,
  snapshotRef: string,
  o: RestoreCliOptions,
): Promise<void> {
  const deviceId = deviceFor(local, o.device, 'restore');
  await directOrViaAgent(
    local,
    () => restoreDirect(local, deviceId, jobRef, snapshotRef, o),
    () => restoreViaAgent(local as LocalConfig, jobRef, snapshotRef, o),
  );
}

async function restoreDirect(
  local: AdminLocalConfig,
  deviceId: string,
  jobRef: string,
  snapshotRef: string,
  o: RestoreCliOptions,
): Promise<void> {
  const restic = await cachedResticVersion(local.client.restic_binary, local.dataDir);
  await withDatabase(local, async (db, q) => {
    const row = await q.resolveJob(db, jobRef, deviceId);
    const config = await q.loadDeviceConfig(db, row.deviceId, new Date());
    const job = config.jobs.find((j) => j.id === row.id);
    if (!job) {
      const why = config.invalidJobs.find((j) => j.id === row.id)?.reason ?? 'unknown';
      throw new AppError('INVALID_INPUT', `job "${row.name}" is invalid: ${why}`);
    }
    const connection = async () => {
      if (!job.repository) throw new AppError('INVALID_INPUT', `job "${job.name}" has no repository`);
      return connectionFor(local, job.repository);
    };
    const service = new RestoreService({
      dataDir: local.dataDir,
      platform: process.platform,
      job: (id) => (id === job.id ? job : null),
      connection,
      restoreRoots: () => parseRestoreRoots(config.settings.restore_roots),
    });
    const plan = await service.plan({
      jobId: job.id,
      snapshotId: snapshotRef,
      paths: o.path,
      target: o.target ?? null,
      overwrite: o.overwrite === true,
    });
    if (!o.json)
      console.error(
        `restoring ${plan.files} file(s), ${humanBytes(plan.totalBytes)}, of snapshot ${plan.snapshot.shortId} (${plan.snapshot.time}, ${plan.snapshot.hostname}) into ${plan.target}`,
      );
    const lifecycle = oneShotLifecycle(db, row.deviceId, local.dataDir, restic);
    const r = await cancelledBySignals(lifecycle, () => lifecycle.run(restoreTask(plan, { connection })));
    report(o.json === true, {
      run_id: r.runId,
      status: r.status,
      target: plan.target,
      paths: plan.paths,
      files: plan.files,
      total_bytes: plan.totalBytes,
      snapshot_id: plan.snapshot.id,
      error: r.outcome.errorMessage ?? null,
    });
  });
}

function report(
  json: boolean,
  r: {
    run_id: number | null;
    status: string;
    target: string;
    paths: string[];
    files: number;
    total_bytes: number;
    snapshot_id: string;
    error: string | null;
  },
): void {
  if (json) console.log(JSON.stringify(r, null, 2));
  else if (r.status === 'success')
    console.log(`restored ${r.files} file(s), ${humanBytes(r.total_bytes)}, into ${r.target} (run ${r.run_id ?? '-'})`);
  else console.log(`restore ${r.status}${r.error ? `: ${r.error}` : ''} (run ${r.run_id ?? '-'})`);
  process.exitCode = r.status === 'success' ? 0 : 1;
}

/** The embedded database is held by the running agent: it restores (POST /restores), we wait for the run. */
async function restoreViaAgent(
  local: LocalConfig,
  jobRef: string,
  snapshotRef: string,
  o: RestoreCliOptions,
): Promise<void> {
  const view = await agentRequest<{ jobs: { id: unknown; name: unknown }[] }>(local, '/config');
  const job = view.jobs.find((j) => j.id === jobRef || j.name === jobRef);
  if (!job) throw new AppError('NOT_FOUND', `job "${jobRef}" not found on device ${local.device.id}`);
  const started = await agentRequest<RestoreStarted>(local, '/restores', {
    method: 'POST',
    body: {
      job_id: job.id,
      snapshot_id: snapshotRef,
      paths: o.path,
      target: o.target ?? null,
      overwrite: o.overwrite === true,
    },
  });
  let run: RunDetail | null = null;
  for (let i = 0; started.run_id !== null && i < 24 * 3600; i++) {
    run = await agentRequest<RunDetail>(local, `/runs/${started.run_id}`);
    if (run.status !== 'running') break;
    await new Promise((res) => setTimeout(res, 1000));
  }
  report(o.json === true, {
    run_id: started.run_id,
    status: run?.status ?? started.state,
    target: started.target,
    paths: started.paths,
    files: started.files,
    total_bytes: started.total_bytes,
    snapshot_id: started.snapshot_id,
    error: run?.errorMessage ?? null,
  });
}
