/**
 * Notification channel routes (issue 19 point 1), behind the login like every route: list
 * (secrets redacted), add, remove, send a test. Served by the local UI's API (src/api/server.ts)
 * and, the same routes over the admin's connection, by the fleet dashboard (src/dashboard/server.ts).
 * The agent serves them on the embedded database; on PostgreSQL its every route answers 409
 * CONFLICT "channels are managed with rbackup2 notify or the dashboard in a fleet" (a device role
 * cannot read channels; src/notify/local-channels.ts).
 */
import * as z from 'zod';
import type { AgentPort } from './agent-port.js';
import { defineRoute, type RouteDef } from './route-table.js';

/** The channel operations the routes call (src/notify/channel-admin.ts ChannelAdmin, or LocalChannels). */
export type ChannelOperations = AgentPort['channels'];

const channelParams = z.strictObject({ id: z.string().min(1).max(100) });
const CONFLICT_DOC = {
  description: 'a local agent on PostgreSQL: channels are managed with rbackup2 notify or the dashboard',
};

/** The channel body of POST /notifications/channels (config checked per kind by channel-config.ts). */
export const channelInputSchema = z.strictObject({
  name: z
    .string()
    .trim()
    .min(1)
    .max(100)
    .regex(/^[^\s/][^/]*$/, 'no slash, not starting with a space'),
  kind: z.string().min(1).max(32),
  config: z.record(z.string(), z.unknown()),
  events: z.array(z.string().max(64)).max(32).optional(),
  enabled: z.boolean().optional(),
  /** Only this device (it must exist); absent = every device. */
  deviceId: z.string().trim().min(1).max(255).optional(),
});

/** The four channel routes over `channels` (the checks are channel-admin.ts's, as for `rbackup2 notify`). */
export function notificationRoutes(channels: ChannelOperations): RouteDef[] {
  return [
    defineRoute({
      method: 'GET',
      url: '/notifications/channels',
      summary: 'Notification channels, secrets redacted (a local agent: embedded database only)',
      responses: { 200: { description: '{channels: ChannelView[]}' }, 409: CONFLICT_DOC },
      handler: async () => ({ channels: await channels.list() }),
    }),
    defineRoute({
      method: 'POST',
      url: '/notifications/channels',
      summary: 'Add a notification channel (webhook, ntfy, email, healthchecks; a local agent: embedded database only)',
      body: channelInputSchema,
      rateLimited: true,
      responses: {
        201: { description: '{channel: ChannelView} (secrets redacted)' },
        400: { description: '{error:{code:INVALID_INPUT}} naming the bad field' },
        404: { description: 'deviceId names no device' },
        409: { description: 'a channel of that name exists, or a local agent uses PostgreSQL' },
      },
      handler: async ({ body, reply }) => {
        const channel = await channels.add(body);
        reply.code(201);
        return { channel };
      },
    }),
    defineRoute({
      method: 'POST',
      url: '/notifications/channels/:id/remove',
      summary: 'Remove a notification channel (name or id); its undelivered notifications are dropped for it',
      params: channelParams,
      body: z.union([z.strictObject({}), z.undefined()]),
      rateLimited: true,
      responses: {
        200: { description: '{removed: true}' },
        404: { description: 'unknown channel' },
        409: CONFLICT_DOC,
      },
      handler: async ({ params }) => {
        await channels.remove(params.id);
        return { removed: true };
      },
    }),
    defineRoute({
      method: 'POST',
      url: '/notifications/channels/:id/test',
      summary: 'Send a test notification through a channel now (not through the outbox)',
      params: channelParams,
      body: z.union([z.strictObject({}), z.undefined()]),
      rateLimited: true,
      responses: {
        200: { description: '{ok: true, id} delivered, or {ok: false, error} (the reason; no secret)' },
        404: { description: 'unknown channel' },
        409: CONFLICT_DOC,
      },
      handler: async ({ params }) => channels.test(params.id),
    }),
  ];
}
