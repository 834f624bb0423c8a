/**
 * The one-shot backup of `rbackup2 backup JOB` on this machine: one job, recorded as a manual run,
 * with exactly one restic process when the repository has no locks (restic's version comes from
 * the cache of restic-version-cache.ts; lock handling runs only when locks exist).
 */
import { systemClock } from '../../clock.js';
import { getRun, lastSuccessFiles, loadDeviceConfig, recordResticHost, resolveJob } from '../db-api.js';
import { agentSettings } from '../../config/device-config.js';
import { runDetail } from '../../agent/run-views.js';
import { AppError } from '../../errors.js';
import { EventBus } from '../../events.js';
import { silentLogger } from '../../logging.js';
import { ActiveRepositories } from '../../backup/active-repositories.js';
import type { BackupResult } from '../../backup/backup-result.js';
import { RunLifecycle } from '../../runs/run-lifecycle.js';
import { DbRunStore } from '../../runs/run-store.js';
import { withDatabase } from '../context.js';
import type { LocalConfig } from '../../config/local-config.js';
import { cachedResticVersion } from '../restic-version-cache.js';
import { EXIT } from './backup-exit.js';

function humanBytes(n: number | null): string {
  if (n === null) return '-';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) { v /= 1024; i++; }
  return `${v.toFixed(i === 0 ? 0 : 1)} ${units[i]}`;
}

function summaryText(jobName: string, runId: number | null, r: BackupResult): string {
  const lines = [`${jobName}: ${r.status}${r.snapshotId ? `, snapshot ${r.snapshotId}` : ''} (run ${runId ?? '-'}, ${r.durationSeconds.toFixed(1)} s)`];
  if (r.totalFilesProcessed !== null) {
    lines.push(`  files: ${r.filesNew ?? 0} new, ${r.filesChanged ?? 0} changed, ${r.filesUnmodified ?? 0} unmodified; ${humanBytes(r.totalBytesProcessed)} processed, ${humanBytes(r.dataAddedBytes)} added`);
  }
  if (r.errorMessage) lines.push(`  ${r.errorMessage}`);
  for (const w of r.warnings) lines.push(`  warning: ${w}`);
  return lines.join('\n');
}

/** Back up `jobRef` (name or id) of this device now; prints the summary (or JSON), sets process.exitCode. */
export async function backupHere(local: LocalConfig, jobRef: string, json: boolean): Promise<void> {
  const restic = await cachedResticVersion(local.client.restic_binary, local.dataDir);
  await withDatabase(local, async (db) => {
    const job = await resolveJob(db, jobRef, local.device.id);
    const config = await loadDeviceConfig(db, local.device.id, new Date(), { localZone: Intl.DateTimeFormat().resolvedOptions().timeZone });
    const invalid = config.invalidJobs.find((j) => j.id === job.id);
    if (invalid) throw new AppError('INVALID_INPUT', `job "${job.name}" is invalid: ${invalid.reason}`);
    const jobConfig = config.jobs.find((j) => j.id === job.id);
    if (!jobConfig) throw new AppError('NOT_FOUND', `job "${jobRef}" not found on device ${local.device.id}`);
    const lifecycle = new RunLifecycle({
      deviceId: local.device.id, dataDir: local.dataDir, clock: systemClock, events: new EventBus(), store: new DbRunStore(db),
      logger: silentLogger(), activeRepositories: new ActiveRepositories(), restic: () => restic, resticError: () => null,
      timeouts: () => agentSettings(config.settings), previousFiles: (jobId) => lastSuccessFiles(db, jobId),
      recordResticHost: (jobId, host) => recordResticHost(db, jobId, host),
    });
    const onSignal = () => lifecycle.cancelAll();
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    let outcome;
    try {
      outcome = await lifecycle.execute(jobConfig, 'manual');
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
    const { result: r, runId } = outcome;
    if (json) {
      // The same shape as GET /runs/{id} (and as the path through a running agent below).
      const row = runId !== null ? await getRun(db, runId) : null;
      if (!row) throw new AppError('BACKUP_FAILED', `the run of job "${job.name}" ended ${r.status} but its record could not be read back`);
      console.log(JSON.stringify({ runId, ...runDetail(row) }, null, 2));
    } else console.log(summaryText(job.name, runId, r));
    process.exitCode = EXIT[r.status] ?? 1;
  });
}

