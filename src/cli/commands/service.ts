/**
 * `rbackup2 service install|uninstall [--dry-run]` (CONTRACTS §8) and `service stop-agent` (the
 * service's stop command: asks the running agent for a graceful stop; WinSW runs it). The work is
 * in src/service/.
 */
import type { Command } from 'commander';
import path from 'node:path';
import { loadConfig, type GlobalOptions } from '../context.js';

/** Register `service` on `program`. */
export function registerServiceCommand(program: Command): void {
  const service = program
    .command('service')
    .description('install or remove the agent as a system service (Windows: WinSW; Linux: systemd)');
  const common = async (dryRun: boolean) => {
    const local = await loadConfig(program.opts<GlobalOptions>());
    return {
      config: local.sourceFile,
      main: path.resolve(process.argv[1] ?? ''),
      node: process.execPath,
      platform: process.platform,
      dryRun,
      shutdownTimeoutSeconds: local.client.shutdown_timeout_seconds,
      print: (line: string) => console.log(line),
    };
  };
  service
    .command('install')
    .description('install and start the service with this config file')
    .option('--dry-run', 'write the service file, print the commands, run nothing')
    .action(async (o: { dryRun?: boolean }) => {
      (await import('../../service/install.js')).installService(await common(Boolean(o.dryRun)));
    });
  service
    .command('uninstall')
    .description('stop the service (a graceful stop of the agent) and remove it')
    .option('--dry-run', 'print the commands, run nothing')
    .action(async (o: { dryRun?: boolean }) => {
      (await import('../../service/install.js')).uninstallService(await common(Boolean(o.dryRun)));
    });
  service
    .command('stop-agent')
    .description("ask the running agent for a graceful stop (the service's stop command)")
    .action(async () => {
      const local = await loadConfig(program.opts<GlobalOptions>());
      const { readApiTokenForCli } = await import('../../api/auth/token-file.js');
      const { requestStop, stopChannelPath } = await import('../../service/stop-channel.js');
      const token = readApiTokenForCli(local.dataDir, local.client.api_token);
      const address = stopChannelPath(local.dataDir);
      if (token === null) {
        console.log(`no API token in ${local.dataDir}: the agent never started, nothing to stop`);
        return;
      }
      await requestStop(address, token);
      console.log('the agent is stopping');
    });
  service
    .command('stop-dashboard')
    .description("ask the running `rbackup2 dashboard` for a graceful stop (its Windows service's stop command)")
    .action(async () => {
      const { loadAdminConfig } = await import('../context.js');
      const local = await loadAdminConfig(program.opts<GlobalOptions>());
      const { readApiTokenForCli } = await import('../../api/auth/token-file.js');
      const { requestStop, stopChannelPath } = await import('../../service/stop-channel.js');
      const token = readApiTokenForCli(local.dataDir, local.client.api_token);
      if (token === null) {
        console.log(`no API token in ${local.dataDir}: the dashboard never started, nothing to stop`);
        return;
      }
      await requestStop(stopChannelPath(local.dataDir, process.platform, 'dashboard'), token, 10_000, 'dashboard');
      console.log('the dashboard is stopping');
    });
}
