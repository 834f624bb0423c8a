/**
 * `rbackup2 run` (also the default): the agent in the foreground until SIGTERM/SIGINT (CONTRACTS
 * §1). The first signal stops gracefully (running backups may finish up to
 * client.shutdown_timeout_seconds, then are cancelled); a second signal cancels them at once.
 */
import type { Command } from 'commander';
import type { LocalConfig } from '../../config/local-config.js';
import { loadConfig, type GlobalOptions } from '../context.js';
import { openServiceStopChannel } from '../service-stop-channel.js';

/** Register `run` on `program`. */
export function registerRunCommand(program: Command): void {
  program
    .command('run')
    .description('start the agent in the foreground (the default command)')
    .action(async () => {
      await runAgentForeground(await loadConfig(program.opts<GlobalOptions>()));
    });
}

/** Start the agent and keep it running until a signal stops it (see the module doc). */
export async function runAgentForeground(local: LocalConfig, opts: { loginCode?: string } = {}): Promise<void> {
  const { openLogFile } = await import('../log-file.js');
  const log = await openLogFile(local);
  const { logger } = log;
  let agent;
  try {
    // Loaded here, not at the top: one-shot commands (backup, job list) start faster without the
    // HTTP server, metrics and scheduler modules.
    const { startAgent } = await import('../../app.js');
    agent = await startAgent({ local, logger, ...(opts.loginCode ? { loginCode: opts.loginCode } : {}) });
  } catch (err) {
    logger.error({ err: (err as Error).message }, 'agent could not start');
    await log.close();
    throw err;
  }
  const started = agent;
  let stopChannel: Promise<(() => Promise<void>) | null> = Promise.resolve(null);
  await new Promise<void>((resolve) => {
    let signals = 0;
    const onSignal = (sig: NodeJS.Signals | 'service stop') => {
      signals++;
      if (signals === 1) {
        started.stop(sig).then(resolve, (err: unknown) => {
          logger.error({ err: String(err) }, 'error while stopping');
          resolve();
        });
      } else {
        logger.warn({ signal: sig }, 'second signal: cancelling running backups now');
        started.cancelRunning();
      }
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
    // Windows service stop arrives as SIGBREAK under some wrappers.
    if (process.platform === 'win32') process.on('SIGBREAK', onSignal);
    // The service's stop (`rbackup2 service stop-agent`, run by WinSW): src/service/stop-channel.ts.
    // Kept as a promise: a signal can come before the channel listens (a slow start), and the
    // channel must still be closed once it does, or its socket would keep the process alive.
    stopChannel = openServiceStopChannel(local, 'agent', () => onSignal('service stop'), logger);
  });
  await (
    await stopChannel
  )?.();
  await log.close();
}
