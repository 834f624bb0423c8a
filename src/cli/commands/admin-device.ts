/** `rbackup2 device add|list|remove`: manage `devices` rows without SQL. */
import type { Command } from 'commander';
import { AppError } from '../../errors.js';
import { formatTable } from '../output.js';
import { loadAdminConfig, withDatabase, type GlobalOptions } from '../context.js';
import { registerAccessCommands } from './access.js';

/** Register the `device` command group on `program`. */
export function registerDeviceCommands(program: Command): void {
  const device = program.command('device').description('manage devices (computers of the fleet)');
  const globals = (): GlobalOptions => program.opts<GlobalOptions>();
  registerAccessCommands(program, device); // `device login` and `ui-password` (issue 15)

  device
    .command('add <id>')
    .description('add a device (or rename an existing one)')
    .option('--name <name>', 'display name (defaults to the id)')
    .option('--description <text>', 'description')
    .action(async (id: string, o: { name?: string; description?: string }) => {
      const d = await withDatabase(await loadAdminConfig(globals()), (db, q) =>
        q.upsertDevice(db, { id, name: o.name, description: o.description }),
      );
      console.log(`device ${d.id} (${d.name}) saved`);
    });

  device
    .command('list')
    .description('list devices')
    .action(async () => {
      const rows = await withDatabase(await loadAdminConfig(globals()), (db, q) => q.listDevices(db));
      console.log(
        formatTable(rows, [
          { key: 'id', header: 'ID' },
          { key: 'name', header: 'NAME' },
          { key: 'platform', header: 'PLATFORM' },
          { key: 'hostname', header: 'HOSTNAME' },
          { key: 'lastSeen', header: 'LAST SEEN' },
          { key: 'enabled', header: 'ENABLED' },
        ]),
      );
    });

  device
    .command('remove <id>')
    .description('remove a device with its jobs and schedules (runs are kept)')
    .action(async (id: string) => {
      await withDatabase(await loadAdminConfig(globals()), async (db, q) => {
        if (!(await q.getDevice(db, id))) throw new AppError('NOT_FOUND', `device "${id}" not found`);
        await q.removeDevice(db, id);
      });
      console.log(`device ${id} removed`);
    });
}
