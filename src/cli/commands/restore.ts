/**
 * `rbackup2 restore [--device D] JOB SNAPSHOT|latest --path P... [--target DIR] [--overwrite]`
 * (issue 17): restore paths of one of the job's snapshots (tag backup:<uuid>, any host) on this
 * machine, recorded as a run with operation 'restore'. The default target is a new folder below
 * `<data_dir>/restores`. With `--device` an admin's config (no device.id) restores any device's
 * job: a laptop that died is restored on another computer. The work is in restore-here.ts, loaded
 * when the command runs. Exit 0 restored, 1 failed or cancelled.
 */
import type { Command } from 'commander';
import { collect, loadAdminConfig, type GlobalOptions } from '../context.js';

export interface RestoreCliOptions {
  path: string[];
  target?: string;
  overwrite?: boolean;
  device?: string;
  json?: boolean;
}

/** Register `restore` on `program`. */
export function registerRestoreCommand(program: Command): void {
  program
    .command('restore <job> <snapshot>')
    .description("restore paths of a job's snapshot (id or latest) into a folder (default below <data_dir>/restores)")
    .requiredOption('--path <path>', 'a file or folder of the snapshot (repeatable)', collect)
    .option('--target <dir>', "absolute folder to restore into (the job's source folders or the admin's restore_roots)")
    .option('--overwrite', 'replace files that exist in the target (without it the restore is refused)')
    .option('--device <device>', "the job's device (an admin config without device.id restores any device's job)")
    .option('--json', 'print the result as JSON')
    .action(async (jobRef: string, snapshot: string, o: RestoreCliOptions) => {
      const local = await loadAdminConfig(program.opts<GlobalOptions>());
      const { restoreHere } = await import('./restore-here.js');
      await restoreHere(local, jobRef, snapshot, {
        ...o,
        json: o.json === true || program.opts<{ json?: boolean }>().json === true,
      });
    });
}
