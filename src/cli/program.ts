/**
 * The command tree of CONTRACTS §1, built with commander. Each command's work is in its own
 * module under src/cli/commands/; this file only names commands and options.
 */
import { Command } from 'commander';
import { AGENT_VERSION } from '../version.js';
import { registerDeviceCommands } from './commands/admin-device.js';
import { registerRepoCommands } from './commands/admin-repo.js';
import { registerJobCommands } from './commands/admin-job.js';
import { registerScheduleCommands } from './commands/admin-schedule.js';
import { registerSettingCommands } from './commands/admin-setting.js';
import { registerNotifyCommands } from './commands/notify.js';
import { registerDashboardCommand } from './commands/dashboard.js';
import { registerRunsCommand } from './commands/runs.js';
import { registerRunCommand } from './commands/run.js';
import { registerMigrateCommand } from './commands/migrate.js';
import { registerBackupCommand, runTestBackupOption } from './commands/backup.js';
import { registerImportRelicaCommand } from './commands/import-relica.js';
import { registerDemoCommand } from './commands/demo.js';
import { registerSnapshotsCommand } from './commands/snapshots.js';
import { registerServiceCommand } from './commands/service.js';
import { registerRestoreCommand } from './commands/restore.js';
import { registerRecoveryKitCommand } from './commands/recovery-kit.js';
import { registerForgetCommand } from './commands/forget.js';

/** Build the program; `parseAsync(argv)` runs the chosen command. */
export function buildProgram(): Command {
  const program = new Command('rbackup2')
    .description('restic backup agent: schedules from PostgreSQL (or embedded PGlite), run records, local UI')
    .version(AGENT_VERSION, '-V, --version')
    .option('-c, --config <file>', 'config file (default ./config.yaml, then ./config.example.yaml)')
    .option('--test-backup <job>', 'run one backup of JOB now and exit (same as `backup JOB`)')
    .option('--json', 'with --test-backup: print the result as JSON')
    .exitOverride()
    // `rbackup2 help [command]` like --help (commander adds it only when asked, the program
    // having its own default action).
    .helpCommand(true)
    .showHelpAfterError('(run rbackup2 --help for the commands)');

  registerRunCommand(program);
  registerMigrateCommand(program);
  registerBackupCommand(program);
  registerImportRelicaCommand(program);
  registerDemoCommand(program);
  registerServiceCommand(program);
  registerDeviceCommands(program);
  registerRepoCommands(program);
  registerJobCommands(program);
  registerScheduleCommands(program);
  registerSettingCommands(program);
  registerNotifyCommands(program);
  registerDashboardCommand(program);
  registerRunsCommand(program);
  registerSnapshotsCommand(program);
  registerRestoreCommand(program);
  registerRecoveryKitCommand(program);
  registerForgetCommand(program);

  // No command: `--test-backup JOB`, or start the agent (CONTRACTS §1: "(none) or run").
  program.action(async () => {
    const opts = program.opts<{ testBackup?: string }>();
    if (opts.testBackup) await runTestBackupOption(program);
    else await program.commands.find((c) => c.name() === 'run')!.parseAsync([], { from: 'user' });
  });
  return program;
}
