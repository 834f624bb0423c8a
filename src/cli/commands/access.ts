/**
 * Access control commands (issue 15, CONTRACTS §8):
 * - `rbackup2 ui-password [--global | --device ID]`: reads the web UI password from the terminal
 *   (asked twice, echo off) or from standard input, stores its scrypt hash in the setting
 *   `ui_password_hash` (this device's by default; --global for the whole fleet).
 * - `rbackup2 device login DEVICE_ID`: creates or resets the device's PostgreSQL login role
 *   (src/db/device-roles.ts) and prints its connection URL once, on stdout.
 */
import type { Command } from 'commander';
import type { AdminLocalConfig } from '../../config/local-config.js';
import { AppError, isAppError } from '../../errors.js';
import { deviceFor, loadAdminConfig, withDatabase, type GlobalOptions } from '../context.js';
import { promptSecret, readSecretFromStdin } from '../read-secret.js';

async function readNewPassword(): Promise<string> {
  if (!process.stdin.isTTY) return readSecretFromStdin('the UI password');
  const first = await promptSecret('New web UI password');
  const second = await promptSecret('Repeat it');
  if (first !== second) throw new AppError('INVALID_INPUT', 'the two passwords differ; nothing was changed');
  return first;
}

/** The connection URL of `role` on the server and database of `local` (same host, port, sslmode). */
export async function deviceConnectionUrl(
  local: Pick<AdminLocalConfig, 'database'>,
  role: string,
  password: string,
): Promise<string> {
  const { resolveConnectFields } = await import('../../db/pg-options.js');
  const s = local.database;
  if (!s)
    throw new AppError(
      'INVALID_INPUT',
      'device login: the config names no PostgreSQL server (database.url or database.host)',
    );
  const f = resolveConnectFields({
    ...(s.url ? { connectionString: s.url } : {}),
    ...(s.host ? { host: s.host } : {}),
    ...(s.port ? { port: s.port } : {}),
    ...(s.dbname ? { database: s.dbname } : {}),
    ...(s.ssl_mode ? { sslMode: s.ssl_mode } : {}),
  });
  const host = f.host.includes(':') ? `[${f.host}]` : f.host;
  return `postgres://${encodeURIComponent(role)}:${encodeURIComponent(password)}@${host}:${f.port}/${encodeURIComponent(f.database)}?sslmode=${f.sslMode}`;
}

/** Register `ui-password` on `program` and `login` on the `device` command group. */
export function registerAccessCommands(program: Command, device: Command): void {
  const globals = (): GlobalOptions => program.opts<GlobalOptions>();

  program
    .command('ui-password')
    .description('set the web UI password (read from the terminal or standard input; stored as a scrypt hash)')
    .option('--global', 'for every device of the fleet (devices with their own keep theirs)')
    .option('--device <id>', 'for this device (default: device.id of the config)')
    .action(async (o: { global?: boolean; device?: string }) => {
      const local = await loadAdminConfig(globals());
      const deviceId = o.global ? null : deviceFor(local, o.device, 'ui-password');
      const { hashPassword } = await import('../../api/auth/password-hash.js');
      const { UI_PASSWORD_KEY } = await import('../../api/auth/ui-password-setting.js');
      const hash = await hashPassword(await readNewPassword());
      try {
        await withDatabase(local, async (db, q) => {
          if (deviceId !== null && deviceId === local.device.id)
            await q.upsertDevice(db, { id: deviceId, name: local.device.name ?? deviceId });
          await q.setSetting(db, { deviceId, key: UI_PASSWORD_KEY, value: hash });
        });
      } catch (err) {
        if (isAppError(err, 'DB_LOCKED'))
          throw new AppError(
            'DB_LOCKED',
            'the embedded database is in use by the running agent: stop the agent, run rbackup2 ui-password, start it again',
          );
        throw err;
      }
      console.log(
        `web UI password set ${deviceId ? `for device ${deviceId}` : 'globally'}; sign in at http://${local.client.http_bind}/`,
      );
    });

  device
    .command('login <id>')
    .description('create or reset the PostgreSQL login role of a device; prints its database URL once')
    .action(async (id: string) => {
      const local = await loadAdminConfig(globals());
      const { createOrResetDeviceRole } = await import('../../db/device-roles.js');
      const login = await withDatabase(local, (db) => createOrResetDeviceRole(db, id));
      process.stderr.write(
        `role ${login.role} may read and write only device ${id}'s rows; put this URL in that device's database.url (shown once):\n`,
      );
      console.log(await deviceConnectionUrl(local, login.role, login.password));
    });
}
