/**
 * `rbackup2 backup JOB [--json]` (alias `--test-backup JOB`): one backup of a job now, recorded as
 * a manual run, with a short summary. Exit 0 success, 3 partial, 1 failed or cancelled (CONTRACTS §1).
 * The backup itself (backup-here.ts) is loaded only when this command runs.
 */
import type { Command } from 'commander';
import { AppError, isAppError } from '../../errors.js';
import { sleep, systemClock } from '../../clock.js';
import { loadConfig, openCommandDatabase, type GlobalOptions } from '../context.js';
import { agentRequest, directOrViaAgent } from '../agent-client.js';
import type { AgentStatus, ConfigView, RunDetail, RunSummary } from '../../api/agent-port.js';
import type { LocalConfig } from '../../config/local-config.js';
import { EXIT } from './backup-exit.js';
import type { EarlyStart } from '../early-backup-start.js';

/** Run one backup of `jobRef` (name or id) and set process.exitCode. */
async function backupNow(program: Command, jobRef: string, json: boolean): Promise<void> {
  const local = await loadConfig(program.opts<GlobalOptions>());
  // restic starts first, from the cached config (early-backup-start.ts): its key derivation is the
  // longest step before the backup proper. The database opens meanwhile, and the backup's code
  // loads while the database answers (see openCommandDatabase).
  const earlyStart = import('../early-backup-start.js').then((m) => m.startEarlyBackup(local, jobRef));
  const opened = earlyStart.then(() => openCommandDatabase(local));
  opened.catch(() => undefined); // handled by backupHere, or DB_LOCKED below
  try {
    await directOrViaAgent(
      local,
      async () => {
        await earlyStart; // nothing else competes for this thread until restic has started
        return (await import('./backup-here.js')).backupHere(local, jobRef, json, opened, earlyStart);
      },
      async () => {
        await (await earlyStart).close(); // never started when an agent held the database; reported below
        return backupViaAgent(local, jobRef, json);
      },
    );
  } finally {
    await closeEarly(earlyStart);
  }
}

/** Stop an early restic the run did not take over; say so when it had written a snapshot already. */
async function closeEarly(earlyStart: Promise<EarlyStart>): Promise<void> {
  const note = await (await earlyStart).close();
  if (note) console.error(`rbackup2: ${note}`);
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
    await sleep(systemClock, 1000);
    const st = await agentRequest<AgentStatus>(local, '/status');
    const j = st.jobs.find((x) => x.id === jobId);
    if (j && (j.running || j.queued)) continue;
    const run = (await agentRequest<{ runs: RunSummary[] }>(local, `/runs?limit=1&job_id=${jobId}`)).runs[0];
    if (!run || run.id === before) continue;
    if (json)
      console.log(
        JSON.stringify({ runId: run.id, ...(await agentRequest<RunDetail>(local, `/runs/${run.id}`)) }, null, 2),
      );
    else
      console.log(
        `${String(job.name)}: ${run.status}${run.snapshotId ? `, snapshot ${run.snapshotId}` : ''} (run ${run.id})${run.errorMessage ? `\n  ${run.errorMessage}` : ''}`,
      );
    process.exitCode = EXIT[run.status] ?? 1;
    return;
  }
}

/** Register `backup` on `program`. */
export function registerBackupCommand(program: Command): void {
  program
    .command('backup <job>')
    .description('run one backup of a job (name or id) now; exit 0 success, 3 partial, 1 failed')
    .option('--json', 'print the result as JSON')
    .action(async (jobRef: string, o: { json?: boolean }) =>
      backupNow(program, jobRef, o.json === true || program.opts<{ json?: boolean }>().json === true),
    );
}

/** The `--test-backup JOB` form of CONTRACTS §1. */
export async function runTestBackupOption(program: Command): Promise<void> {
  const o = program.opts<{ testBackup: string; json?: boolean }>();
  await backupNow(program, o.testBackup, o.json === true);
}
