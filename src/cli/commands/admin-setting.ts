/**
 * `rbackup2 setting list|set|remove`: settings without SQL (CONTRACTS §3 `settings`: a global value
 * per key, and a device value that overrides it). Secret values (keys naming a password, secret or
 * token) are read from standard input, never from the command line, and never printed.
 */
import type { Command } from 'commander';
import type { AdminLocalConfig } from '../../config/local-config.js';
import { AppError } from '../../errors.js';
import { formatTable } from '../output.js';
import { deviceFor, loadAdminConfig, withDatabase, type GlobalOptions } from '../context.js';
import { readSecretFromStdin } from '../read-secret.js';

const SECRET_KEY = /password|secret|token/i;

interface ScopeOptions {
  global?: boolean;
  device?: string;
}

/** Register the `setting` command group on `program`. */
export function registerSettingCommands(program: Command): void {
  const setting = program
    .command('setting')
    .description('show and change settings (e.g. repository_url, max_concurrent_backups)');
  const globals = (): GlobalOptions => program.opts<GlobalOptions>();
  const scope = (o: ScopeOptions, local: AdminLocalConfig, command: string): string | null =>
    o.global ? null : deviceFor(local, o.device, command);

  setting
    .command('list')
    .description('the effective settings of this device (device values override global ones)')
    .option('--device <id>', 'device (default: device.id of the config)')
    .action(async (o: ScopeOptions) => {
      const local = await loadAdminConfig(globals());
      const deviceId = deviceFor(local, o.device, 'setting list');
      const { storedSettingProblems } = await import('../../config/settings-registry.js');
      let problems: string[] = [];
      const rows = await withDatabase(local, async (db, q) => {
        const effective = await q.getEffectiveSettings(db, deviceId);
        const stored = await q.listSettings(db, deviceId);
        problems = storedSettingProblems(stored);
        const own = new Set(stored.filter((r) => r.deviceId === deviceId).map((r) => r.key));
        return Object.entries(effective)
          .sort(([a], [b]) => a.localeCompare(b))
          .map(([key, value]) => ({
            key,
            value: SECRET_KEY.test(key) && value ? '(set)' : value,
            scope: own.has(key) ? `device ${deviceId}` : 'global',
          }));
      });
      console.log(
        formatTable(rows, [
          { key: 'key', header: 'KEY' },
          { key: 'value', header: 'VALUE' },
          { key: 'scope', header: 'FROM' },
        ]),
      );
      // Values stored past the checks (SQL): named, with what the agent uses instead.
      for (const p of problems) console.error(`warning: ${p}`);
    });

  setting
    .command('set <key> [value]')
    .description('set a value for this device (or --global); secrets only with --stdin')
    .option('--global', 'set the global value (all devices without their own)')
    .option('--device <id>', 'device (default: device.id of the config)')
    .option('--stdin', 'read the value from standard input (required for passwords, secrets, tokens)')
    .action(async (key: string, value: string | undefined, o: ScopeOptions & { stdin?: boolean }) => {
      if (!/^[a-z][a-z0-9_]{0,63}$/.test(key))
        throw new AppError('INVALID_INPUT', `setting name "${key}" must be lower_snake_case`);
      if (SECRET_KEY.test(key) && value !== undefined) {
        throw new AppError(
          'INVALID_INPUT',
          `${key} is a secret: give it on standard input with --stdin, not on the command line`,
        );
      }
      // The registry (and the cron parser it checks schedules with) loads only when a setting is set.
      const { settingProblem, SETTINGS } = await import('../../config/settings-registry.js');
      const { repositorySettingProblem } = await import('../../config/input-check.js');
      // A typo'd key is refused before anything is read or stored (settings-registry.ts).
      if (!SETTINGS.has(key)) throw new AppError('INVALID_INPUT', settingProblem(key, '') as string);
      if ((value === undefined) === !o.stdin)
        throw new AppError('INVALID_INPUT', `setting set ${key}: give a value or --stdin (one of them)`);
      const v = o.stdin ? await readSecretFromStdin(key) : (value as string);
      const problem = settingProblem(key, v) ?? repositorySettingProblem(key, v);
      if (problem) throw new AppError('INVALID_INPUT', problem);
      const local = await loadAdminConfig(globals());
      const deviceId = scope(o, local, 'setting set');
      await withDatabase(local, async (db, q) => {
        if (deviceId !== null && deviceId === local.device.id)
          await q.upsertDevice(db, { id: deviceId, name: local.device.name });
        await q.setSetting(db, { deviceId, key, value: v });
      });
      console.log(`${key} set ${deviceId ? `for device ${deviceId}` : 'globally'}`);
    });

  setting
    .command('remove <key>')
    .description("remove this device's value (the global one applies again), or the global one with --global")
    .option('--global', 'remove the global value')
    .option('--device <id>', 'device (default: device.id of the config)')
    .action(async (key: string, o: ScopeOptions) => {
      const local = await loadAdminConfig(globals());
      const deviceId = scope(o, local, 'setting remove');
      const removed = await withDatabase(local, (db, q) => q.removeSetting(db, deviceId, key));
      if (!removed)
        throw new AppError(
          'NOT_FOUND',
          `setting ${key} has no ${deviceId ? `value for device ${deviceId}` : 'global value'}`,
        );
      console.log(`${key} removed ${deviceId ? `for device ${deviceId}` : 'globally'}`);
    });
}
