/**
 * `rbackup2 notify add|list|test|remove` (issue 19 point 1, admin): notification channels without
 * SQL. A channel's config is JSON read from standard input with --stdin (secrets never on the
 * command line), or just `--url` for a webhook/ntfy topic without secrets. `list` redacts secrets.
 */
import type { Command } from 'commander';
import { AppError } from '../../errors.js';
import { CHANNEL_KINDS, isChannelKind } from '../../notify/channel-kinds.js';
import { NOTIFICATION_EVENTS } from '../../notify/events.js';
import { formatTable } from '../output.js';
import { loadAdminConfig, withDatabase, type GlobalOptions } from '../context.js';
import { readSecretFromStdin } from '../read-secret.js';

interface AddOptions {
  device?: string;
  events?: string;
  url?: string;
  stdin?: boolean;
  disabled?: boolean;
}

function parseJsonObject(text: string, name: string): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (err) {
    throw new AppError('INVALID_INPUT', `notify add ${name}: standard input is not JSON (${(err as Error).message})`);
  }
  if (!v || typeof v !== 'object' || Array.isArray(v))
    throw new AppError(
      'INVALID_INPUT',
      `notify add ${name}: standard input must be a JSON object (the channel config)`,
    );
  return v as Record<string, unknown>;
}

/** Register the `notify` command group on `program`. */
export function registerNotifyCommands(program: Command): void {
  const notify = program.command('notify').description('notification channels: webhook, ntfy, email, healthchecks');
  const globals = (): GlobalOptions => program.opts<GlobalOptions>();

  notify
    .command('add <name> <kind>')
    .description(`add a channel (kind: ${CHANNEL_KINDS.join(', ')}); config JSON on standard input with --stdin`)
    .option('--device <id>', 'only this device (default: every device)')
    .option('--events <list>', `comma-separated events (default: all of ${NOTIFICATION_EVENTS.join(', ')})`)
    .option('--url <url>', 'config.url (webhook, ntfy) when nothing secret is needed')
    .option('--stdin', 'read the config as JSON from standard input (secrets, email, healthchecks)')
    .option('--disabled', 'add it switched off')
    .action(async (name: string, kind: string, o: AddOptions) => {
      if (!isChannelKind(kind))
        throw new AppError(
          'INVALID_INPUT',
          `notify add ${name}: kind "${kind}" is not one of ${CHANNEL_KINDS.join(', ')}`,
        );
      const raw: Record<string, unknown> = o.stdin
        ? parseJsonObject(await readSecretFromStdin(`${name} config`), name)
        : {};
      if (o.url) raw.url = o.url;
      const events = o.events
        ?.split(',')
        .map((e) => e.trim())
        .filter(Boolean);
      // The checks are the dashboard's and the local UI's (channel-admin.ts); they load zod and the
      // senders (nodemailer) when a notify command runs, not at every start.
      const { addChannel, prepareChannel } = await import('../../notify/channel-admin.js');
      // kind, config and events checked before the database is opened: a typo fails at once
      const channel = prepareChannel({ name, kind, config: raw, events, enabled: !o.disabled, deviceId: o.device });
      const local = await loadAdminConfig(globals());
      const row = await withDatabase(local, (db) => addChannel(db, channel));
      console.log(
        `channel ${row.name} (${row.kind}, id ${row.id}) added for ${row.deviceId ?? 'every device'}: ${row.events.join(', ')}`,
      );
    });

  notify
    .command('list')
    .description('the channels, secrets redacted')
    .option('--json', 'JSON instead of a table')
    .action(async (o: { json?: boolean }) => {
      const local = await loadAdminConfig(globals());
      const { channelView } = await import('../../notify/channel-admin.js');
      const rows = (await withDatabase(local, (db, q) => q.listChannels(db))).map(channelView);
      // `--json` after the subcommand, or before it (the program's own --json option takes it there)
      if (o.json || (program.opts() as { json?: boolean }).json) {
        console.log(JSON.stringify({ channels: rows }, null, 2));
        return;
      }
      console.log(
        formatTable(
          rows.map((c) => ({
            id: String(c.id),
            name: c.name,
            kind: c.kind,
            device: c.deviceId ?? '(all)',
            events: c.events.join(','),
            enabled: c.enabled ? 'yes' : 'no',
            config: JSON.stringify(c.config),
          })),
          [
            { key: 'id', header: 'ID' },
            { key: 'name', header: 'NAME' },
            { key: 'kind', header: 'KIND' },
            { key: 'device', header: 'DEVICE' },
            { key: 'events', header: 'EVENTS' },
            { key: 'enabled', header: 'ON' },
            { key: 'config', header: 'CONFIG' },
          ],
        ),
      );
    });

  notify
    .command('test <name>')
    .description('send a test notification through a channel now (not through the outbox)')
    .action(async (name: string) => {
      const local = await loadAdminConfig(globals());
      const channel = await withDatabase(local, (db, q) => q.findChannel(db, name));
      if (!channel) throw new AppError('NOT_FOUND', `notify test: no channel ${name}`);
      const device = { id: local.device.id ?? 'admin', name: local.device.name ?? local.device.id ?? 'admin' };
      const { sendTest } = await import('../../notify/test-send.js');
      const r = await sendTest(channel, device);
      if (!r.ok) throw new AppError('NOTIFY_FAILED', `notify test ${name}: ${r.error}`);
      console.log(`test notification ${r.id} delivered to ${name}`);
    });

  notify
    .command('remove <name>')
    .description('remove a channel (its undelivered notifications are dropped for it)')
    .action(async (name: string) => {
      const local = await loadAdminConfig(globals());
      const { removeChannelNamed } = await import('../../notify/channel-admin.js');
      await withDatabase(local, (db) => removeChannelNamed(db, name));
      console.log(`channel ${name} removed`);
    });
}
