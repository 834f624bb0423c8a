/**
 * The work of `rbackup2 forget JOB [--dry-run]` (issue 18 point 2), loaded when it runs. A dry run
 * asks restic what the job's retention policy would remove (`forget --dry-run --no-lock`: no lock,
 * nothing written) and prints it; a real forget runs the forget task like the agent does (under
 * the repository's exclusive lease, recorded as a run of kind `forget`).
 */
import { systemClock } from '../../clock.js';
import type { JobConfig } from '../../config/device-config.js';
import type { LocalConfig } from '../../config/local-config.js';
import { AppError } from '../../errors.js';
import { silentLogger } from '../../logging.js';
import { buildMaintenance } from '../../maintenance/maintenance-wiring.js';
import { describeRetention } from '../../maintenance/retention-policy.js';
import { forgetTask, previewForget, type ForgetPlan } from '../../tasks/forget-task.js';
import { loadDeviceConfig, resolveJob } from '../db-api.js';
import { withDatabase } from '../context.js';
import { formatTable } from '../output.js';
import { cachedResticVersion } from '../restic-version-cache.js';
import { cancelledBySignals, oneShotLifecycle } from '../one-shot-run.js';

/** The human text of a plan: what is kept (with restic's reasons) and what is removed. */
export function planText(jobName: string, plan: ForgetPlan, dryRun: boolean): string {
  const row = (s: { id: string; time: string; hostname: string; paths: string[] }, why: string) => ({
    id: s.id.slice(0, 8),
    time: s.time.replace('T', ' ').replace(/\.\d+/, ''),
    host: s.hostname,
    paths: s.paths.join(', '),
    why,
  });
  const rows = [
    ...plan.keep.map((s) => row(s, `keep: ${s.reasons.join(', ') || 'policy'}`)),
    ...plan.remove.map((s) => row(s, dryRun ? 'would be removed' : 'removed')),
  ].sort((a, b) => (a.time < b.time ? 1 : -1));
  const head = `${jobName}: retention ${describeRetention(plan.policy)}: ${plan.keep.length} kept, ${plan.remove.length} ${dryRun ? 'would be removed' : 'removed'}`;
  if (rows.length === 0) return `${head}\nno snapshots`;
  return `${head}\n${formatTable(rows, [
    { key: 'id', header: 'ID' },
    { key: 'time', header: 'TIME' },
    { key: 'host', header: 'HOST' },
    { key: 'paths', header: 'PATHS' },
    { key: 'why', header: 'WHY' },
  ])}`;
}

/** Forget (or with dryRun preview) job `jobRef` of this device; prints text or JSON; sets process.exitCode. */
export async function forgetHere(local: LocalConfig, jobRef: string, dryRun: boolean, json: boolean): Promise<void> {
  const restic = await cachedResticVersion(local.client.restic_binary, local.dataDir);
  await withDatabase(local, async (db) => {
    const row = await resolveJob(db, jobRef, local.device.id);
    const config = await loadDeviceConfig(db, row.deviceId, new Date());
    const job: JobConfig | undefined = config.jobs.find((j) => j.id === row.id);
    if (!job) {
      const why = config.invalidJobs.find((j) => j.id === row.id)?.reason ?? 'unknown';
      throw new AppError('INVALID_INPUT', `job "${row.name}" is invalid: ${why}`);
    }
    const m = buildMaintenance({
      db,
      deviceId: row.deviceId,
      dataDir: local.dataDir,
      clock: systemClock,
      logger: silentLogger(),
      restic: () => restic,
      settings: () => config.settings,
    });
    if (dryRun) {
      const plan = await previewForget(job, m.deps);
      console.log(json ? JSON.stringify({ dry_run: true, ...plan }, null, 2) : planText(job.name, plan, true));
      return;
    }
    const lifecycle = oneShotLifecycle(db, row.deviceId, local.dataDir, restic);
    const r = await cancelledBySignals(lifecycle, () => lifecycle.run(forgetTask(job, 'manual', m.deps)));
    const meta = r.outcome.metadata ?? {};
    if (json) console.log(JSON.stringify({ runId: r.runId, status: r.status, error: r.outcome.errorMessage, ...meta }));
    else
      console.log(
        r.status === 'success'
          ? `${job.name}: forget done (run ${r.runId ?? '-'}): ${String(meta.kept_count)} kept, ${String(meta.removed_count)} removed`
          : `${job.name}: forget ${r.status}: ${r.outcome.errorMessage ?? ''}`,
      );
    process.exitCode = r.status === 'success' ? 0 : 1;
  });
}
