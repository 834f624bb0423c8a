/**
 * `rbackup2 snapshots [--device D] JOB [--json]`: the job's snapshots in its repository (tag
 * `backup:<job uuid>`, every host), newest first. `--json` prints
 * `{"snapshots": [{"id", "short_id", "time", "hostname", "paths", "tags"}]}`. The work is in
 * restic-ops.ts, loaded only when the command runs.
 */
import type { Command } from 'commander';
import type { LocalConfig } from '../../config/local-config.js';
import { AppError } from '../../errors.js';
import type { SnapshotView } from '../../restic/snapshot.js';
import { agentRequest, directOrViaAgent } from '../agent-client.js';
import { loadAdminConfig, type GlobalOptions } from '../context.js';

/** The running agent's answer for a job's snapshots, cut to the CLI's six keys. */
async function snapshotsViaAgent(local: LocalConfig, jobRef: string): Promise<{ snapshots: SnapshotView[] }> {
  const view = await agentRequest<{ jobs: { id: unknown; name: unknown }[] }>(local, '/config');
  const job = view.jobs.find((j) => j.id === jobRef || j.name === jobRef);
  if (!job) throw new AppError('NOT_FOUND', `job "${jobRef}" not found on device ${local.device.id}`);
  const r = await agentRequest<{ snapshots: SnapshotView[] }>(local, `/jobs/${String(job.id)}/snapshots`);
  return {
    snapshots: r.snapshots.map(({ id, short_id, time, hostname, paths, tags }) => ({
      id,
      short_id,
      time,
      hostname,
      paths,
      tags,
    })),
  };
}

/** Register `snapshots` on `program`. */
export function registerSnapshotsCommand(program: Command): void {
  program
    .command('snapshots <job>')
    .description("list a job's snapshots (every host, newest first)")
    .option('--json', 'print {"snapshots": [...]} as JSON')
    .option('--device <device>', "the job's device (an admin config without device.id lists any device's job)")
    .action(async (jobRef: string, o: { json?: boolean; device?: string }) => {
      const loaded = await loadAdminConfig(program.opts<GlobalOptions>());
      const local = o.device ? { ...loaded, device: { ...loaded.device, id: o.device } } : loaded;
      const ops = await import('./restic-ops.js');
      // On the embedded database a running agent holds it: ask the agent (GET /jobs/{id}/snapshots).
      const r = await directOrViaAgent(
        loaded,
        () => ops.jobSnapshots(local, jobRef),
        () => snapshotsViaAgent(loaded as LocalConfig, jobRef),
      );
      // The program has a global --json too (for --test-backup): commander gives it the flag.
      const json = o.json === true || program.opts<{ json?: boolean }>().json === true;
      console.log(json ? JSON.stringify({ snapshots: r.snapshots }) : ops.snapshotsTable(r.snapshots));
    });
}
