/**
 * `rbackup2 demo [--source PATH] [--interval SECONDS]`: the quick start (README). The work is in
 * demo-run.ts, loaded only when the command runs.
 */
import type { Command } from 'commander';
import { loadConfig, positiveInt, type GlobalOptions } from '../context.js';

/** Register `demo` on `program`. */
export function registerDemoCommand(program: Command): void {
  program
    .command('demo')
    .description('quick start: a local repository and a demo job, then run the agent')
    .option('--source <path>', "folder to back up (default: this project's doc/ folder)")
    .option('--interval <seconds>', 'how often (default 300)', positiveInt('--interval'), 300)
    .action(async (o: { source?: string; interval: number }) => {
      const local = await loadConfig(program.opts<GlobalOptions>());
      await (await import('./demo-run.js')).runDemo(local, o);
    });
}
