/**
 * `rbackup2 dashboard [--bind HOST:PORT]` (CONTRACTS §8, issue 19): the fleet dashboard, notifier
 * and watcher in the foreground until SIGTERM/SIGINT, or until `rbackup2 service stop-dashboard` asks
 * for a stop over the dashboard's stop channel (src/service/stop-channel.ts: the Windows service's
 * graceful stop). Uses the admin config (device.id optional).
 */
import type { Command } from 'commander';
import { loadAdminConfig, type GlobalOptions } from '../context.js';

/** Register `dashboard` on `program`. */
export function registerDashboardCommand(program: Command): void {
  program
    .command('dashboard')
    .description('serve the fleet dashboard (default 127.0.0.1:1202) and deliver notifications')
    .option('--bind <host:port>', 'address to listen on', '127.0.0.1:1202')
    .action(async (o: { bind: string }) => {
      const local = await loadAdminConfig(program.opts<GlobalOptions>());
      const { openLogFile } = await import('../log-file.js');
      const log = await openLogFile(local);
      const { startDashboard } = await import('../../dashboard/dashboard.js');
      const intervals = process.env.RB2_TEST_NOTIFY_INTERVALS
        ? (JSON.parse(process.env.RB2_TEST_NOTIFY_INTERVALS) as Record<string, number>)
        : undefined;
      let dash;
      try {
        dash = await startDashboard({ local, logger: log.logger, bind: o.bind, intervals });
      } catch (err) {
        log.logger.error({ err: (err as Error).message }, 'dashboard could not start');
        await log.close();
        throw err;
      }
      const started = dash;
      const { openServiceStopChannel } = await import('../service-stop-channel.js');
      let stopChannel: Promise<(() => Promise<void>) | null> = Promise.resolve(null);
      await new Promise<void>((resolve) => {
        let stopping = false;
        const onSignal = (reason: string) => {
          if (stopping) return;
          stopping = true;
          log.logger.info({ reason }, 'dashboard stopping');
          void started.stop().finally(resolve);
        };
        process.once('SIGTERM', () => onSignal('SIGTERM'));
        process.once('SIGINT', () => onSignal('SIGINT'));
        if (process.platform === 'win32') process.once('SIGBREAK', () => onSignal('SIGBREAK'));
        // The token is the dashboard's API token (startDashboard made it if the config has none).
        stopChannel = openServiceStopChannel(local, 'dashboard', () => onSignal('service stop'), log.logger);
      });
      await (
        await stopChannel
      )?.();
      await log.close();
    });
}
