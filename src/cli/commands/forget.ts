/**
 * `rbackup2 forget JOB [--dry-run] [--json]` (CONTRACTS §8): apply the job's retention policy to
 * its snapshots now, or show what it would remove. The work is in forget-here.ts.
 */
import type { Command } from 'commander';
import { loadConfig, type GlobalOptions } from '../context.js';

/** Register `forget` on `program`. */
export function registerForgetCommand(program: Command): void {
  program
    .command('forget <job>')
    .description("apply a job's retention policy now (its snapshots only, every host); --dry-run shows the plan")
    .option('--dry-run', 'show what would be kept and removed; remove nothing, take no lock')
    .option('--json', 'print the result as JSON')
    .action(async (jobRef: string, o: { dryRun?: boolean; json?: boolean }) => {
      const local = await loadConfig(program.opts<GlobalOptions>());
      const json = o.json === true || program.opts<{ json?: boolean }>().json === true;
      await (await import('./forget-here.js')).forgetHere(local, jobRef, o.dryRun === true, json);
    });
}
