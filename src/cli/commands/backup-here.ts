/**
 * The one-shot backup of `rbackup2 backup JOB` on this machine: one job, recorded as a manual run,
 * with exactly one restic process when the repository has no locks (restic's version comes from
 * the cache of restic-version-cache.ts; lock handling runs only when locks exist).
 */
import { getRun, lastSuccessFiles, loadDeviceConfig, recordResticHost } from '../db-api.js';
import { agentSettings } from '../../config/device-config.js';
import { runDetail } from '../../agent/run-views.js';
import { AppError, errorMessage, isAppError } from '../../errors.js';
import type { BackupResult } from '../../backup/backup-result.js';
import { withDatabase, type CommandDatabase } from '../context.js';
import { humanBytes } from '../output.js';
import type { LocalConfig } from '../../config/local-config.js';
import { cachedResticVersion } from '../restic-version-cache.js';
import { cancelledBySignals, oneShotLifecycle } from '../one-shot-run.js';
import { EXIT } from './backup-exit.js';
import { findJobByRef, type EarlyStart } from '../early-backup-start.js';

function summaryText(jobName: string, runId: number | null, r: BackupResult): string {
  const lines = [
    `${jobName}: ${r.status}${r.snapshotId ? `, snapshot ${r.snapshotId}` : ''} (run ${runId ?? '-'}, ${r.durationSeconds.toFixed(1)} s)`,
  ];
  if (r.totalFilesProcessed !== null) {
    lines.push(
      `  files: ${r.filesNew ?? 0} new, ${r.filesChanged ?? 0} changed, ${r.filesUnmodified ?? 0} unmodified; ${humanBytes(r.totalBytesProcessed)} processed, ${humanBytes(r.dataAddedBytes)} added`,
    );
  }
  if (r.errorMessage) lines.push(`  ${r.errorMessage}`);
  for (const w of r.warnings) lines.push(`  warning: ${w}`);
  return lines.join('\n');
}

/**
 * Back up `jobRef` (name or id) of this device now, on the database `opened` (openCommandDatabase;
 * closed here); prints the summary (or JSON), sets process.exitCode.
 */
export async function backupHere(
  local: LocalConfig,
  jobRef: string,
  json: boolean,
  opened: Promise<CommandDatabase>,
  earlyStart: Promise<EarlyStart>,
): Promise<void> {
  await withDatabase(
    local,
    async (db) => {
      const restic = await cachedResticVersion(local.client.restic_binary, local.dataDir);
      // The device's config lists every job of the device (valid or not): the job is found there,
      // by id or name, without a query of its own (one round trip less before restic starts).
      const config = await loadDeviceConfig(db, local.device.id, new Date()).catch((err: unknown) => {
        // An unregistered device has no jobs: say so about the job asked for.
        if (isAppError(err, 'NOT_FOUND'))
          throw new AppError('NOT_FOUND', `job "${jobRef}" not found: ${errorMessage(err)}`);
        throw err;
      });
      const started = await earlyStart;
      const remembered = started.remember(config);
      const invalid = findJobByRef(config.invalidJobs, jobRef);
      if (invalid) throw new AppError('INVALID_INPUT', `job "${invalid.name}" is invalid: ${invalid.reason}`);
      const jobConfig = findJobByRef(config.jobs, jobRef);
      if (!jobConfig) throw new AppError('NOT_FOUND', `job "${jobRef}" not found on device ${local.device.id}`);
      const job = jobConfig;
      // The restic started from the cached copy runs this job only if the database still names it
      // by that id; whether its command is still the same is runBackup's to say.
      let early = started.early ?? undefined;
      if (early && early.job.id !== job.id) {
        await started.close(); // stops it and releases that job's lock; the run takes its own
        early = undefined;
      }
      const lifecycle = oneShotLifecycle(db, local.device.id, local.dataDir, restic, {
        timeouts: () => agentSettings(config.settings),
        previousFiles: (jobId) => lastSuccessFiles(db, jobId),
        recordResticHost: (jobId, host) => recordResticHost(db, jobId, host),
      });
      if (started.cancelled) {
        // Ctrl-C came while the database answered: its handler stops restic and exits; no run.
        await started.close();
        process.exitCode = 130;
        return;
      }
      started.handOver();
      const outcome = await cancelledBySignals(lifecycle, () => lifecycle.execute(jobConfig, 'manual', early));
      await remembered;
      const { result: r, runId } = outcome;
      if (json) {
        // The same shape as GET /runs/{id} (and as the path through a running agent below).
        const row = runId !== null ? await getRun(db, runId) : null;
        if (!row)
          throw new AppError(
            'BACKUP_FAILED',
            `the run of job "${job.name}" ended ${r.status} but its record could not be read back`,
          );
        console.log(JSON.stringify({ runId, ...runDetail(row) }, null, 2));
      } else console.log(summaryText(job.name, runId, r));
      process.exitCode = EXIT[r.status] ?? 1;
    },
    opened,
  );
}
