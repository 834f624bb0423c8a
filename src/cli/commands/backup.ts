/**
 * `rbackup2 backup JOB [--json]` (alias `--test-backup JOB`): one backup of a job now, recorded as
 * a manual run, with a short summary. Exit 0 success, 3 partial, 1 failed or cancelled (CONTRACTS §1).
 */
import type { Command } from 'commander';
import { systemClock } from '../../clock.js';
import { getRun, loadDeviceConfig, resolveJob } from '../../db/index.js';
import { runDetail } from '../../agent/run-views.js';
import { AppError, isAppError } from '../../errors.js';
import { EventBus } from '../../events.js';
import { silentLogger } from '../../logging.js';
import { ActiveRepositories } from '../../backup/active-repositories.js';
import type { BackupResult } from '../../backup/backup-result.js';
import { discoverRestic } from '../../backup/restic-version.js';
import { RunLifecycle } from '../../runs/run-lifecycle.js';
import { DbRunStore } from '../../runs/run-store.js';
import { loadConfig, withDatabase, type GlobalOptions } from '../context.js';
import { agentRequest, directOrViaAgent } from '../agent-client.js';
import type { AgentStatus, ConfigView, RunDetail, RunSummary } from '../../api/agent-port.js';
import type { LocalConfig } from '../../config/local-config.js';

const EXIT: Record<string, number> = { success: 0, partial: 3 };

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

/** Run one backup of `jobRef` (name or id) and set process.exitCode. */
async function backupNow(program: Command, jobRef: string, json: boolean): Promise<void> {
  const local = loadConfig(program.opts<GlobalOptions>());
  await directOrViaAgent(local, () => backupHere(local, jobRef, json), () => backupViaAgent(local, jobRef, json));
}

/**
 * The embedded database is held by a running agent: ask it to run the job, wait until the run
 * ends (polling /status once a second), and report that run.
 */
async function backupViaAgent(local: LocalConfig, jobRef: string, json: boolean): Promise<void> {
  const view = await agentRequest<ConfigView>(local, '/config');
  const job = view.jobs.find((j) => j.id === jobRef || j.name === jobRef);
  if (!job) throw new AppError('NOT_FOUND', `job "${jobRef}" not found on device ${local.device.id}`);
  const jobId = String(job.id);
  const before = (await agentRequest<{ runs: RunSummary[] }>(local, `/runs?limit=1&job_id=${jobId}`)).runs[0]?.id ?? 0;
  await agentRequest(local, `/jobs/${jobId}/run`, { method: 'POST' }).catch((err: unknown) => {
    if (!isAppError(err, 'CONFLICT')) throw err; // already running: wait for that run
  });
  if (!json) console.log(`job ${String(job.name)} triggered on the running agent; waiting for it to finish`);
  for (;;) {
    await new Promise((r) => setTimeout(r, 1000));
    const st = await agentRequest<AgentStatus>(local, '/status');
    const j = st.jobs.find((x) => x.id === jobId);
    if (j && (j.running || j.queued)) continue;
    const run = (await agentRequest<{ runs: RunSummary[] }>(local, `/runs?limit=1&job_id=${jobId}`)).runs[0];
    if (!run || run.id === before) continue;
    if (json) console.log(JSON.stringify({ runId: run.id, ...(await agentRequest<RunDetail>(local, `/runs/${run.id}`)) }, null, 2));
    else console.log(`${String(job.name)}: ${run.status}${run.snapshotId ? `, snapshot ${run.snapshotId}` : ''} (run ${run.id})${run.errorMessage ? `\n  ${run.errorMessage}` : ''}`);
    process.exitCode = EXIT[run.status] ?? 1;
    return;
  }
}

async function backupHere(local: LocalConfig, jobRef: string, json: boolean): Promise<void> {
  // `restic version` (a child process) runs while the database opens and migrates (opening the
  // embedded one is CPU work in this process): the two overlap instead of adding up.
  const discovery = discoverRestic(local.client.restic_binary);
  discovery.catch(() => undefined); // awaited below; an early failure is not unhandled meanwhile
  await withDatabase(local, async (db) => {
    const restic = await discovery;
    const job = await resolveJob(db, jobRef, local.device.id);
    const config = await loadDeviceConfig(db, local.device.id, new Date(), { localZone: Intl.DateTimeFormat().resolvedOptions().timeZone });
    const invalid = config.invalidJobs.find((j) => j.id === job.id);
    if (invalid) throw new AppError('INVALID_INPUT', `job "${job.name}" is invalid: ${invalid.reason}`);
    const jobConfig = config.jobs.find((j) => j.id === job.id);
    if (!jobConfig) throw new AppError('NOT_FOUND', `job "${jobRef}" not found on device ${local.device.id}`);
    const lifecycle = new RunLifecycle({
      deviceId: local.device.id, dataDir: local.dataDir, clock: systemClock, events: new EventBus(), store: new DbRunStore(db),
      logger: silentLogger(), activeRepositories: new ActiveRepositories(), restic: () => restic, resticError: () => null,
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

/** Register `backup` on `program`. */
export function registerBackupCommand(program: Command): void {
  program.command('backup <job>').description('run one backup of a job (name or id) now; exit 0 success, 3 partial, 1 failed')
    .option('--json', 'print the result as JSON')
    .action(async (jobRef: string, o: { json?: boolean }) => backupNow(program, jobRef, o.json === true || program.opts<{ json?: boolean }>().json === true));
}

/** The `--test-backup JOB` form of CONTRACTS §1. */
export async function runTestBackupOption(program: Command): Promise<void> {
  const o = program.opts<{ testBackup: string; json?: boolean }>();
  await backupNow(program, o.testBackup, o.json === true);
}
