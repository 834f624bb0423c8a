/**
 * Channel management for the local UI (issue 19 point 1), on the embedded database only: there the
 * agent is its own notifier and its own admin, so it lists, adds and removes channels and sends a
 * test, with the same checks as `rbackup2 notify` and the dashboard (channel-admin.ts). On
 * PostgreSQL a device role has no right on notification_channels at all (migration 012), so every
 * call is refused with CONFLICT naming where channels are managed instead.
 */
import type { Database } from '../db/database.js';
import { AppError } from '../errors.js';
import { ChannelAdmin } from './channel-admin.js';

export type { ChannelInput, ChannelView } from './channel-admin.js';

/** The refusal on PostgreSQL (a 409 through src/api/http-errors.ts). */
export const FLEET_CHANNELS_MESSAGE =
  'notification channels are not managed from the local UI when the agent uses PostgreSQL (its device role cannot read them): channels are managed with rbackup2 notify or the dashboard in a fleet';

/** The local UI's channel operations over the agent's own database (CONFLICT on PostgreSQL). */
export class LocalChannels extends ChannelAdmin {
  constructor(o: { db: Database; device: () => { id: string; name: string } }) {
    super({
      db: o.db,
      sender: o.device,
      guard: () => {
        if (o.db.kind !== 'pglite') throw new AppError('CONFLICT', FLEET_CHANNELS_MESSAGE);
      },
    });
  }
}
