/** `rbackup2 runs [--job JOB] [--limit N]`: recent runs of this device, newest first. */
import type { Command } from 'commander';
import { formatTable } from '../output.js';
import { agentRequest, directOrViaAgent } from '../agent-client.js';
import { runSummary } from '../../agent/run-views.js';
import type { RunSummary } from '../../api/agent-port.js';
import { loadConfig, positiveInt, withDatabase, type GlobalOptions } from '../context.js';

/** Register `runs` on `program`. */
export function registerRunsCommand(program: Command): void {
  program
    .command('runs')
    .description('list recent runs of this device, newest first')
    .option('--job <name-or-id>', 'only this job')
    .option('--limit <n>', 'how many (default 20)', positiveInt('--limit'), 20)
    .action(async (o: { job?: string; limit: number }) => {
      const local = await loadConfig(program.opts<GlobalOptions>());
      const runs: RunSummary[] = await directOrViaAgent(
        local,
        () =>
          withDatabase(local, async (db, q) => {
            const jobId = o.job ? (await q.resolveJob(db, o.job, local.device.id)).id : undefined;
            return (await q.listRuns(db, { deviceId: local.device.id, jobId, limit: o.limit })).map(runSummary);
          }),
        async () => {
          const q = new URLSearchParams({ limit: String(Math.min(o.limit, 200)) });
          if (o.job) q.set('job_id', o.job);
          return (await agentRequest<{ runs: RunSummary[] }>(local, `/runs?${q.toString()}`)).runs;
        },
      );
      console.log(
        formatTable(
          runs.map((r) => ({
            id: r.id,
            job: r.jobName ?? r.jobId,
            status: r.status,
            by: r.triggeredBy,
            start: r.startTime,
            seconds: r.durationSeconds === null ? null : Math.round(r.durationSeconds),
            snapshot: r.snapshotId,
            added: r.dataAddedBytes,
            error: r.errorMessage,
          })),
          [
            { key: 'id', header: 'ID' },
            { key: 'job', header: 'JOB' },
            { key: 'status', header: 'STATUS' },
            { key: 'by', header: 'BY' },
            { key: 'start', header: 'START' },
            { key: 'seconds', header: 'SECONDS' },
            { key: 'snapshot', header: 'SNAPSHOT' },
            { key: 'added', header: 'BYTES ADDED' },
            { key: 'error', header: 'ERROR' },
          ],
        ),
      );
    });
}
