/**
 * Channel management, one code path for every place channels are managed (issue 19 point 1):
 * `rbackup2 notify add|list|test|remove` (src/cli/commands/notify.ts), the local UI on the
 * embedded database (local-channels.ts) and the fleet dashboard (src/dashboard/server.ts). The
 * checks (kind, config per kind, events, a taken name, an unknown device) live here only, so a
 * channel the CLI refuses is refused everywhere with the same message.
 *
 * No answer ever holds a channel secret: configs pass through redactConfig (channel-config.ts).
 */
import type { Queryable } from '../db/database.js';
import { getDevice } from '../db/queries/devices.js';
import {
  findChannel,
  insertChannel,
  listChannels,
  removeChannel,
  type ChannelRow,
} from '../db/queries/notifications.js';
import { AppError } from '../errors.js';
import { CHANNEL_KINDS, checkEvents, parseChannelConfig, redactConfig, type ChannelKind } from './channel-config.js';
import { isChannelKind } from './channel-kinds.js';
import { NOTIFICATION_EVENTS } from './events.js';
import { sendTest } from './test-send.js';

/** A channel as answers show it: config with secrets redacted. */
export interface ChannelView {
  id: number;
  name: string;
  kind: string;
  /** null = every device. */
  deviceId: string | null;
  events: string[];
  enabled: boolean;
  /** redactConfig: secret-named keys "(set)", URLs without user info and query. */
  config: Record<string, unknown>;
}

/** A channel to add: name, kind, kind-specific config (channel-config.ts), events (default per kind). */
export interface ChannelInput {
  name: string;
  kind: string;
  config: Record<string, unknown>;
  events?: string[];
  enabled?: boolean;
  /** Only this device (must exist); absent or null = every device. */
  deviceId?: string | null;
}

/** A channel input whose kind, config and events passed the checks (prepareChannel). */
export interface PreparedChannel {
  name: string;
  kind: ChannelKind;
  config: Record<string, unknown>;
  events: string[];
  enabled: boolean;
  deviceId: string | null;
}

/** Default events of a new channel per kind: every contract event; healthchecks the pings it needs. */
export const DEFAULT_CHANNEL_EVENTS: Record<ChannelKind, readonly string[]> = {
  webhook: NOTIFICATION_EVENTS,
  ntfy: NOTIFICATION_EVENTS,
  email: NOTIFICATION_EVENTS,
  healthchecks: ['run.started', 'run.succeeded', 'run.failed', 'run.recovered'],
};

/** The answer shape of a channel row (secrets redacted). */
export function channelView(c: ChannelRow): ChannelView {
  return {
    id: c.id,
    name: c.name,
    kind: c.kind,
    deviceId: c.deviceId,
    events: c.events,
    enabled: c.enabled,
    config: redactConfig(c.kind, c.config),
  };
}

/**
 * Checks what needs no database: the kind, the config of that kind, the events (default per kind).
 * Throws AppError INVALID_INPUT naming the channel and the bad field (`kind`, `config.x`, the event).
 */
export function prepareChannel(input: ChannelInput): PreparedChannel {
  const name = input.name;
  if (!isChannelKind(input.kind))
    throw new AppError(
      'INVALID_INPUT',
      `channel ${name}: kind "${input.kind}" is not one of ${CHANNEL_KINDS.join(', ')}`,
      { fields: [{ field: 'kind', message: `must be one of ${CHANNEL_KINDS.join(', ')}` }] },
    );
  const kind = input.kind as ChannelKind;
  const config = parseChannelConfig(kind, input.config, name) as Record<string, unknown>;
  const events = input.events ?? [...DEFAULT_CHANNEL_EVENTS[kind]];
  checkEvents(events, name);
  return { name, kind, config, events, enabled: input.enabled ?? true, deviceId: input.deviceId ?? null };
}

/**
 * Adds a channel: prepareChannel's checks, then CONFLICT when the name is taken and NOT_FOUND when
 * `deviceId` names no device. Returns the stored row (raw config: callers answer channelView of it).
 */
export async function addChannel(db: Queryable, input: ChannelInput | PreparedChannel): Promise<ChannelRow> {
  const c = prepareChannel(input);
  if (await findChannel(db, c.name)) throw new AppError('CONFLICT', `a channel named ${c.name} exists`);
  if (c.deviceId !== null && !(await getDevice(db, c.deviceId)))
    throw new AppError('NOT_FOUND', `channel ${c.name}: no device ${c.deviceId}`);
  return insertChannel(db, c);
}

/** Removes the channel `nameOrId` (its undelivered notifications go with it); NOT_FOUND when none. */
export async function removeChannelNamed(db: Queryable, nameOrId: string): Promise<void> {
  const c = await findChannel(db, nameOrId);
  if (!c || !(await removeChannel(db, c.id))) throw new AppError('NOT_FOUND', `channel ${nameOrId} does not exist`);
}

/**
 * The four channel operations over one connection that may read channels (the admin's, or the
 * embedded database's), as the HTTP routes of src/api/routes-notifications.ts use them. `guard`
 * runs before each (the local UI refuses on PostgreSQL there).
 */
export class ChannelAdmin {
  constructor(
    private readonly o: {
      db: Queryable;
      /** Who sends a test: the device (local UI) or the dashboard. */
      sender: () => { id: string; name: string };
      guard?: () => void;
    },
  ) {}

  async list(): Promise<ChannelView[]> {
    this.o.guard?.();
    return (await listChannels(this.o.db)).map(channelView);
  }

  /** Throws INVALID_INPUT naming the bad field, CONFLICT for a taken name, NOT_FOUND for an unknown device. */
  async add(input: ChannelInput): Promise<ChannelView> {
    this.o.guard?.();
    return channelView(await addChannel(this.o.db, input));
  }

  /** Throws NOT_FOUND for an unknown channel (name or id). */
  async remove(nameOrId: string): Promise<void> {
    this.o.guard?.();
    await removeChannelNamed(this.o.db, nameOrId);
  }

  /** One test notification straight to the channel (not through the outbox); the error has no secret. */
  async test(nameOrId: string): Promise<{ ok: true; id: string } | { ok: false; error: string }> {
    this.o.guard?.();
    const c = await findChannel(this.o.db, nameOrId);
    if (!c) throw new AppError('NOT_FOUND', `channel ${nameOrId} does not exist`);
    return sendTest(c, this.o.sender());
  }
}
